#include "client/http_client.h"

#include <chrono>

#include "client/exchange.h"
#include "client/pool.h"
#include "http/chars.h"

namespace ringshard::client {

namespace {

// Takes over the connections of a destroyed client: no callbacks reach the
// client any more, and the TLS transports live until their last connection
// has closed (the engine calls the transport's on_close after close()).
class Graveyard final : public engine::ConnectionHandler {
 public:
  void on_data(engine::Connection&, std::span<const char>) override {}
  void on_peer_closed(engine::Connection& conn) override { conn.close(); }
  void on_timeout(engine::Connection& conn) override { conn.close(); }
  void on_drain(engine::Connection& conn) override { conn.close(); }
  void on_close(engine::Connection&) override { release(); }
  void release() {
    if (--pending_ == 0) delete this;
  }
  size_t pending_ = 1;  // the client's own reference until it is done
  std::vector<std::unique_ptr<tls::TlsTransport>> transports_;
};

}  // namespace

engine::ConnectionHandler& orphan_handler() {
  // Stateless, so one for the process is harmless; it outlives every client.
  class Orphan final : public engine::ConnectionHandler {
   public:
    void on_data(engine::Connection& conn, std::span<const char>) override { conn.close(); }
  };
  static Orphan orphan;
  return orphan;
}

bool idempotent_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}

std::string_view ResponseHeadView::header(std::string_view name) const {
  for (const http::Header& h : headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return {};
}

std::string_view ClientResult::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (http::iequals(n, name)) return v;
  }
  return {};
}

void ResponseSink::on_upgrade(engine::Connection& conn, std::string_view) { conn.close(); }

std::string upstream_key(const UpstreamOptions& o) {
  std::string k = o.tls.enabled ? "https|" : "http|";
  k += o.host;
  k += '|';
  k += std::to_string(o.port);
  if (o.tls.enabled) {
    k += '|';
    k += o.tls.server_name;
    k += o.tls.verify_peer ? "|v|" : "|nv|";
    k += o.tls.ca_file;
    k += o.tls.allow_tls12 ? "|12" : "|13";
    for (const std::string& p : o.tls.pins) {
      k += "|pin:";
      k += p;
    }
  }
  if (o.proxy) {
    k += "|proxy:";
    k += o.proxy->host;
    k += ':';
    k += std::to_string(o.proxy->port);
    k += o.proxy->authorization.empty() ? "" : "|auth:" + o.proxy->authorization;
  }
  return k;
}

// --- connection events ----------------------------------------------------

class HttpClient::Handler final : public engine::ConnectionHandler {
 public:
  explicit Handler(HttpClient& c) : client_(c) {}

  static UpstreamConnection* state(engine::Connection& conn) {
    return static_cast<UpstreamConnection*>(conn.context());
  }

