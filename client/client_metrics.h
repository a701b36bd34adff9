// client/client_metrics.h: counters of one upstream's pool on one shard.
//
// Written by the owning shard only (engine::Counter: relaxed load+store),
// readable from any thread (a /metrics scrape sums the shards). The latency
// histogram covers a whole exchange, retries included, from start to the
// last body byte. No allocation.
#pragma once

#include <array>
#include <cstdint>

#include "client/client_error.h"
#include "engine/metrics.h"
#include "obs/histogram.h"

namespace ringshard::client {

struct UpstreamMetrics {
  engine::Counter requests;        // exchanges started
  // Final responses by class: [1] 1xx (101 only) ... [5] 5xx, [0] other.
  std::array<engine::Counter, 6> responses;
  std::array<engine::Counter, kClientErrorCount> errors;  // by ClientError
  engine::Counter connects;        // connections opened (TCP + TLS done)
  engine::Counter connect_attempts;  // addresses tried
  engine::Counter reuses;          // requests sent on an idle pooled connection
  engine::Counter retries;         // attempts after backoff (budgeted)
  engine::Counter stale_retries;   // replays after a reused connection failed
  engine::Counter budget_exhausted;  // retries the budget refused
  engine::Counter wait_queued;     // requests that waited for a connection
  engine::Counter wait_timeouts;   // of which timed out (pool_timeout)
  engine::Counter idle_closed;     // idle connections closed: timeout, peer, extra bytes
  engine::Counter active;          // gauge: connections carrying an exchange
  engine::Counter idle;            // gauge: connections waiting in the pool
  engine::Counter open;            // gauge: all connections, connecting included
  obs::Histogram latency;

  uint64_t error_count(ClientError e) const { return errors[static_cast<size_t>(e)].get(); }
};

}  // namespace ringshard::client
