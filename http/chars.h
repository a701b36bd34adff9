// http/chars.h: character classes and small lexical readers shared by the
// three HTTP/1.1 parsers (parser.cc, response_parser.cc, chunked.cc).
//
// Internal to http/: not part of ringshard's interface, include it only
// from http/*.cc. Everything here is a constexpr table or an inline
// function over bytes the caller owns: no allocation, no state, any thread.
// Functions taking [p, end) read only inside it; reasons they return are
// static strings, empty on success.
//
//   while (chars::is_tchar(*p)) ++p;               // a token
//   p = chars::skip_value(p, end);                  // a field value
//   chars::TransferCoding te;
//   std::string_view bad =
//       chars::parse_transfer_encoding(value, value_end, te);  // "" if ok
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http/request.h"  // iequals

namespace ringshard::http::chars {

inline constexpr uint8_t kTchar = 1;    // token character (RFC 9110 5.6.2)
inline constexpr uint8_t kTarget = 2;   // request-target character: %x21-7E
inline constexpr uint8_t kValue = 4;    // field value, reason phrase, quoted
                                        // text: VCHAR obs-text SP HTAB
inline constexpr uint8_t kRegName = 8;  // unreserved / sub-delims (RFC 3986)
inline constexpr uint8_t kHex = 16;     // HEXDIG

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool digit = c >= '0' && c <= '9';
    const bool alnum = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool tsym = false;
    for (char s : std::string_view("!#$%&'*+-.^_`|~")) tsym |= (c == s);
    bool uri_sym = false;  // unreserved and sub-delims that are not alnum
    for (char s : std::string_view("-._~!$&'()*+,;=")) uri_sym |= (c == s);
    if (alnum || tsym) v |= kTchar;
    if (c >= 0x21 && c <= 0x7e) v |= kTarget;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kValue;
    if (alnum || uri_sym) v |= kRegName;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    t[c] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kClass = make_classes();

inline uint8_t cls(char c) { return kClass[static_cast<unsigned char>(c)]; }
inline bool is_tchar(char c) { return cls(c) & kTchar; }
inline bool is_value(char c) { return cls(c) & kValue; }
inline bool is_hex(char c) { return cls(c) & kHex; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ASCII lower case, other bytes as they are (header names, hosts,
// schemes, config words): one character, or a copy of a string.
// A token (RFC 9110 5.6.2): one or more tchars.
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

inline char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

// The value of a hex digit, or -1.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// First byte in [p, end) that is not a field-value character, or end.
inline const char* skip_value(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i ctl = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i low = _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl);  // v <= 0x1f
    __m128i bad = _mm_or_si128(low, _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(static_cast<unsigned>(mask));
    if (*p != '\t') return p;
    ++p;  // HTAB is allowed; the vector test flags it with the controls
  }
#endif
  while (p < end && is_value(*p)) ++p;
  return p;
}

// Field names are tokens, so OR-ing 0x20 folds letters and changes no other
// token character into a lowercase letter or '-'. `lower` has n bytes.
inline bool name_is(const char* name, const char* lower, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// p points at '"'. Returns the byte after the closing quote, or nullptr.
inline const char* skip_quoted(const char* p, const char* end) {
  ++p;
  while (p < end) {
    if (*p == '"') return p + 1;
    if (*p == '\\') {
      if (p + 1 >= end || !is_value(p[1])) return nullptr;
      p += 2;
      continue;
    }
    if (!is_value(*p)) return nullptr;
    ++p;
  }
  return nullptr;
}

// Content-Length = 1*DIGIT, fitting in 64 bits. `v` has no OWS around it.
inline std::string_view parse_content_length(std::string_view v,
                                             uint64_t& length) {
  if (v.empty()) return "empty Content-Length";
  uint64_t len = 0;
  for (char c : v) {
    if (!is_digit(c)) return "invalid Content-Length";
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (len > (UINT64_MAX - digit) / 10) return "Content-Length overflow";
    len = len * 10 + digit;
  }
  length = len;
  return {};
}

// What the Transfer-Encoding fields of one message said so far.
struct TransferCoding {
  bool chunked = false;  // chunked seen (always the last coding so far)
  bool other = false;    // a coding other than chunked seen
};

// Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";"
// OWS token "=" ( token / quoted-string ) ). Lists from several fields are
// one list: call once per field with the same `te`.
inline std::string_view parse_transfer_encoding(const char* p, const char* end,
                                                TransferCoding& te) {
  bool any = false;
  while (p < end) {
    if (is_ows(*p) || *p == ',') {  // empty list elements are allowed
      ++p;
      continue;
    }
    const char* s = p;
    while (p < end && is_tchar(*p)) ++p;
    if (p == s) return "malformed Transfer-Encoding";
    std::string_view coding(s, static_cast<size_t>(p - s));
    bool params = false;
    for (;;) {
      const char* r = p;
      while (r < end && is_ows(*r)) ++r;
      if (r == end || *r == ',') {
        p = r;
        break;
      }
      if (*r != ';') return "malformed Transfer-Encoding";
      ++r;
      while (r < end && is_ows(*r)) ++r;
      const char* n = r;
      while (r < end && is_tchar(*r)) ++r;
      if (r == n) return "malformed Transfer-Encoding";
      while (r < end && is_ows(*r)) ++r;
      if (r == end || *r != '=') return "malformed Transfer-Encoding";
      ++r;
      while (r < end && is_ows(*r)) ++r;
      if (r < end && *r == '"') {
        r = skip_quoted(r, end);
        if (r == nullptr) return "malformed Transfer-Encoding";
      } else {
        const char* v = r;
        while (r < end && is_tchar(*r)) ++r;
        if (r == v) return "malformed Transfer-Encoding";
      }
      params = true;
      p = r;
    }
    if (iequals(coding, "chunked")) {
      if (params) return "malformed Transfer-Encoding";
      if (te.chunked) return "chunked applied more than once";
      te.chunked = true;
    } else {
      if (te.chunked) return "chunked is not the final transfer coding";
      te.other = true;
    }
    any = true;
  }
  if (!any) return "empty Transfer-Encoding";
  return {};
}

// The Connection options the parsers act on; other tokens are ignored.
struct ConnectionTokens {
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
};

// Connection = #connection-option, case-insensitive. Never fails: a list
// element that is not one of the three options is skipped.
inline void parse_connection(const char* p, const char* end,
                             ConnectionTokens& c) {
  while (p < end) {
    while (p < end && (is_ows(*p) || *p == ',')) ++p;
    const char* s = p;
    while (p < end && *p != ',') ++p;
    const char* e = p;
    while (e > s && is_ows(e[-1])) --e;
    std::string_view tok(s, static_cast<size_t>(e - s));
    if (iequals(tok, "close")) {
      c.close = true;
    } else if (iequals(tok, "keep-alive")) {
      c.keep_alive = true;
    } else if (iequals(tok, "upgrade")) {
      c.upgrade = true;
    }
  }
}

// Where a message head ends. Scans d[from, lim) for LFs: every LF must
// follow a CR, and the first "\r\n\r\n" ends the head. Stops at the end of
// the head (end = one past it) or at the first bare LF (bare_lf); neither
// means more bytes are needed. The caller guarantees that d[j - 1] is
// readable for any LF at j >= from, and d[j - 3] whenever d[j - 2..j] is
// "\n\r\n" (true when the scan starts past the first byte of a line).
struct HeadEnd {
  size_t end = 0;
  bool bare_lf = false;
};

inline HeadEnd find_head_end(const char* d, size_t from, size_t lim) {
  HeadEnd r;
  auto check_lf = [&](size_t j) {
    if (d[j - 1] != '\r') {
      r.bare_lf = true;
      return true;
    }
    if (d[j - 2] == '\n' && d[j - 3] == '\r') {
      r.end = j + 1;
      return true;
    }
    return false;
  };
  size_t i = from;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  while (i + 16 <= lim) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    while (mask != 0) {
      if (check_lf(i + static_cast<size_t>(__builtin_ctz(mask)))) return r;
      mask &= mask - 1;
    }
    i += 16;
  }
#endif
  while (i < lim) {
    const void* hit = std::memchr(d + i, '\n', lim - i);
    if (hit == nullptr) break;
    const size_t j = static_cast<size_t>(static_cast<const char*>(hit) - d);
    if (check_lf(j)) return r;
    i = j + 1;
  }
  return r;
}

}  // namespace ringshard::http::chars
