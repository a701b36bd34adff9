// http/parser.cc: the request-head parser.
//
// Two passes over the head, each touching every byte once:
//  1. Find the end of the head: look at every LF (SSE2 compare or memchr);
//     each must follow a CR, and "\r\n\r\n" ends the head. Only the bytes
//     added since the last call are looked at (scanned_), so a head fed one
//     byte at a time costs O(n). Only the first max_head_bytes are looked at:
//     a head that does not end within them is 431 whatever comes after.
//  2. Once the head is complete, one validating pass: table lookups for
//     tokens, a 16-byte-at-a-time scan for request-target and field values.
//
// Errors are ordered by the position at which they become visible, so the
// status does not depend on how the bytes were split into parse() calls: an
// over-long request-target (414) is visible as soon as the target has more
// than max_target_bytes bytes, before anything after it; a bare LF as soon
// as it arrives; everything pass 2 finds when the head is complete; 431 when
// max_head_bytes + 1 bytes are buffered without a complete head.
//
// The character classes, the field-value scan and the Content-Length,
// Transfer-Encoding and Connection readers are shared with the response
// parser through http/chars.h; what only requests need (target and Host
// syntax) stays here.
#include "http/parser.h"

#include <cstring>

#include "http/chars.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringshard::http {
namespace {

using namespace chars;

// First byte in [p, end) that is not a request-target character, or end.
inline const char* skip_target(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8(0x21);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes >= 0x80 are negative, so they count as < 0x21.
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, lo), _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && (cls(*p) & kTarget)) ++p;
  return p;
}

// The early-414 rule, evaluated on a complete head: the request-target is
// what follows the first SP of the request line up to the next SP, CR or LF.
bool target_overlong(const char* p, const char* end, size_t max) {
  while (p < end && *p != ' ' && *p != '\r' && *p != '\n') ++p;
  if (p == end || *p != ' ') return false;
  const char* t = ++p;
  while (p < end && *p != ' ' && *p != '\r' && *p != '\n') ++p;
  return static_cast<size_t>(p - t) > max;
}

Method lookup_method(const char* m, size_t n) {
  auto is = [&](const char* lit) { return std::memcmp(m, lit, n) == 0; };
  switch (n) {
    case 3:
      if (is("GET")) return Method::kGet;
      if (is("PUT")) return Method::kPut;
      break;
    case 4:
      if (is("POST")) return Method::kPost;
      if (is("HEAD")) return Method::kHead;
      break;
    case 5:
      if (is("PATCH")) return Method::kPatch;
      if (is("TRACE")) return Method::kTrace;
      break;
    case 6:
      if (is("DELETE")) return Method::kDelete;
      break;
    case 7:
      if (is("OPTIONS")) return Method::kOptions;
      if (is("CONNECT")) return Method::kConnect;
      break;
    default:
      break;
  }
  return Method::kUnknown;
}

ParseResult error(uint16_t status, std::string_view reason) {
  return {ParseStatus::kError, 0, status, reason};
}

// State the header loop gathers for the framing decisions made at the end.
struct Framing {
  bool host = false;
  bool content_length = false;
  bool te = false;
  bool expect_continue = false;
  bool absolute_form = false;  // host_value is the target's authority
  TransferCoding codings;
  ConnectionTokens connection;
  uint64_t length = 0;
  std::string_view host_value;  // what Request::host will be
};

// authority-form = uri-host ":" port (CONNECT only).
bool valid_authority_form(std::string_view t) {
  size_t colon = t.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view port = t.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (!is_digit(c)) return false;
  }
  for (char c : t.substr(0, colon)) {
    if (c == '/' || c == '?' || c == '#' || c == '@') return false;
  }
  return true;
}

// First byte in [p, end) that does not continue a reg-name (RFC 3986
// 3.2.2: unreserved / pct-encoded / sub-delims), or end. An IPv4address is
// a reg-name too, so no separate check is needed for it.
const char* skip_reg_name(const char* p, const char* end) {
  while (p < end) {
    if (cls(*p) & kRegName) {
      ++p;
    } else if (*p == '%' && end - p >= 3 && is_hex(p[1]) && is_hex(p[2])) {
      p += 3;
    } else {
      break;
    }
  }
  return p;
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros.
bool valid_ipv4(std::string_view s) {
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i == s.size() || s[i] != '.') return false;
      ++i;
    }
    const size_t begin = i;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && i - begin < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    const size_t len = i - begin;
    if (len == 0 || value > 255 || (len > 1 && s[begin] == '0')) return false;
  }
  return i == s.size();
}

