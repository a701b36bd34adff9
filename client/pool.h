// client/pool.h: one upstream's connection pool on one shard (Upstream) and
// the state of each pooled connection (UpstreamConnection).
//
// Upstream holds the options, the metrics, the TLS context and transport,
// the idle connections (a LIFO stack: the most recently used is the most
// likely to be alive and warm), the bounded FIFO of requests waiting for a
// connection at the cap, the retry budget and backoff. HttpClient drives it
// (pool.cc); callers only read options() and metrics().
//
// Thread: the owning client's shard; metrics from any thread. Allocation:
// one UpstreamConnection per connection opened.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "client/client_metrics.h"
#include "client/retry.h"
#include "client/upstream.h"
#include "engine/connection.h"
#include "engine/socket_address.h"
#include "http/chunked.h"
#include "http/response_parser.h"
#include "tls/transport.h"

namespace ringshard::client {

class HttpClient;
struct Exchange;
struct UpstreamConnection;

class Upstream {
 public:
  Upstream(HttpClient& client, const UpstreamOptions& options, std::string key,
           uint64_t seed);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  const UpstreamOptions& options() const { return options_; }
  const std::string& key() const { return key_; }
  UpstreamMetrics& metrics() { return metrics_; }
  const UpstreamMetrics& metrics() const { return metrics_; }
  size_t open_connections() const { return conns_.size(); }
  size_t idle_connections() const { return idle_.size(); }
  size_t waiting() const { return waiters_.size(); }

 private:
  friend class HttpClient;

  HttpClient& client_;
  UpstreamOptions options_;
  std::string key_;
  std::string authority_;      // Host header value
  std::string target_prefix_;  // "http://authority" through a forward proxy
  std::string connect_request_;  // "CONNECT host:port ..." for a TLS upstream
                                 // behind a forward proxy; else empty
  std::string sni_;
  UpstreamMetrics metrics_;
  std::shared_ptr<const tls::ClientContext> tls_context_;
  std::unique_ptr<tls::TlsTransport> tls_transport_;
  std::vector<std::unique_ptr<UpstreamConnection>> conns_;  // every open one
  std::vector<UpstreamConnection*> idle_;                   // LIFO
  std::deque<Exchange*> waiters_;                           // FIFO
  RetryBudget budget_;
  Backoff backoff_;
  Jitter jitter_;
};

// The handler of a connection handed over after a 101 until its new owner
// sets its own: it closes on any input and outlives every client, so a
// connection never points at a destroyed client.
engine::ConnectionHandler& orphan_handler();

// How far the response on a connection has been read.
enum class ReadPhase : uint8_t { kHead, kLength, kChunked, kUntilClose, kDone };

enum class ConnState : uint8_t {
  kResolving,   // waiting for the resolver
  kConnecting,  // TCP connect (and TLS handshake) in flight
  kTunnel,      // CONNECT sent to the forward proxy, waiting for its 2xx
  kBusy,        // carrying an exchange (or opened for one that left)
  kIdle,        // in the pool, read armed, idle timer running
  kClosing,     // close() called; on_close frees it
};

struct UpstreamConnection {
  Upstream* up = nullptr;
  engine::Connection* conn = nullptr;
  Exchange* ex = nullptr;
  ConnState state = ConnState::kResolving;
  bool reused = false;        // has completed a response before
  bool peer_closed = false;   // EOF seen: never back to the pool
  bool tunnel_open = false;   // the proxy's 2xx came; TLS runs inside
  // Why the connect failed when it was not an errno (a proxy's refusal).
  ClientError fail_kind = ClientError::kNone;
  std::string fail_detail;
  int connect_error = 0;      // errno of the last failed connect
  std::string tls_failure;    // the TLS layer's reason for it (verification, pin)
  std::vector<engine::SocketAddress> addresses;
  size_t next_address = 0;
  // Response reading.
  ReadPhase phase = ReadPhase::kHead;
  bool head_request = false;
  bool keep_alive = true;
  uint64_t body_left = 0;
  http::ResponseParser parser;
  http::ChunkedDecoder chunked;
  std::string carry;  // a partial head or chunk line across receives
  // Delivery paused by the sink: decoded body bytes held until resume().
  bool paused = false;
  bool end_pending = false;
  std::string held;
  uint32_t in_handler = 0;  // >0 while our code runs on the stack for it
  bool dead = false;        // on_close ran while in_handler: free on the way out

  UpstreamConnection(Upstream& u, const http::ResponseParserLimits& limits,
                     const http::ChunkedLimits& chunk_limits)
      : up(&u), parser(limits), chunked(chunk_limits) {}
};

}  // namespace ringshard::client
