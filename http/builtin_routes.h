// http/builtin_routes.h: the routes every ringshard serves.
//
//   GET /plaintext  "Hello, World!" (text/plain), the benchmark endpoint
//   GET /json       {"message":"Hello, World!"} (application/json)
//   GET /health     {"status":"healthy","version":"0.1.0","uptime":42}: the
//                   process is up (uptime in whole seconds since start)
//   GET /ready      {"status":"ready"}, or 503 with the standard error body
//                   while the shard drains or while the application says it
//                   is not ready (HealthInfo::not_ready)
//   GET /bytes/{n}  n bytes (0..1 GiB) of application/octet-stream, streamed
//                   with backpressure: byte k is k % 251 (bulk-transfer
//                   benchmarks and checksummed download tests)
//
// Control plane: call once while building the Router.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/router.h"

namespace ringshard::http {

// What /health and /ready report about the application. Shared by the
// routes (main listener and admin listener), read from any shard.
struct HealthInfo {
  std::string version;      // the server's version, as --version prints it
  uint64_t started_ms = 0;  // CLOCK_MONOTONIC milliseconds at start (uptime)
  // "" when ready, else why not ("plugin deployments is not ready"). Any
  // thread; null: always ready.
  std::function<std::string()> not_ready;
};

// `health` must be non-null.
void add_builtin_routes(Router& router, std::shared_ptr<const HealthInfo> health);

// {"status":"healthy","version":"...","uptime":N}, as of now.
std::string health_body(const HealthInfo& health);

// Byte k of a /bytes/{n} body.
inline char bytes_pattern(uint64_t k) { return static_cast<char>(k % 251); }

}  // namespace ringshard::http
