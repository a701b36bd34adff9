// proxy/request_key.h: the value a consistent-hash policy hashes for a
// request (UpstreamGroup::hash_key): a header's value, a cookie's value,
// or the client's address, and its hash64() (proxy/hash.h).
//
// A request without the header or cookie (or with it empty) falls back to
// the client's address, so it is still sticky per client. Header values
// are hashed as received (first field of that name); a cookie is found
// in the Cookie field(s) by exact name ("a=1; b=2": cookie "b" is "2").
//
// Pure; views into the request; no allocation; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "http/request.h"
#include "proxy/config.h"

namespace ringshard::proxy {

// The value of cookie `name` in the Cookie field(s) of `headers`, or an
// empty view.
std::string_view find_cookie(std::span<const http::Header> headers, std::string_view name);

// The bytes hashed for this request: the header or cookie value, else
// `client_address`.
std::string_view request_key(const HashKey& key, std::span<const http::Header> headers,
                             std::string_view client_address);

// hash64() of request_key(); what Balancer::pick() takes.
uint64_t request_key_hash(const HashKey& key, std::span<const http::Header> headers,
                          std::string_view client_address);

}  // namespace ringshard::proxy
