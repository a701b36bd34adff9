// http/response_parser.cc: the response-head parser.
//
// The same two passes as the request parser (parser.cc), each touching every
// byte once:
//  1. Find the end of the head: look at every LF (SSE2 compare or memchr);
//     each must follow a CR, and "\r\n\r\n" ends the head. Only the bytes
//     added since the last call are looked at (scanned_), so a head fed one
//     byte at a time costs O(n); only the first max_head_bytes are looked at.
//     Before that, the first five bytes must be "HTTP/": a peer that answers
//     in another protocol is refused at once instead of after 64 KiB or a
//     timeout.
//  2. Once the head is complete, one validating pass: table lookups for
//     tokens, a 16-byte-at-a-time scan for the reason and field values.
//
// Errors are ordered by the position at which they become visible (the
// prefix as it arrives, a bare LF as it arrives, everything else when the
// head is complete, the size limit when max_head_bytes + 1 bytes are
// buffered), so the reason does not depend on how the bytes were split.
//
// The character classes, the field-value scan and the Content-Length,
// Transfer-Encoding and Connection readers are the request parser's, from
// http/chars.h.
#include "http/response_parser.h"

#include <cstring>

#include "http/chars.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringshard::http {
namespace {

using namespace chars;

constexpr std::string_view kPrefix = "HTTP/";

ParseResult error(std::string_view reason) {
  return {ParseStatus::kError, 0, 502, reason};
}

// State the header loop gathers for the framing decisions made at the end.
struct Framing {
  bool content_length = false;
  bool te = false;
  TransferCoding codings;
  ConnectionTokens connection;
  uint64_t length = 0;
};

}  // namespace