// IPv6address (RFC 3986 3.2.2): eight h16 pieces, or fewer with exactly one
// "::" standing for at least one; the last two may be an IPv4 address.
bool valid_ipv6(std::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  size_t pieces = 0;
  bool compressed = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  }
  while (i < n) {
    size_t j = i;
    while (j < n && is_hex(s[j])) ++j;
    if (j < n && s[j] == '.') {  // ls32 as an IPv4 address: must end it
      if (!valid_ipv4(s.substr(i))) return false;
      pieces += 2;
      break;
    }
    if (j == i || j - i > 4) return false;
    ++pieces;
    i = j;
    if (i == n) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < n && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == n) {
      return false;  // a single trailing ':'
    }
  }
  return compressed ? pieces <= 7 : pieces == 8;
}

// IP-literal without its brackets: IPv6address / IPvFuture, where
// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
bool valid_ip_literal(std::string_view s) {
  if (!s.empty() && (s[0] | 0x20) == 'v') {
    size_t i = 1;
    while (i < s.size() && is_hex(s[i])) ++i;
    if (i == 1 || i == s.size() || s[i] != '.') return false;
    if (++i == s.size()) return false;
    for (; i < s.size(); ++i) {
      if (!(cls(s[i]) & kRegName) && s[i] != ':') return false;
    }
    return true;
  }
  return valid_ipv6(s);
}

// userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
bool valid_userinfo(const char* p, const char* end) {
  for (;;) {
    p = skip_reg_name(p, end);
    if (p == end) return true;
    if (*p != ':') return false;
    ++p;
  }
}

// Host = uri-host [ ":" port ] (RFC 9110 7.2); uri-host is an IP-literal
// in brackets or a reg-name (which covers IPv4), port is *DIGIT. An empty
// value is valid (RFC 9112 3.2: the target URI has no authority); a port
// without a host is not, as it names no host. No userinfo, path, query or
// fragment, so no SP, '/', '@', '?' or '#'. `p` is where the run of
// unreserved / sub-delims bytes at the start of `v` ends.
bool valid_host_after(std::string_view v, const char* p) {
  const char* const end = v.data() + v.size();
  if (p == v.data() && *p == '[') {
    const char* close = p + 1;
    while (close < end && *close != ']') ++close;
    if (close == end) return false;
    if (!valid_ip_literal(std::string_view(p + 1, static_cast<size_t>(close - p - 1)))) {
      return false;
    }
    p = close + 1;
  } else {
    p = skip_reg_name(p, end);
    if (p == v.data()) return false;
  }
  if (p == end) return true;
  if (*p != ':') return false;
  for (++p; p < end; ++p) {
    if (!is_digit(*p)) return false;
  }
  return true;
}

// Most Host values are a plain name: those are checked inline, one table
// lookup per byte; ports, IP literals and %-escapes take the call.
[[gnu::always_inline]] inline bool valid_host(std::string_view v) {
  const char* p = v.data();
  const char* const end = p + v.size();
  while (p < end && (cls(*p) & kRegName)) ++p;
  return p == end || valid_host_after(v, p);
}

// Splits [p, end) at '?' and '#' into path and query.
void split_path(const char* p, const char* end, std::string_view& path,
                std::string_view& query) {
  const char* q = p;
  while (q < end && *q != '?' && *q != '#') ++q;
  path = std::string_view(p, static_cast<size_t>(q - p));
  query = {};
  if (q < end && *q == '?') {
    const char* s = ++q;
    while (q < end && *q != '#') ++q;
    query = std::string_view(s, static_cast<size_t>(q - s));
  }
}

}  // namespace

bool RequestParser::target_too_long_so_far(const char* d, size_t limit) {
  size_t p = target_scan_;
  if (target_phase_ == 0) {
    while (p < limit && d[p] != ' ' && d[p] != '\r' && d[p] != '\n') ++p;
    if (p == limit) {
      target_scan_ = p;
      return false;
    }
    if (d[p] != ' ') {
      target_phase_ = 2;
      return false;
    }
    target_begin_ = ++p;
    target_phase_ = 1;
  }
  if (target_phase_ == 1) {
    while (p < limit && d[p] != ' ' && d[p] != '\r' && d[p] != '\n') ++p;
    if (p - target_begin_ > limits_.max_target_bytes) return true;
    if (p == limit) {
      target_scan_ = p;
      return false;
    }
    target_phase_ = 2;
  }
  return false;
}

