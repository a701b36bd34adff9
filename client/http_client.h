// client/http_client.h: the outbound HTTP/1.1 client of one shard, with a
// connection pool per upstream. Plugins and the reverse proxy use it from
// handlers on the shard's own ring; nothing blocks.
//
//   client::HttpClient http(shard, {});                    // per shard
//   std::string error;
//   client::UpstreamOptions uo;
//   uo.host = "127.0.0.1"; uo.port = 8080;
//   client::Upstream* up = http.upstream(uo, error);       // pool; null + error
//   // Buffered:
//   client::ClientRequest req; req.target = "/api";
//   http.request(*up, std::move(req), [](client::ClientResult&& r) { ... });
//   // Streamed: a ResponseSink gets on_head / on_body / on_end / on_error.
//   client::ExchangeHandle h = http.start(*up, std::move(req), sink);
//   h.cancel();                                            // e.g. client gone
//
// What it does per request: takes an idle keep-alive connection (LIFO) or
// opens one (name resolution through Options::resolve, addresses tried in
// order), or queues the request when the upstream's connection cap is
// reached (bounded queue, wait timeout). Sends the request, reads the
// response with http::ResponseParser (strict; a malformed response is
// kBadResponse and never reaches the sink), skips 1xx, hands over the
// connection on 101, decodes Content-Length, chunked and close-delimited
// bodies. Timeouts: connect, first byte, idle body, total. Through a
// forward proxy: absolute-form targets for plain upstreams, a CONNECT
// tunnel with TLS inside for TLS ones. A request that
// fails on a reused connection before any response byte is replayed once
// on a new connection when it is idempotent (or has an Idempotency-Key)
// and buffered; other retries follow the upstream's RetryOptions (backoff
// with full jitter on the shard's timer wheel, retry budget; a retry the
// budget refuses ends the exchange with that attempt's own error and
// counts in budget_exhausted). Idle pooled
// connections keep a read armed: a peer close or stray bytes drop them at
// once.
//
// Ownership: the client owns its upstreams (pointers stay valid for its
// life), their connections and the exchanges; a ResponseSink is the
// caller's and must outlive its exchange (until its final callback or
// cancel()); an ExchangeHandle must not be used after the client is gone.
// Destroying the client closes every connection without further
// callbacks and cancels the exchanges (on the shard thread). A connection
// handed over after a 101 is the caller's and outlives the client.
//
// Thread: one client per shard, used only on that shard's thread;
// metrics (client_metrics.h) may be read from any thread.
// Allocation: per upstream and per connection (control plane); per request
// the ClientRequest's strings, recycled exchange slots, and for request()
// the result it builds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_metrics.h"
#include "client/proxy_env.h"
#include "client/request.h"
#include "client/resolver.h"
#include "client/upstream.h"
#include "engine/shard.h"
#include "http/response_parser.h"

namespace ringshard::client {

class HttpClient;
class Upstream;
struct Exchange;
struct UpstreamConnection;

// Refers to one exchange; stale (all calls no-ops) once it ended. Copyable.
class ExchangeHandle {
 public:
  ExchangeHandle() = default;
  // Ends the exchange now; no sink callback follows. Its connection is
  // closed if a request or response was in flight on it.
  void cancel();
  // After on_body returned false: delivery continues (maybe at once).
  void resume();
  // kStreamed body. Takes `chunk` and returns true, or takes nothing and
  // returns false when the exchange cannot take it now (not connected yet,
  // send queue full): on_body_writable() follows when it can.
  bool write(std::string_view chunk);
  // The body is complete (the chunked terminator goes out). Idempotent.
  void end();
  bool active() const;

 private:
  friend class HttpClient;
  ExchangeHandle(HttpClient* c, uint32_t index, uint32_t generation)
      : client_(c), index_(index), generation_(generation) {}
  Exchange* get() const;
  HttpClient* client_ = nullptr;
  uint32_t index_ = 0;
  uint32_t generation_ = 0;
};

class HttpClient {
 public:
  // Streamed bodies: the sink's on_body_writable() says when write() may
  // take more; the first byte timeout starts at end(), so a slow upload
  // is bounded by the total timeout only.

  // Name resolution: ShardResolver::resolve's shape. The shard's resolver
  // is wired as [&cache](auto h, auto p, auto done) { cache.resolve(h, p,
  // std::move(done)); }. Without one, only IP literals and "localhost".
  using ResolveFn =
      std::function<void(std::string_view host, uint16_t port, Resolver::Callback done)>;

  struct Options {
    ResolveFn resolve;
    uint64_t jitter_seed = 0;  // 0: seeded from the clock and the shard
    // Forward proxies from the environment (client/proxy_env.h:
    // https_proxy, http_proxy, no_proxy): an upstream without its own
    // UpstreamOptions::proxy goes through the one for its scheme unless
    // no_proxy names it. Null: only per-upstream proxies.
    std::shared_ptr<const ProxyEnv> env_proxy;
  };

