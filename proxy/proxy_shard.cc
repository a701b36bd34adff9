#include "proxy/proxy_shard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <span>
#include <utility>

#include "client/proxy_env.h"
#include "engine/socket_address.h"
#include "proxy/forward.h"
#include "proxy/forward_headers.h"
#include "proxy/hash.h"
#include "proxy/request_key.h"
#include "proxy/reverse_proxy.h"

namespace ringshard::proxy {
namespace {

// The client's view of one backend of a group.
client::UpstreamOptions upstream_options(const UpstreamGroup& g, const Backend& b) {
  client::UpstreamOptions o;
  std::string_view host;
  split_host_port(b.address, host, o.port);
  o.host = std::string(host);
  o.tls.enabled = g.tls.enabled;
  o.tls.verify_peer = g.tls.verify;
  o.tls.ca_file = g.tls.ca_file;
  o.tls.server_name = !b.server_name.empty() ? b.server_name : g.tls.server_name;
  o.tls.pins = g.tls.pins;
  o.pool.max_connections = g.pool.max_connections;
  if (g.breaker.max_connections != 0) {
    o.pool.max_connections = std::min(o.pool.max_connections, g.breaker.max_connections);
  }
  o.pool.max_idle = std::min(g.pool.max_idle, o.pool.max_connections);
  o.pool.max_waiters = g.pool.max_waiting;
  if (g.breaker.max_pending != 0) {
    o.pool.max_waiters = std::min(o.pool.max_waiters, g.breaker.max_pending);
  }
  o.pool.wait_timeout_ms = g.pool.wait_timeout_ms;
  o.pool.idle_timeout_ms = g.pool.idle_timeout_ms;
  o.timeouts.connect_ms = g.timeouts.connect_ms;
  o.timeouts.first_byte_ms = g.timeouts.first_byte_ms;
  o.timeouts.idle_body_ms = g.timeouts.idle_ms;
  o.timeouts.total_ms = g.timeouts.request_ms;
  o.retry.max_retries = g.retry.attempts > 0 ? g.retry.attempts - 1 : 0;
  o.retry.base_ms = g.retry.base_ms;
  o.retry.cap_ms = g.retry.cap_ms;
  o.retry.statuses = g.retry.retry_on;
  o.retry.budget_ratio = g.retry.budget_percent / 100.0;
  o.retry.budget_min_concurrent = g.retry.min_retries;
  if (!g.forward_proxy.empty()) {
    std::string error;  // validated with the configuration
    if (auto url = client::parse_proxy_url(g.forward_proxy, error)) {
      o.proxy = client::UpstreamProxy{url->host, url->port, url->basic_authorization()};
    }
  }
  return o;
}

// One backend's active health probe: a GET of the check path through the
// backend's pool, with the check's own deadline. One object per backend,
// reused: the checker has at most one probe in flight per backend.
class Probe final : public client::ResponseSink {
 public:
  Probe(GroupShard& g, size_t backend, ProxyShard& ps) : g_(g), backend_(backend), ps_(ps) {
    timer_.callback = &Probe::timed_out;
    timer_.context = this;
  }
  ~Probe() override {
    ps_.shard().timers().disarm(timer_);
    exchange_.cancel();
  }
  void start(client::Upstream& pool) {
    status_ = 0;
    finished_ = false;
    client::ClientRequest req;
    req.method = "GET";
    req.target = g_.config->health.path;
    build_health_probe(g_.config->health, g_.config->backends[backend_].address, req.raw_head);
    ps_.shard().timers().arm(timer_, ps_.now_ms() + g_.config->health.timeout_ms);
    exchange_ = ps_.client().start(pool, std::move(req), *this);
  }
  void on_head(const client::ResponseHeadView& head) override { status_ = head.status; }
  bool on_body(std::string_view) override { return true; }
  void on_end() override { done(status_); }
  void on_error(client::ClientError, std::string_view) override { done(0); }