ParseResult RequestParser::parse(std::string_view data, Request& out) {
  const char* d = data.data();
  const size_t n = data.size();
  const size_t cap = limits_.max_head_bytes;
  const size_t lim = n < cap ? n : cap;

  // Fewer bytes than last time breaks the contract; start over rather than
  // read outside `data`.
  if (start_ > n || scanned_ > n) reset();

  auto fail = [this](uint16_t status, std::string_view reason) {
    reset();
    return error(status, reason);
  };
  auto need_more = [&]() {
    if (n > cap) return fail(431, "request head too large");
    return ParseResult{};
  };

  if (!in_line_) {
    // RFC 9112 2.2: empty lines before the request line are ignored.
    size_t p = start_;
    for (;;) {
      if (p >= lim || (d[p] == '\r' && p + 1 >= lim)) {
        start_ = p;
        return need_more();
      }
      if (d[p] == '\r') {
        if (d[p + 1] != '\n') return fail(400, "bare CR in request head");
        p += 2;
      } else if (d[p] == '\n') {
        return fail(400, "bare LF in request head");
      } else {
        break;
      }
    }
    start_ = p;
    scanned_ = p + 1;  // d[p] is neither CR nor LF
    target_scan_ = p;
    in_line_ = true;
  }

  // scanned_ > start_ (d[start_] is neither CR nor LF), so every LF found
  // has its predecessors inside the line: find_head_end's precondition.
  const chars::HeadEnd he = chars::find_head_end(d, scanned_, lim);
  const size_t end = he.end;
  const bool bare_lf = he.bare_lf;

  if (end != 0) {
    ParseResult r = parse_head(d, end, out);
    reset();
    return r;
  }
  scanned_ = lim;
  if (target_too_long_so_far(d, lim)) return fail(414, "request-target too long");
  if (bare_lf) return fail(400, "bare LF in request head");
  return need_more();
}

