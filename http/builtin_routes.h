// http/builtin_routes.h: the routes every ringshard serves.
//
//   GET /plaintext  "Hello, World!" (text/plain), the benchmark endpoint
//   GET /json       {"message":"Hello, World!"} (application/json)
//   GET /health     {"status":"ok"}: the process is up
//   GET /ready      {"status":"ready"}, or 503 while the shard drains
//   GET /bytes/{n}  n bytes (0..1 GiB) of application/octet-stream, streamed
//                   with backpressure: byte k is k % 251 (bulk-transfer
//                   benchmarks and checksummed download tests)
//
// Control plane: call once while building the Router.
#pragma once

#include <cstdint>

#include "http/router.h"

namespace ringshard::http {

void add_builtin_routes(Router& router);

// Byte k of a /bytes/{n} body.
inline char bytes_pattern(uint64_t k) { return static_cast<char>(k % 251); }

}  // namespace ringshard::http