std::string_view ParsedResponse::header(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

ParseResult ResponseParser::parse(std::string_view data, ParsedResponse& out,
                                  bool head_request) {
  const char* d = data.data();
  const size_t n = data.size();
  const size_t cap = limits_.max_head_bytes;
  const size_t lim = n < cap ? n : cap;

  // Fewer bytes than last time breaks the contract; start over rather than
  // read outside `data`.
  if (scanned_ > n) reset();

  if (scanned_ < kPrefix.size()) {
    const size_t k = lim < kPrefix.size() ? lim : kPrefix.size();
    if (k != 0 && std::memcmp(d, kPrefix.data(), k) != 0) {
      reset();
      return error("not an HTTP/1.x response");
    }
  }

  // The prefix check put "HTTP/" in d[0..5), so an LF is at j >= 5 and its
  // predecessors are in range: find_head_end's precondition.
  const chars::HeadEnd he = chars::find_head_end(d, scanned_, lim);
  const size_t end = he.end;
  const bool bare_lf = he.bare_lf;

  if (end != 0) {
    reset();
    return parse_head(d, end, out, head_request);
  }
  if (bare_lf) {
    reset();
    return error("bare LF in response head");
  }
  if (n > cap) {
    reset();
    return error("response head too large");
  }
  scanned_ = lim;
  return {};
}

ParseResult ResponseParser::parse_head(const char* d, size_t end,
                                       ParsedResponse& out,
                                       bool head_request) const {
  const char* const head_end = d + end;

  // Status line. The head starts with "HTTP/" and ends in "\r\n\r\n", so it
  // is at least 9 bytes long, every byte looked at below before a CR or LF
  // is followed by at least three more, and no scan needs a bounds check
  // until it stops at CR.
  const char* p = d;
  if (std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
      p[8] != ' ') {
    if (is_digit(p[5]) && p[6] == '.' && is_digit(p[7]) && p[8] == ' ') {
      return error("unsupported HTTP version");
    }
    return error("malformed HTTP version");
  }
  const uint8_t minor = static_cast<uint8_t>(p[7] - '0');
  p += 9;
  if (!is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
      (p[3] != ' ' && p[3] != '\r')) {
    return error("status code is not three digits");
  }
  if (p[0] == '0') return error("status code below 100");
  const uint16_t status = static_cast<uint16_t>(
      (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
  p += 3;
  if (*p == ' ') ++p;  // "HTTP/1.1 200\r\n" has no SP before CRLF
  const char* reason = p;
  p = skip_value(p, head_end);
  if (*p != '\r' || p[1] != '\n') {
    if (*p == '\r') return error("bare CR in response head");
    return error("invalid character in reason phrase");
  }
  const std::string_view reason_text(reason, static_cast<size_t>(p - reason));
  p += 2;

  // Header fields.
  const size_t max_headers = limits_.max_headers < kMaxHeadersCeiling
                                 ? limits_.max_headers
                                 : kMaxHeadersCeiling;
  size_t count = 0;
  Framing f;
  for (;;) {
    if (*p == '\r') {
      // Only the final empty line starts with CR: an earlier "\r\n\r\n"
      // would have ended the head there.
      if (p[1] != '\n') return error("bare CR in response head");
      break;
    }
    const char* name = p;
    while (is_tchar(*p)) ++p;
    if (*p != ':' || p == name) {
      if (p == name) {
        if (is_ows(*p)) return error("obs-fold or whitespace at line start");
        if (*p == ':') return error("empty header name");
      }
      if (is_ows(*p)) return error("whitespace before colon in header");
      if (*p == '\r') return error("header line without colon");
      return error("invalid character in header name");
    }
    if (count == max_headers) return error("too many header fields");
    const size_t name_len = static_cast<size_t>(p - name);
    ++p;
    while (is_ows(*p)) ++p;
    const char* value = p;
    p = skip_value(p, head_end);
    if (*p != '\r' || p[1] != '\n') {
      if (*p == '\r') return error("bare CR in response head");
      return error("invalid character in header value");
    }
    const char* value_end = p;
    while (value_end > value && is_ows(value_end[-1])) --value_end;
    p += 2;
    const std::string_view v(value, static_cast<size_t>(value_end - value));
    out.headers[count] = Header{std::string_view(name, name_len), v};
    ++count;

    switch (name_len) {
      case 10:
        if (name_is(name, "connection", 10)) {
          parse_connection(value, value_end, f.connection);
        }
        break;
      case 14:
        if (name_is(name, "content-length", 14)) {
          if (f.content_length) return error("repeated Content-Length");
          std::string_view bad = parse_content_length(v, f.length);
          if (!bad.empty()) return error(bad);
          f.content_length = true;
        }
        break;
      case 17:
        if (name_is(name, "transfer-encoding", 17)) {
          f.te = true;
          std::string_view bad =
              parse_transfer_encoding(value, value_end, f.codings);
          if (!bad.empty()) return error(bad);
        }
        break;
      default:
        break;
    }
  }

  if (f.te) {
    if (f.content_length) return error("Content-Length with Transfer-Encoding");
    if (minor == 0) return error("Transfer-Encoding in HTTP/1.0");
    if (!f.codings.chunked) return error("Transfer-Encoding does not end in chunked");
  }

  out.version_minor = minor;
  out.status = status;
  out.reason = reason_text;
  out.keep_alive =
      !f.connection.close && (minor == 1 || f.connection.keep_alive);
  out.upgrade = f.connection.upgrade;
  out.transfer_coded = f.te && f.codings.other;
  out.content_length = f.content_length ? f.length : 0;
  if (response_has_no_body(status, head_request)) {
    out.body_kind = ResponseBodyKind::kNone;
  } else if (f.te) {
    out.body_kind = ResponseBodyKind::kChunked;
  } else if (f.content_length) {
    out.body_kind = ResponseBodyKind::kContentLength;
  } else {
    out.body_kind = ResponseBodyKind::kUntilClose;
    out.keep_alive = false;
  }
  out.header_count = count;
  return {ParseStatus::kComplete, end, 0, {}};
}

}  // namespace ringshard::http
