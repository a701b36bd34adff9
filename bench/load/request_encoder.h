// bench/load/request_encoder.h: the bytes of ringshard-load's HTTP request,
// built once per run from the options (method, path, --header lines, body)
// and then sent by reference for every request: nothing is formatted per
// request, so a POST with a body costs the generator what a GET does, bar
// the bytes.
//
//   std::string req = encode_request(options, options.path, options.method);
//   // "POST /v1/deployments HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
//   // "Authorization: Bearer t\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
//
// What it writes, in this order: the request line; Host (the URL's
// host:port, IPv6 bracketed) unless a --header names Host; the --header
// lines as given; "Connection: close" in close mode; Content-Length when a
// body was given (--body, --body-file, even empty) or the method is POST,
// PUT or PATCH (RFC 9110 8.6: a user agent should send it for those, 0 for
// none); the empty line; the body. The options parser has already refused
// header lines that would contradict this framing (Content-Length,
// Transfer-Encoding, Connection) and methods that are not tokens.
//
// Control plane: allocates; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/load/load_options.h"

namespace ringshard::load {

std::string encode_request(const LoadOptions& options, std::string_view path, std::string_view method);

// The value of the first "Name: value" line in `headers` whose name is
// `name` (ASCII case-insensitive), without surrounding blanks; nullptr-data
// view if there is none.
std::string_view find_header(const std::vector<std::string>& headers, std::string_view name);

// "host:port" as a Host header value ("[::1]:8080" for IPv6).
std::string host_header_value(const LoadOptions& options);

}  // namespace ringshard::load
