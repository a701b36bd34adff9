// proxy/forward_headers.h: the request head a proxy route sends upstream,
// and the response fields it passes back to the client.
//
// Request (build_upstream_request): from the client's request (method,
// path, query, header views) and the route, writes the whole upstream
// request head, request line to blank line, into the caller's std::string
// (cleared first; reuse one per connection and it stops allocating once it
// has grown to the largest head):
//   - request line: METHOD SP path SP "HTTP/1.1", the path rewritten per
//     the route (strip_prefix / replace_prefix, one '/' kept between the
//     parts), the query kept ("?query").
//   - Host first: the backend's host:port, or the client's Host when the
//     route preserves it.
//   - hop-by-hop fields dropped: Connection and every field it names,
//     Keep-Alive, TE, Transfer-Encoding, Upgrade, Proxy-* (Proxy-
//     Authorization, Proxy-Connection, ...); also the client's Host,
//     Content-Length and Expect (framing and 100-continue are this hop's:
//     written from `body` below, answered by the server).
//   - a WebSocket upgrade being forwarded (`websocket`): "Connection:
//     Upgrade" and "Upgrade: websocket" are written (the Sec-WebSocket-*
//     fields pass through as end-to-end fields).
//   - X-Forwarded-For: the client's value(s) with the client address
//     appended when the route trusts forwarded fields, else the client
//     address alone. X-Forwarded-Proto and X-Forwarded-Host: the client's
//     when trusted and present, else ours (http/https, the client's Host).
//   - Forwarded (RFC 7239): the same rule; our element is
//     for=ADDR;proto=P;host=H where an IPv6 address is written
//     "[v6]" in quotes, an obfuscated identifier ("_abc", section 6.3) or
//     "unknown" as is, and host is quoted when it is not a token.
//   - Via: the client's Via with "1.x NAME" appended (x: the client's
//     HTTP version; NAME: `via_name`, default "ringshard").
//   - X-Request-ID and traceparent/tracestate pass through; `request_id`
//     is added as X-Request-ID when the request had none (the server's
//     middleware may have made one).
//   - body framing: Content-Length: N, or Transfer-Encoding: chunked, as
//     `body` says (the glue knows how it will send the body).
// Fields that are not well formed (a name that is not a token; a value
// with CR, LF, NUL or another control character but tab) are dropped and
// counted, so whatever the input, the output has no injected line.
//
// Response (filter_response_headers): views of the upstream response's
// fields that go to the client: hop-by-hop fields dropped as above (and
// Content-Length / Transfer-Encoding: the server frames the response it
// sends), Via appended ("1.x NAME"); for a 101 to a forwarded WebSocket
// upgrade, Connection: Upgrade and the Upgrade field are kept.
//
// Pure functions, any thread. No allocation beyond growing the caller's
// strings; the views written to `out` point into the input or `via_buf`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http/request.h"
#include "http/response_head.h"
#include "proxy/config.h"

namespace ringshard::proxy {

struct ForwardRequest {
  std::string_view method;            // as received
  std::string_view path;              // without the query
  std::string_view query;             // without '?'; "" = none
  uint8_t version_minor = 1;          // the client's HTTP/1.x (for Via)
  std::span<const http::Header> headers;
  std::string_view host;              // the client's Host (may be empty)
  std::string_view client_address;    // "192.0.2.1", "2001:db8::1" (no brackets), an
                                      // obfuscated "_id", or "" (written "unknown")
  bool tls = false;                   // the client connection is HTTPS
  std::string_view backend_host;      // Host sent unless preserve_host: "10.0.0.7:8080"
  bool websocket = false;             // forward a WebSocket upgrade
  std::string_view request_id;        // X-Request-ID to add when absent ("": none)
  std::string_view via_name = "ringshard";
  enum class Body : uint8_t { kNone, kLength, kChunked } body = Body::kNone;
  uint64_t content_length = 0;        // with Body::kLength
};

struct ForwardResult {
  bool ok = true;          // false: method, path, query or a generated value is not
                           // sendable (the glue answers 400); `out` is then empty
  uint32_t dropped = 0;    // malformed client fields left out
};

ForwardResult build_upstream_request(const ForwardRequest& request, const ProxyRoute& route,
                                     std::string& out);

// The path sent upstream (prefix rewritten per the route), appended to
// `out`. `path` must start with route.prefix.
void rewrite_path(const ProxyRoute& route, std::string_view path, std::string& out);

struct ResponseFilter {
  size_t count = 0;      // fields written to `out`
  uint32_t dropped = 0;  // malformed upstream fields left out
  bool truncated = false;  // `out` was too small; the rest were left out
};

// Writes the fields to send to the client into `out` (at most out.size()):
// views into `upstream` and into `via_buf` (cleared, then holds the Via
// value; keep it alive as long as the views). `upgrade`: a 101 answering a
// forwarded WebSocket upgrade. `version_minor`: the upstream's HTTP/1.x.
ResponseFilter filter_response_headers(std::span<const http::Header> upstream, bool upgrade,
                                       uint8_t version_minor, std::string_view via_name,
                                       std::string& via_buf, std::span<http::HeaderField> out);

// Whether `name` is a hop-by-hop field by itself (not counting the ones a
// Connection field names): Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade, Proxy-*. Case-insensitive.
bool is_hop_by_hop(std::string_view name);

}  // namespace ringshard::proxy
