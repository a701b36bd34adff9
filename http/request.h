// http/request.h: the parsed form of one HTTP/1.1 request head.
//
// A Request holds views (std::string_view) into the caller's receive buffer;
// they stay valid only as long as those bytes do (the HTTP driver keeps them
// alive until the handler returns or the async response completes).
// Filling a Request never allocates: headers live in a fixed array whose size
// is the hard upper bound of the parser's header-count limit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringshard::http {

enum class Method : uint8_t {
  kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kConnect, kTrace,
  kUnknown,  // a syntactically valid token we do not implement: 501
};

// The method's name as sent on the wire ("GET"); "UNKNOWN" for kUnknown
// (use Request::method_text for the token actually received).
std::string_view method_name(Method m);

struct Header {
  std::string_view name;   // as sent (case preserved)
  std::string_view value;  // leading/trailing OWS removed
};

// Absolute ceiling on headers per request. The configurable limit
// (ParserLimits::max_headers, default 100) must not exceed it.
inline constexpr size_t kMaxHeadersCeiling = 256;

enum class BodyKind : uint8_t { kNone, kContentLength, kChunked };

struct Request {
  Method method = Method::kUnknown;
  std::string_view method_text;  // the method token as sent
  std::string_view target;       // request-target as sent
  std::string_view path;         // target up to '?' or '#' (origin-form), the
                                 // path of an absolute-form target ("/" if it
                                 // has none), or the whole target ("*",
                                 // authority-form)
  std::string_view query;        // after '?', without it, up to '#'; empty if none
  uint8_t version_minor = 1;     // HTTP/1.<minor>; only 0 and 1 are accepted
  bool keep_alive = true;        // after Connection header + version rules
  bool expect_continue = false;  // "Expect: 100-continue" (case-insensitive)
  bool upgrade = false;          // Connection: upgrade present (for ws/)
  BodyKind body_kind = BodyKind::kNone;
  uint64_t content_length = 0;   // valid when body_kind == kContentLength
  std::string_view host;         // the single Host header value, or for an
                                 // absolute-form target its host[:port]
                                 // (RFC 9112 3.2.2; see parser.h)
  size_t header_count = 0;
  std::array<Header, kMaxHeadersCeiling> headers;

  // Case-insensitive lookup of the first header with this name; empty view
  // (data() == nullptr) if absent.
  std::string_view header(std::string_view name) const;
};

// Case-insensitive ASCII comparison (header names, tokens). Inline: the
// proxy and the middlewares call it for every field of every request, and
// most calls end at the size check.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]);
    const unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Only ASCII letters fold; 'A'..'Z' differ from 'a'..'z' by 0x20.
    const unsigned char lower = x | 0x20;
    if (lower != (y | 0x20) || lower < 'a' || lower > 'z') return false;
  }
  return true;
}

// Every value of the fields named `name` (case-insensitive) among
// `headers` (a field may repeat; values are comma lists) as one walk:
// calls fn(element) for each non-empty element, spaces and tabs around it
// trimmed, in order. Returns false if fn returned false (it stopped).
template <typename Fn>
bool for_each_list_element(std::span<const Header> headers, std::string_view name, Fn&& fn) {
  for (const Header& h : headers) {
    if (!iequals(h.name, name)) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      const size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty() && !fn(item)) return false;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return true;
}

}  // namespace ringshard::http
