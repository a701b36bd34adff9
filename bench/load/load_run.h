// bench/load/load_run.h: ringshard-load's engine: N load shards, each an
// engine shard (io_uring connect, send, multishot receive) driving its share
// of the connections, validating every response (status and framing) and
// recording latency.
//
// In constant-rate mode every request has an intended send time on a fixed
// schedule, and its latency is measured from that time, not from when it
// could actually be sent: a stalled server is charged for the requests it
// delayed (no coordinated omission).
//
// Over TLS (https://) every connection goes through the shard's TLS client
// transport (tls/client.h): requests are sent once its handshake is done, so
// latency is request to response and the handshake shows in the request
// rate; handshakes and resumptions are counted per connection.
//
// Control plane: run_load() blocks until the run is over.
#pragma once

#include <cstdint>
#include <string>

#include "bench/load/histogram.h"
#include "bench/load/load_options.h"

namespace ringshard::load {

struct ErrorCounts {
  uint64_t connect = 0;  // connect failed
  uint64_t read = 0;     // connection closed or reset before a full response
  uint64_t parse = 0;    // malformed response (status line, headers, framing)
  uint64_t status = 0;   // unexpected status code
  uint64_t timeout = 0;  // no response within --timeout
  uint64_t tls = 0;      // TLS handshake failed, cut off or timed out
  uint64_t total() const { return connect + read + parse + status + timeout + tls; }
  void add(const ErrorCounts& o) {
    connect += o.connect;
    tls += o.tls;
    read += o.read;
    parse += o.parse;
    status += o.status;
    timeout += o.timeout;
  }
};

struct LoadResult {
  uint64_t requests = 0;     // valid responses with the expected status
  uint64_t connections = 0;  // connections opened
  uint64_t bytes_in = 0;     // HTTP bytes (plaintext over TLS)
  uint64_t handshakes = 0;   // TLS handshakes completed
  uint64_t resumed = 0;      // of which resumed with a session ticket
  double duration_s = 0;
  ErrorCounts errors;
  Histogram latency;         // nanoseconds
  std::string fatal;         // set when the run could not start
  double rps() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
};

LoadResult run_load(const LoadOptions& options);

std::string format_text(const LoadOptions& options, const LoadResult& result);
std::string format_json(const LoadOptions& options, const LoadResult& result);

}  // namespace ringshard::load