  void on_open(engine::Connection& conn) override {
    UpstreamConnection* uc = state(conn);
    if (uc == nullptr) return;
    if (!uc->up->connect_request_.empty() && !uc->tunnel_open) {
      client_.open_tunnel(*uc);  // TCP to the proxy is up: CONNECT first
    } else {
      client_.connection_ready(*uc);
    }
  }
  void on_connect_failed(engine::Connection& conn, int error) override {
    if (UpstreamConnection* uc = state(conn)) {
      uc->connect_error = error;
      uc->tls_failure.assign(tls::TlsTransport::failure_reason(conn));
    }
  }
  void on_data(engine::Connection& conn, std::span<const char> data) override {
    UpstreamConnection* uc = state(conn);
    if (uc == nullptr) {
      conn.close();
    } else if (uc->state == ConnState::kTunnel) {
      client_.on_tunnel_data(*uc, std::string_view(data.data(), data.size()));
    } else {
      client_.on_response_data(*uc, std::string_view(data.data(), data.size()));
    }
  }
  void on_writable(engine::Connection& conn) override {
    UpstreamConnection* uc = state(conn);
    if (uc == nullptr || uc->ex == nullptr || uc->ex->request_sent) return;
    uc->ex->sink->on_body_writable();
  }
  void on_peer_closed(engine::Connection& conn) override {
    if (UpstreamConnection* uc = state(conn)) {
      if (uc->state == ConnState::kTunnel) {
        client_.tunnel_failed(*uc, ClientError::kConnectFailed,
                              "the proxy closed before answering CONNECT");
      } else {
        client_.response_eof(*uc);
      }
    } else {
      conn.close();
    }
  }
  void on_timeout(engine::Connection& conn) override {
    UpstreamConnection* uc = state(conn);
    if (uc == nullptr) {
      conn.close();
    } else if (uc->state == ConnState::kIdle) {
      client_.idle_timed_out(*uc);
    } else if (uc->state == ConnState::kTunnel) {
      client_.tunnel_failed(*uc, ClientError::kConnectTimeout,
                            "the proxy did not answer CONNECT in time");
    } else if (uc->ex != nullptr) {
      Exchange& ex = *uc->ex;
      const bool first = !ex.got_byte;
      client_.drop(*uc);
      client_.attempt_failed(ex, first ? ClientError::kFirstByteTimeout : ClientError::kIdleTimeout,
                             first ? "no response byte in time" : "response stalled",
                             /*stale_candidate=*/false);
    } else {
      client_.drop(*uc);
    }
  }
  void on_drain(engine::Connection& conn) override {
    // Idle connections go at once; exchanges in flight finish (their
    // timeouts bound them) and their connections close afterwards.
    UpstreamConnection* uc = state(conn);
    if (uc == nullptr) {
      conn.close();
    } else if (uc->state == ConnState::kIdle) {
      client_.idle_timed_out(*uc);
    }
  }
  void on_close(engine::Connection& conn) override {
    if (UpstreamConnection* uc = state(conn)) client_.connection_closed(*uc);
  }

 private:
  HttpClient& client_;
};

// --- the facade -----------------------------------------------------------

HttpClient::HttpClient(engine::Shard& shard, Options options)
    : shard_(shard),
      options_(std::move(options)),
      handler_(std::make_unique<Handler>(*this)),
      parsed_(std::make_unique<http::ParsedResponse>()),
      alive_(std::make_shared<bool>(true)) {
  if (options_.jitter_seed == 0) {
    options_.jitter_seed =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (uint64_t{shard.index()} << 48) ^ 1;
  }
}

HttpClient::~HttpClient() {
  *alive_ = false;
  for (auto& ex : exchanges_) {
    shard_.timers().disarm(ex->total_timer);
    shard_.timers().disarm(ex->wait_timer);
  }
  auto* graveyard = new Graveyard();
  for (auto& up : upstreams_) {
    if (up->tls_transport_) graveyard->transports_.push_back(std::move(up->tls_transport_));
    for (auto& uc : up->conns_) {
      engine::Connection* conn = uc->conn;
      if (conn == nullptr) continue;
      ++graveyard->pending_;
      conn->set_context(nullptr);
      conn->set_handler(graveyard);
      if (uc->state != ConnState::kClosing) conn->close();
    }
  }
  graveyard->release();
}

Upstream* HttpClient::upstream(const UpstreamOptions& given, std::string& error) {
  UpstreamOptions with_env;
  const UpstreamOptions* chosen = &given;
  if (!given.proxy && options_.env_proxy != nullptr) {
    const ProxyEnv& env = *options_.env_proxy;
    const std::optional<ProxyUrl>& url = given.tls.enabled ? env.https : env.http;
    if (url && !bypass_proxy(env.no_proxy, given.host, given.port)) {
      with_env = given;
      with_env.proxy = UpstreamProxy{url->host, url->port, url->basic_authorization()};
      chosen = &with_env;
    }
  }
  const UpstreamOptions& options = *chosen;
  std::string key = upstream_key(options);
  for (auto& up : upstreams_) {
    if (up->key() == key) return up.get();
  }
  if (options.host.empty()) {
    error = "upstream without a host";
    return nullptr;
  }
  auto up = std::make_unique<Upstream>(*this, options, std::move(key),
                                       options_.jitter_seed + upstreams_.size());
  if (options.tls.enabled) {
    tls::ClientOptions to;
    to.verify_peer = options.tls.verify_peer;
    to.ca_file = options.tls.ca_file;
    to.server_name = up->sni_;
    to.allow_tls12 = options.tls.allow_tls12;
    to.pins = options.tls.pins;
    up->tls_context_ = tls::ClientContext::create(to, error);
    if (!up->tls_context_) return nullptr;
    up->tls_transport_ = std::make_unique<tls::TlsTransport>(
        shard_, up->tls_context_, options.timeouts.connect_ms);
  }
  upstreams_.push_back(std::move(up));
  return upstreams_.back().get();
}