ParseResult RequestParser::parse_head(const char* d, size_t end,
                                      Request& out) const {
  const char* const head_end = d + end;
  const char* const line = d + start_;
  const size_t max_target = limits_.max_target_bytes;
  // A first-line error is reported as 414 when the rule the early check uses
  // says the target is too long: that is what a split feed would have seen.
  auto line_error = [&](std::string_view reason) {
    if (target_overlong(line, head_end, max_target)) {
      return error(414, "request-target too long");
    }
    return error(400, reason);
  };

  // Request line. The head ends in "\r\n\r\n", so every scan below stops
  // inside it without bounds checks on the token loops.
  const char* p = line;
  while (is_tchar(*p)) ++p;
  if (*p != ' ' || p == line) {
    return line_error(p == line ? "missing method" : "invalid character in method");
  }
  const std::string_view method_text(line, static_cast<size_t>(p - line));
  const Method method = lookup_method(line, method_text.size());
  const char* t = ++p;
  p = skip_target(p, head_end);
  if (*p != ' ' || p == t) {
    if (p == t) return line_error("missing request-target");
    if (*p == '\r') return line_error("missing HTTP version");
    return line_error("invalid character in request-target");
  }
  const size_t target_len = static_cast<size_t>(p - t);
  if (target_len > max_target) return error(414, "request-target too long");
  ++p;
  if (head_end - p < 10 || std::memcmp(p, "HTTP/1.", 7) != 0 ||
      (p[7] != '0' && p[7] != '1') || p[8] != '\r' || p[9] != '\n') {
    if (head_end - p >= 10 && std::memcmp(p, "HTTP/", 5) == 0 &&
        is_digit(p[5]) && p[6] == '.' && is_digit(p[7]) && p[8] == '\r' &&
        p[9] == '\n') {
      return error(505, "HTTP version not supported");
    }
    return error(400, "malformed HTTP version");
  }
  const uint8_t minor = static_cast<uint8_t>(p[7] - '0');
  p += 10;

  const std::string_view target(t, target_len);
  const char* const target_end = t + target_len;
  std::string_view path;
  std::string_view query;
  Framing f;
  if (*t == '/') {
    if (method == Method::kConnect) {
      return error(400, "CONNECT needs an authority-form target");
    }
    split_path(t, target_end, path, query);
  } else if (target_len == 1 && *t == '*') {
    // Server-wide OPTIONS; extension methods define their own use of it
    // (SSDP's "M-SEARCH * HTTP/1.1"). GET * and the like stay errors.
    if (method != Method::kOptions && method != Method::kUnknown) {
      return error(400, "asterisk-form target is only for OPTIONS and extension methods");
    }
    path = target;
  } else if (method == Method::kConnect) {
    if (!valid_authority_form(target)) {
      return error(400, "invalid authority-form target");
    }
    path = target;
  } else {
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    const char* q = t;
    if (!is_alpha(*q)) return error(400, "invalid request-target");
    while (q < target_end && (is_alpha(*q) || is_digit(*q) || *q == '+' ||
                              *q == '-' || *q == '.')) {
      ++q;
    }
    if (target_end - q < 3 || q[0] != ':' || q[1] != '/' || q[2] != '/') {
      return error(400, "invalid request-target");
    }
    q += 3;
    // authority = [ userinfo "@" ] host [ ":" port ]. RFC 9112 3.2.2: the
    // server uses this host, not the Host header, so it must be as valid
    // as a Host value would have to be.
    const char* authority = q;
    const char* host = authority;
    while (q < target_end && *q != '/' && *q != '?' && *q != '#') {
      if (*q == '@' && host == authority) host = q + 1;
      ++q;
    }
    if (host != authority && !valid_userinfo(authority, host - 1)) {
      return error(400, "invalid userinfo in request-target");
    }
    const std::string_view target_host(host, static_cast<size_t>(q - host));
    if (target_host.empty() || target_host.front() == ':') {
      return error(400, "absolute-form target without host");
    }
    if (!valid_host(target_host)) {
      return error(400, "invalid host in request-target");
    }
    f.absolute_form = true;
    f.host_value = target_host;
    split_path(q, target_end, path, query);
    if (path.empty()) path = "/";
  }

  // Header fields.
  const size_t max_headers = limits_.max_headers < kMaxHeadersCeiling
                                 ? limits_.max_headers
                                 : kMaxHeadersCeiling;
  size_t count = 0;
  for (;;) {
    if (*p == '\r') {
      // Only the final empty line starts with CR: an earlier "\r\n\r\n"
      // would have ended the head there.
      if (p[1] != '\n') return error(400, "bare CR in request head");
      break;
    }
    const char* name = p;
    while (is_tchar(*p)) ++p;
    if (*p != ':' || p == name) {
      if (p == name) {
        if (is_ows(*p)) return error(400, "obs-fold or whitespace at line start");
        if (*p == ':') return error(400, "empty header name");
      }
      if (is_ows(*p)) return error(400, "whitespace before colon in header");
      if (*p == '\r') return error(400, "header line without colon");
      return error(400, "invalid character in header name");
    }
    if (count == max_headers) return error(431, "too many header fields");
    const size_t name_len = static_cast<size_t>(p - name);
    ++p;
    while (is_ows(*p)) ++p;
    const char* value = p;
    p = skip_value(p, head_end);
    if (*p != '\r' || p[1] != '\n') {
      if (*p == '\r') return error(400, "bare CR in request head");
      return error(400, "invalid character in header value");
    }
    const char* value_end = p;
    while (value_end > value && is_ows(value_end[-1])) --value_end;
    p += 2;
    const std::string_view v(value, static_cast<size_t>(value_end - value));
    out.headers[count] = Header{std::string_view(name, name_len), v};
    ++count;

    switch (name_len) {
      case 4:
        if (name_is(name, "host", 4)) {
          if (f.host) return error(400, "repeated Host header");
          if (!valid_host(v)) return error(400, "invalid Host header");
          f.host = true;
          if (!f.absolute_form) f.host_value = v;
        }
        break;
      case 6:
        if (name_is(name, "expect", 6)) {
          if (!iequals(v, "100-continue")) {
            return error(417, "unsupported Expect value");
          }
          f.expect_continue = true;
        }
        break;
      case 10:
        if (name_is(name, "connection", 10)) {
          parse_connection(value, value_end, f.connection);
        }
        break;
      case 14:
        if (name_is(name, "content-length", 14)) {
          if (f.content_length) return error(400, "repeated Content-Length");
          std::string_view bad = parse_content_length(v, f.length);
          if (!bad.empty()) return error(400, bad);
          f.content_length = true;
        }
        break;
      case 17:
        if (name_is(name, "transfer-encoding", 17)) {
          f.te = true;
          std::string_view bad =
              parse_transfer_encoding(value, value_end, f.codings);
          if (!bad.empty()) return error(400, bad);
        }
        break;
      default:
        break;
    }
  }

  if (minor == 1 && !f.host) return error(400, "missing Host header");
  if (f.te) {
    if (f.content_length) {
      return error(400, "Content-Length with Transfer-Encoding");
    }
    if (minor == 0) return error(400, "Transfer-Encoding in HTTP/1.0");
    if (!f.codings.chunked) {
      return error(400, "Transfer-Encoding does not end in chunked");
    }
    if (f.codings.other) return error(501, "unsupported transfer coding");
  }

  out.method = method;
  out.method_text = method_text;
  out.target = target;
  out.path = path;
  out.query = query;
  out.version_minor = minor;
  out.keep_alive =
      !f.connection.close && (minor == 1 || f.connection.keep_alive);
  out.expect_continue = f.expect_continue && minor == 1;
  out.upgrade = f.connection.upgrade;
  if (f.te) {
    out.body_kind = BodyKind::kChunked;
    out.content_length = 0;
  } else if (f.content_length) {
    out.body_kind = BodyKind::kContentLength;
    out.content_length = f.length;
  } else {
    out.body_kind = BodyKind::kNone;
    out.content_length = 0;
  }
  out.host = f.host_value;
  out.header_count = count;
  return {ParseStatus::kComplete, end, 0, {}};
}

}  // namespace ringshard::http