  HttpClient(engine::Shard& shard, Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The pool for these options (existing one with the same upstream_key).
  // Null with `error` set on a bad configuration: TLS context creation
  // failed, no host.
  Upstream* upstream(const UpstreamOptions& options, std::string& error);

  // Starts an exchange. The sink gets its callbacks later (or on_error
  // before this returns, when the request cannot be queued).
  ExchangeHandle start(Upstream& up, ClientRequest request, ResponseSink& sink);

  // Buffered: `done` gets the status, headers and body (at most
  // max_body bytes, else kBadResponse) or the error.
  void request(Upstream& up, ClientRequest request,
               std::function<void(ClientResult&&)> done, size_t max_body = 8u << 20);

  // Closes every idle pooled connection (e.g. before a drain).
  void close_idle();

  engine::Shard& shard() const { return shard_; }

 private:
  friend class ExchangeHandle;
  friend class Upstream;
  class Handler;
  struct BufferedSink;

  ExchangeHandle start_exchange(Upstream& up, ClientRequest request, ResponseSink& sink,
                                std::unique_ptr<ResponseSink> owned);

  // pool.cc: connections.
  void acquire(Exchange& ex);
  void open_connection(Upstream& up, Exchange* ex);
  void resolved(UpstreamConnection& uc, Resolution&& r);
  void connect_next(UpstreamConnection& uc);
  void connection_ready(UpstreamConnection& uc);
  // tunnel.cc: CONNECT through a forward proxy, then TLS inside.
  void open_tunnel(UpstreamConnection& uc);
  void on_tunnel_data(UpstreamConnection& uc, std::string_view data);
  void tunnel_failed(UpstreamConnection& uc, ClientError kind, std::string detail);
  void release(UpstreamConnection& uc);     // back to the pool (keep-alive)
  void drop(UpstreamConnection& uc);        // detach and close
  void forget(UpstreamConnection& uc);      // free (deferred while in use)
  void connection_closed(UpstreamConnection& uc);
  void connection_failed(UpstreamConnection& uc, ClientError kind, std::string_view detail);
  void idle_timed_out(UpstreamConnection& uc);
  void serve_waiters(Upstream& up);
  static void wait_timer_fired(engine::TimerEntry& e);
  static void total_timer_fired(engine::TimerEntry& e);

  // exchange.cc: one request and its response.
  Exchange* allocate_exchange();
  void free_exchange(Exchange& ex);
  void bind(Exchange& ex, UpstreamConnection& uc);
  void send_request(Exchange& ex);
  void on_response_data(UpstreamConnection& uc, std::string_view data);
  // False: stop reading this receive (the exchange ended or moved on).
  bool on_head_complete(UpstreamConnection& uc, Exchange& ex, std::string_view rest);
  bool valid_request(const ClientRequest& req) const;
  bool deliver(UpstreamConnection& uc, Exchange& ex, std::string_view piece);
  void response_complete(UpstreamConnection& uc, Exchange& ex);
  void response_eof(UpstreamConnection& uc);
  void leave(UpstreamConnection& uc);  // end of a handler turn on uc
  void unbind(Exchange& ex);
  bool take_retry(Exchange& ex);
  void schedule_retry(Exchange& ex);
  void upgrade(UpstreamConnection& uc, Exchange& ex, std::string_view rest);
  void attempt_failed(Exchange& ex, ClientError kind, std::string_view detail,
                      bool stale_candidate);
  void finish_error(Exchange& ex, ClientError kind, std::string_view detail);
  void finish_ok(Exchange& ex);
  void detach(Exchange& ex);  // from its connection, queue and timers
  void cancel(Exchange& ex);
  void resume(Exchange& ex);
  bool write_body(Exchange& ex, std::string_view chunk);
  void end_body(Exchange& ex);
  bool alive(const Exchange* ex, uint32_t generation) const;

  engine::Shard& shard_;
  Options options_;
  std::unique_ptr<engine::ConnectionHandler> handler_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;  // slots, recycled
  std::vector<uint32_t> free_exchanges_;
  std::unique_ptr<http::ParsedResponse> parsed_;  // scratch: one head at a time
  std::string head_;  // scratch: the request head being written
  std::shared_ptr<bool> alive_;  // lets late resolver answers see we are gone
};

// The shard's ShardResolver as the client's resolver (it must outlive the
// client).
inline HttpClient::ResolveFn resolve_with(ShardResolver& resolver) {
  return [&resolver](std::string_view host, uint16_t port, Resolver::Callback done) {
    resolver.resolve(host, port, std::move(done));
  };
}

}  // namespace ringshard::client