ExchangeHandle HttpClient::start(Upstream& up, ClientRequest request, ResponseSink& sink) {
  return start_exchange(up, std::move(request), sink, nullptr);
}

ExchangeHandle HttpClient::start_exchange(Upstream& up, ClientRequest request, ResponseSink& sink,
                                          std::unique_ptr<ResponseSink> owned) {
  Exchange& ex = *allocate_exchange();
  ex.owned_sink = std::move(owned);
  ex.up = &up;
  ex.sink = &sink;
  ex.req = std::move(request);
  ex.started = std::chrono::steady_clock::now();
  const ExchangeHandle handle(this, ex.index, ex.generation);
  up.metrics_.requests.add();
  up.budget_.request_started();
  if (!valid_request(ex.req)) {
    finish_error(ex, ClientError::kInvalidRequest,
                 "method, target or a header field is not valid HTTP");
    return handle;
  }
  const uint32_t total_ms = ex.req.total_ms != 0 ? ex.req.total_ms : up.options_.timeouts.total_ms;
  if (total_ms != 0) shard_.timers().arm(ex.total_timer, shard_.now_ms() + total_ms);
  acquire(ex);
  return handle;
}

// request()'s sink: collects the response into a ClientResult.
struct HttpClient::BufferedSink final : public ResponseSink {
  std::function<void(ClientResult&&)> done;
  size_t max_body = 0;
  bool overflow = false;
  ClientResult result;

  void on_head(const ResponseHeadView& head) override {
    result.status = head.status;
    result.reason.assign(head.reason);
    result.headers.reserve(head.headers.size());
    for (const http::Header& h : head.headers) result.headers.emplace_back(h.name, h.value);
  }
  bool on_body(std::string_view chunk) override {
    // Past the limit the rest is read and dropped: the connection stays
    // in sync (and reusable) and the caller learns of it at the end.
    if (overflow || result.body.size() + chunk.size() > max_body) {
      overflow = true;
      return true;
    }
    result.body.append(chunk);
    return true;
  }
  void on_end() override {
    if (overflow) {
      ClientResult r;
      r.error = ClientError::kBadResponse;
      r.detail = "response body over " + std::to_string(max_body) + " bytes";
      r.status = result.status;
      done(std::move(r));
      return;
    }
    done(std::move(result));
  }
  void on_error(ClientError error, std::string_view detail) override {
    ClientResult r;
    r.error = error;
    r.detail.assign(detail);
    done(std::move(r));
  }
  // A buffered call cannot take a connection over: the 101 is its answer
  // (status and headers) and the connection closes.
  void on_upgrade(engine::Connection& conn, std::string_view) override {
    conn.close();
    done(std::move(result));
  }
};

void HttpClient::request(Upstream& up, ClientRequest request,
                         std::function<void(ClientResult&&)> done, size_t max_body) {
  auto sink = std::make_unique<BufferedSink>();
  sink->done = std::move(done);
  sink->max_body = max_body;
  BufferedSink& ref = *sink;
  start_exchange(up, std::move(request), ref, std::move(sink));
}

void HttpClient::close_idle() {
  for (auto& up : upstreams_) {
    while (!up->idle_.empty()) idle_timed_out(*up->idle_.back());
  }
}

// --- handles --------------------------------------------------------------

Exchange* ExchangeHandle::get() const {
  if (client_ == nullptr || index_ >= client_->exchanges_.size()) return nullptr;
  Exchange* ex = client_->exchanges_[index_].get();
  return client_->alive(ex, generation_) ? ex : nullptr;
}

bool ExchangeHandle::active() const { return get() != nullptr; }

void ExchangeHandle::cancel() {
  if (Exchange* ex = get()) client_->cancel(*ex);
}

void ExchangeHandle::resume() {
  if (Exchange* ex = get()) client_->resume(*ex);
}

bool ExchangeHandle::write(std::string_view chunk) {
  Exchange* ex = get();
  return ex != nullptr && client_->write_body(*ex, chunk);
}

void ExchangeHandle::end() {
  if (Exchange* ex = get()) client_->end_body(*ex);
}

}  // namespace ringshard::client
