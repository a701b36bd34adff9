#include "proxy/reverse_proxy.h"

#include <set>
#include <utility>

#include "proxy/forward_headers.h"
#include "proxy/proxy_shard.h"
#include "proxy/route_table.h"
#include "proxy/upstream_health.h"

namespace ringshard::proxy {

ReverseProxy::ReverseProxy(ReverseProxyOptions options) : options_(std::move(options)) {}

ReverseProxy::~ReverseProxy() = default;

std::unique_ptr<ReverseProxy> ReverseProxy::create(ReverseProxyOptions options,
                                                   std::string& error) {
  if (auto e = validate_proxy_config(options.upstreams, options.routes)) {
    error = std::string(e->is_route ? "route " : "upstream ") + std::to_string(e->index + 1) +
            ": " + e->error.text();
    return nullptr;
  }
  std::unique_ptr<ReverseProxy> rp(new ReverseProxy(std::move(options)));
  rp->resolver_ = rp->options_.resolver;
  if (rp->resolver_ == nullptr && !rp->options_.upstreams.empty()) {
    client::Resolver::Options ro;
    rp->owned_resolver_ = client::Resolver::create(ro, error);
    if (rp->owned_resolver_ == nullptr) {
      error = "proxy: name resolution: " + error;
      return nullptr;
    }
    rp->resolver_ = rp->owned_resolver_.get();
  }
  for (const UpstreamGroup& g : rp->options_.upstreams) {
    rp->health_.push_back(std::make_unique<UpstreamHealth>(g));
  }
  for (const ProxyRoute& r : rp->options_.routes) {
    size_t gi = 0;
    while (rp->options_.upstreams[gi].name != r.upstream) ++gi;  // validated above
    rp->route_group_.push_back(gi);
  }
  rp->table_ = std::make_unique<RouteTable>(rp->options_.routes);
  rp->shards_ = std::make_unique<std::atomic<ProxyShard*>[]>(rp->options_.shards);
  for (unsigned i = 0; i < rp->options_.shards; ++i) rp->shards_[i].store(nullptr);
  return rp;
}

void ReverseProxy::register_routes(http::Router& router) {
  // One prefix route per distinct prefix; the route table chooses among
  // the routes that share it (host, methods) and the filter lets a request
  // none of them takes fall through to the server's own routes.
  std::set<std::string> seen;
  for (const ProxyRoute& r : options_.routes) {
    // The router matches prefixes at segment boundaries, the route table
    // byte by byte ("/api" takes "/apix"): the router's prefix is the
    // route's up to its last '/', and the table decides the rest.
    std::string prefix = r.prefix.substr(0, r.prefix.rfind('/'));
    if (!seen.insert(prefix).second) continue;
    http::RouteOptions ro;
    ro.stream_body = true;
    ro.max_body = options_.max_body_bytes != 0 ? options_.max_body_bytes : UINT64_MAX;
    const RouteTable* table = table_.get();
    router.add_prefix(
        prefix,
        [table](const http::Request& req) {
          return table->match(req.host, req.method_text, req.path) != nullptr;
        },
        [this](http::ServerRequest& req, http::Response& res) {
          const size_t route = table_->match_index(req.head().host, req.head().method_text,
                                                   req.head().path);
          ProxyShard* ps = shards_[req.shard().index()].load(std::memory_order_relaxed);
          if (route == RouteTable::kNoRoute || ps == nullptr) {
            res.send_error(404, "no route for this path");
            return;
          }
          ps->handle(route, req, res);
        },
        std::move(ro));
  }
}

void ReverseProxy::shard_started(engine::Shard& shard) {
  if (options_.upstreams.empty() || shard.index() >= options_.shards) return;
  shards_[shard.index()].store(new ProxyShard(*this, shard), std::memory_order_release);
}

void ReverseProxy::shard_draining(engine::Shard& shard) {
  if (ProxyShard* ps = this->shard(shard.index())) ps->drain();
}

void ReverseProxy::shard_stopped(engine::Shard& shard) {
  if (shard.index() >= options_.shards) return;
  delete shards_[shard.index()].exchange(nullptr, std::memory_order_acq_rel);
}

ProxyShard* ReverseProxy::shard(unsigned i) const {
  return i < options_.shards ? shards_[i].load(std::memory_order_acquire) : nullptr;
}

}  // namespace ringshard::proxy
