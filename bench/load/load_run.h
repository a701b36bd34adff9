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
// WebSocket modes (options.ws) run through run_ws_load (ws_load.h) and fill
// the `ws` part of the result; the stream delivery mode (--ws-stream) runs
// through run_stream_load (stream_load.h) and fills `stream`.
//
// Control plane: run_load() blocks until the run is over.
#pragma once

#include <sys/socket.h>

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
  uint64_t ws = 0;       // WebSocket: refused upgrade, bad frame, wrong echo,
                         // unexpected close or chat error
  uint64_t fanout = 0;   // fan-out: publications missing, repeated or out of
                         // order at a member
  uint64_t stream = 0;   // stream: events a subscriber missed or got twice
  uint64_t total() const {
    return connect + read + parse + status + timeout + tls + ws + fanout + stream;
  }
  void add(const ErrorCounts& o) {
    connect += o.connect;
    stream += o.stream;
    tls += o.tls;
    ws += o.ws;
    fanout += o.fanout;
    read += o.read;
    parse += o.parse;
    status += o.status;
    timeout += o.timeout;
  }
};

// The WebSocket modes' own figures.
struct WsResult {
  uint64_t messages = 0;       // echo: echoes received and checked (also in requests)
  uint64_t payload_out = 0;    // payload bytes sent (before compression)
  uint64_t payload_in = 0;     // payload bytes received (after inflation)
  uint64_t deflate = 0;        // connections that negotiated permessage-deflate
  uint64_t publications = 0;   // fan-out: channel messages sent
  uint64_t acknowledged = 0;   // fan-out: of which echoed back to their publisher
  uint64_t deliveries = 0;     // fan-out: publications received by subscribers
  uint64_t member_receipts = 0;  // fan-out: by subscribers and publishers
  uint64_t members = 0;        // fan-out: connections checked (subscribers + publishers)
  uint64_t mismatched = 0;     // fan-out: members that did not get every publication once
  uint64_t missing = 0;        // fan-out: publications a member never got (summed)
  uint64_t duplicates = 0;     // fan-out: publications a member got twice
  uint64_t out_of_order = 0;   // fan-out: a member got a later one first
  double setup_s = 0;          // fan-out: connect and join, before the first publication
  double window_s = 0;         // fan-out: first publication to last delivery
  double close_s = 0;          // closing handshakes at the end (close frame to FIN)
  double server_cpu_s = -1;    // --server-pid: over the measured window; -1: not measured
  Histogram publish_latency;   // fan-out: publication to its echo at the publisher
};

// The stream delivery mode's figures (stream_load.h). Latency samples are
// in LoadResult::latency: one per subscriber and event, from the create's
// send to the event's arrival at that subscriber.
struct StreamResult {
  uint64_t subscribers = 0;     // open when the first create was sent
  uint64_t creates = 0;         // answered with the expected status and an id
  uint64_t creates_failed = 0;  // another status, no id, no answer
  uint64_t expected = 0;        // subscribers (all of them) x creates
  uint64_t samples = 0;         // of which arrived within --timeout (timed)
  uint64_t missed = 0;          // expected - samples
  uint64_t duplicates = 0;      // an event a subscriber had already got
  uint64_t late = 0;            // arrived after its --timeout (in missed)
  uint64_t before_answer = 0;   // samples that arrived before the create's answer
  uint64_t other_messages = 0;  // messages that were not a timed event (ignored)
  double setup_s = 0;           // connects and upgrades of every subscriber
  double server_cpu_s = -1;     // --server-pid: first create to last event; -1: not measured
  Histogram create_latency;     // a create's send to its answer
  std::string stopped;          // why it stopped before --requests creates; empty if it did not
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
  WsResult ws;               // WebSocket modes; latency is per echo or per delivery
  StreamResult stream;       // --ws-stream; latency is per subscriber and event
  double rps() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
};

LoadResult run_load(const LoadOptions& options);

// The target's address from options.host (an IP literal or "localhost",
// see engine/socket_address.h) and options.port; false if it is neither.
bool resolve_target(const LoadOptions& options, sockaddr_storage& addr, socklen_t& len);

std::string format_text(const LoadOptions& options, const LoadResult& result);
std::string format_json(const LoadOptions& options, const LoadResult& result);

}  // namespace ringshard::load
