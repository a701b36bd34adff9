// server/rate_limit_setup.h: the rate-limit and compression middleware as
// the Options ask for them ([[rate_limit]], [rate_limits], [compression]).
//
//   std::string error;
//   auto rl = make_rate_limit_middleware(options, shards, error);
//   if (!rl && !error.empty()) { /* refuse to start: exit 78 */ }
//   if (rl) app.add_middleware(rl.get());   // rl must outlive the server
//
// Each returns the middleware, or null with `error` empty when the
// options turn it off (no rules; compression disabled), or null with a
// one-line `error` naming the setting when the options are invalid (they
// were validated when loaded, so that means a caller built Options by
// hand). `shards`: the number of shards that will run (per-shard state).
//
// Order among the global middleware (outermost first): compression, then
// request id, ..., then rate limit (see http/mw_compression.h and
// http/mw_rate_limit.h for why).
//
// Control plane: allocates (the rate-limit table: 16 bytes per slot of
// rate_limit_table_capacity rounded up to a power of two; the compression
// state per shard lazily, on first use).
#pragma once

#include <memory>
#include <string>

#include "http/middleware.h"
#include "server/options.h"

namespace ringshard::server {

std::unique_ptr<http::Middleware> make_rate_limit_middleware(const Options& options,
                                                             unsigned shards,
                                                             std::string& error);

std::unique_ptr<http::Middleware> make_compression_middleware(const Options& options,
                                                              unsigned shards,
                                                              std::string& error);

}  // namespace ringshard::server