 private:
  static void timed_out(engine::TimerEntry& e) {
    auto* p = static_cast<Probe*>(e.context);
    p->exchange_.cancel();
    p->done(0);
  }
  void done(uint16_t status) {
    if (finished_) return;
    finished_ = true;
    ps_.shard().timers().disarm(timer_);
    g_.probes.add();
    const HealthConfig& h = g_.config->health;
    if (status == 0 || status < h.expected_min || status > h.expected_max) {
      g_.probe_failures.add();
    }
    g_.checker->report(backend_, status, ps_.now_ms());
    ps_.schedule_checks(g_);
  }
  GroupShard& g_;
  size_t backend_;
  ProxyShard& ps_;
  engine::TimerEntry timer_;
  client::ExchangeHandle exchange_;
  uint16_t status_ = 0;
  bool finished_ = true;
};

}  // namespace

ProxyShard::ProxyShard(ReverseProxy& proxy, engine::Shard& shard)
    : proxy_(proxy), shard_(shard), tunnels_(shard) {
  resolver_ = std::make_unique<client::ShardResolver>(shard, *proxy.resolver_);
  client::HttpClient::Options co;
  client::ShardResolver* cache = resolver_.get();
  co.resolve = [cache](std::string_view host, uint16_t port, client::Resolver::Callback done) {
    cache->resolve(host, port, std::move(done));
  };
  client_ = std::make_unique<client::HttpClient>(shard, std::move(co));
  const auto& upstreams = proxy.options_.upstreams;
  for (size_t gi = 0; gi < upstreams.size(); ++gi) {
    const UpstreamGroup& cfg = upstreams[gi];
    auto g = std::make_unique<GroupShard>();
    g->config = &cfg;
    g->index = gi;
    g->health = proxy.health_[gi].get();
    g->balancer = make_balancer(cfg, shard.index() + 1);
    g->backends = std::vector<BackendShard>(cfg.backends.size());  // not movable: built in place
    for (size_t bi = 0; bi < cfg.backends.size(); ++bi) {
      BackendShard& b = g->backends[bi];
      b.breaker = std::make_unique<CircuitBreaker>(cfg.breaker);
      std::string error;
      b.pool = client_->upstream(upstream_options(cfg, cfg.backends[bi]), error);
      if (b.pool == nullptr) {
        log_warn("proxy: upstream " + cfg.name + " backend " + cfg.backends[bi].address + ": " +
                 error);
      }
    }
    if (shard.index() == 0 && !cfg.health.path.empty()) start_checks(*g);
    groups_.push_back(std::move(g));
  }
}

ProxyShard::~ProxyShard() {
  // Probes and forwards hold exchange handles into the client: they go
  // first, then the client (which closes its connections without further
  // callbacks).
  for (auto& g : groups_) shard_.timers().disarm(g->check_timer);
  groups_.clear();
  free_.clear();
  all_.clear();
  client_.reset();
}

bool ProxyShard::logging() const {
  return proxy_.options_.log != nullptr && proxy_.options_.log->enabled(obs::LogLevel::kWarn);
}

void ProxyShard::log_warn(std::string_view message) const {
  if (proxy_.options_.log != nullptr) {
    proxy_.options_.log->log(obs::LogLevel::kWarn, static_cast<int>(shard_.index()), message);
  }
}

Forward* ProxyShard::acquire_forward() {
  if (!free_.empty()) {
    Forward* f = free_.back();
    free_.pop_back();
    return f;
  }
  all_.push_back(std::make_unique<Forward>(*this));
  return all_.back().get();
}

void ProxyShard::release_forward(Forward* f) { free_.push_back(f); }

size_t ProxyShard::pick(GroupShard& g, uint64_t key_hash, size_t exclude, bool& breaker_full) {
  const uint64_t now = shard_.now_ms();
  bool saw_breaker = false;
  auto eligible = [&](size_t i) {
    if (i == exclude || !g.health->available(i, now)) return false;
    if (g.backends[i].breaker->open(CircuitBreaker::kRequest)) {
      saw_breaker = true;
      return false;
    }
    return true;
  };
  const size_t i = g.balancer->pick(key_hash, eligible);
  breaker_full = i == kNone && saw_breaker;
  return i;
}

namespace {

// The client's address as text ("192.0.2.1", "2001:db8::1"), into `buf`.
std::string_view peer_text(const http::ServerRequest& req, char (&buf)[engine::kAddressTextMax]) {
  socklen_t len = 0;
  return engine::address_text(req.peer(len), buf, sizeof(buf));
}

// A WebSocket upgrade, by the same list rule the WebSocket server applies
// (every Upgrade field, comma lists, case-insensitive).
bool is_websocket_upgrade(const http::Request& req) {
  if (req.method != http::Method::kGet || !req.upgrade) return false;
  const std::span<const http::Header> fields(req.headers.data(), req.header_count);
  return !http::for_each_list_element(
      fields, "upgrade", [](std::string_view item) { return !http::iequals(item, "websocket"); });
}

}  // namespace

void ProxyShard::handle(size_t route_index, http::ServerRequest& req, http::Response& res) {
  const ProxyRoute& route = proxy_.options_.routes[route_index];
  GroupShard& g = *groups_[proxy_.route_group_[route_index]];
  char peer_buf[engine::kAddressTextMax];
  const std::string_view peer = peer_text(req, peer_buf);
  const http::Request& head = req.head();
  const std::span<const http::Header> fields(head.headers.data(), head.header_count);
  const uint64_t key_hash = g.config->balance == BalancePolicy::kMaglev
                                ? request_key_hash(g.config->hash_key, fields, peer)
                                : 0;
  bool breaker_full = false;
  const size_t backend = pick(g, key_hash, kNone, breaker_full);
  if (backend == kNone) {
    (breaker_full ? g.metrics.breaker_open : g.metrics.no_backend).add();
    res.send_error(503, breaker_full ? "every upstream server is at its request limit"
                                     : "no healthy upstream server");
    return;
  }
  const bool websocket = route.websocket && is_websocket_upgrade(head);
  http::RequestBodyReader body = req.body_reader();
  ForwardRequest fr;
  fr.method = head.method_text;
  fr.path = head.path;
  fr.query = head.query;
  fr.version_minor = head.version_minor;
  fr.headers = fields;
  fr.host = head.host;
  fr.client_address = peer;
  fr.tls = req.tls();
  fr.backend_host = g.config->backends[backend].address;
  fr.websocket = websocket;
  if (const http::RequestContext* ctx = res.context()) fr.request_id = ctx->request_id_view();
  fr.via_name = proxy_.options_.via;
  if (body.valid() && body.has_body()) {
    if (const auto length = body.length()) {
      fr.body = ForwardRequest::Body::kLength;
      fr.content_length = *length;
    } else {
      fr.body = ForwardRequest::Body::kChunked;
    }
  }
  client::ClientRequest upstream;
  upstream.method.assign(head.method_text);
  upstream.target.assign(head.path);
  const ForwardResult built = build_upstream_request(fr, route, upstream.raw_head);
  if (!built.ok) {
    res.send_error(400, "the request cannot be forwarded as it is");
    return;
  }
  Forward* f = acquire_forward();
  f->start(g, backend, key_hash, req, res, std::move(upstream), websocket);
}

void ProxyShard::drain() {
  draining_ = true;
  for (auto& g : groups_) shard_.timers().disarm(g->check_timer);
  client_->close_idle();
}

// --- active health checks (shard 0) ------------------------------------------

void ProxyShard::start_checks(GroupShard& g) {
  g.checker = std::make_unique<HealthChecker>(g.config->health, *g.health,
                                              /*seed=*/g.index + 1, shard_.now_ms());
  g.check_timer.callback = &ProxyShard::check_timer_fired;
  g.check_timer.context = &g;
  g.owner = this;
  for (size_t i = 0; i < g.backends.size(); ++i) {
    g.probes_by_backend.push_back(std::make_unique<Probe>(g, i, *this));
  }
  schedule_checks(g);
}

void ProxyShard::check_timer_fired(engine::TimerEntry& e) {
  auto* g = static_cast<GroupShard*>(e.context);
  ProxyShard& ps = *g->owner;
  if (ps.draining_) return;
  g->checker->poll(ps.shard_.now_ms(), [&](size_t i) { ps.probe(*g, i); });
  ps.schedule_checks(*g);
}

void ProxyShard::schedule_checks(GroupShard& g) {
  const uint64_t due = g.checker->next_due_ms();
  if (due == UINT64_MAX || draining_) return;
  shard_.timers().arm(g.check_timer, std::max(due, shard_.now_ms()));
}

void ProxyShard::probe(GroupShard& g, size_t backend) {
  client::Upstream* pool = g.backends[backend].pool;
  if (pool == nullptr) {
    g.checker->report(backend, 0, shard_.now_ms());
    return;
  }
  static_cast<Probe*>(g.probes_by_backend[backend].get())->start(*pool);
}

}  // namespace ringshard::proxy
