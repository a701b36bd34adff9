// server/plugin_fetch.cc: rs_host_api::http_fetch, plugins' outbound HTTP
// through the shard's client (client/http_client.h).
//
// Each shard gets one HttpClient for all plugins, made on the first fetch
// there (a shard whose plugins never fetch pays nothing), and the process
// one c-ares resolver thread, started by the first fetch anywhere. Every
// fetch is remembered until its callback has run, so a shard that stops
// first answers the rest with "shutdown" before the plugins' shard_stop.
#include <exception>
#include <string>
#include <utility>

#include "client/url.h"
#include "server/plugin_internal.h"

namespace ringshard::server {
namespace {

constexpr size_t kDefaultMaxBody = 8u << 20;

void call_plugin(const PluginFetchShard::Pending& p, const rs_http_response& response) {
  try {
    p.fn(p.user, p.shard, &response);
  } catch (...) {
    p.shard->plugin->rt->failure(p.shard->plugin, static_cast<int>(p.shard->index),
                                 "http_fetch callback", "threw: " + exception_text());
  }
}

void answer_error(const PluginFetchShard::Pending& p, std::string_view error,
                  std::string_view detail) {
  rs_http_response r{};
  r.error = rs(error);
  r.detail = rs(detail);
  call_plugin(p, r);
}

PluginFetchShard& fetch_shard(PluginRuntime& rt, unsigned index, engine::Shard& shard) {
  std::unique_ptr<PluginFetchShard>& slot = rt.fetch[index];
  if (slot != nullptr) return *slot;
  std::call_once(rt.resolver_once, [&rt] {
    client::Resolver::Options ro;
    rt.resolver = client::Resolver::create(ro, rt.resolver_error);
  });
  slot = std::make_unique<PluginFetchShard>();
  client::HttpClient::Options co;
  co.env_proxy = rt.fetch_proxy;
  if (rt.resolver != nullptr) {
    slot->resolver = std::make_unique<client::ShardResolver>(shard, *rt.resolver);
    client::ShardResolver* cache = slot->resolver.get();
    co.resolve = [cache](std::string_view host, uint16_t port, client::Resolver::Callback done) {
      cache->resolve(host, port, std::move(done));
    };
  } else {
    rt.log_line(obs::LogLevel::kWarn, static_cast<int>(index), nullptr,
                "http_fetch: no DNS resolver (" + rt.resolver_error +
                    "): only IP literals and localhost resolve");
  }
  slot->client = std::make_unique<client::HttpClient>(shard, std::move(co));
  return *slot;
}

int api_http_fetch(rs_shard* s, const rs_http_request* request, rs_http_fn fn, void* user) {
  if (s == nullptr || request == nullptr || fn == nullptr) return -1;
  rs_host* h = s->plugin;
  PluginRuntime& rt = *h->rt;
  const int index = static_cast<int>(s->index);
  if (!on_shard_thread(s)) {
    rt.log_line(obs::LogLevel::kError, -1, h,
                "http_fetch off its shard's thread (or after shard_stop): refused");
    return -1;
  }
  if (!rt.fetch_proxy_error.empty()) {
    // Going direct would bypass the proxy the operator set; refusing says so.
    rt.log_line(obs::LogLevel::kError, index, h,
                "http_fetch: refused: " + rt.fetch_proxy_error + " (fix or unset it)");
    return -1;
  }
  std::string error;
  std::optional<client::HttpUrl> url = client::parse_http_url(sv(request->url), error);
  if (!url) {
    rt.log_line(obs::LogLevel::kError, index, h, "http_fetch: " + error);
    return -1;
  }
  engine::Shard& shard = *s->shard.load(std::memory_order_relaxed);
  PluginFetchShard& fs = fetch_shard(rt, s->index, shard);

  client::UpstreamOptions uo;
  uo.host = url->host;
  uo.port = url->port;
  uo.tls.enabled = url->tls;
  client::Upstream* up = fs.client->upstream(uo, error);
  if (up == nullptr) {
    rt.log_line(obs::LogLevel::kError, index, h, "http_fetch: " + error);
    return -1;
  }
  client::ClientRequest cr;
  if (request->method.size != 0) cr.method = std::string(sv(request->method));
  cr.target = std::move(url->target);
  if (request->header_count != 0 && request->headers == nullptr) {
    rt.log_line(obs::LogLevel::kError, index, h, "http_fetch: header_count without headers");
    return -1;
  }
  cr.headers.reserve(request->header_count);
  for (size_t i = 0; i < request->header_count; ++i) {
    cr.headers.emplace_back(sv(request->headers[2 * i]), sv(request->headers[2 * i + 1]));
  }
  if (request->body.size != 0) {
    cr.body_mode = client::BodyMode::kBuffered;
    cr.body = std::string(sv(request->body));
  }
  cr.total_ms = request->timeout_ms;
  const size_t max_body = request->max_body != 0 ? request->max_body : kDefaultMaxBody;

  auto it = fs.pending.insert(fs.pending.end(), PluginFetchShard::Pending{fn, user, s});
  PluginFetchShard* owner = &fs;
  fs.client->request(
      *up, std::move(cr),
      [owner, it](client::ClientResult&& r) {
        const PluginFetchShard::Pending p = *it;
        owner->pending.erase(it);
        if (!r.ok()) {
          answer_error(p, client::client_error_name(r.error), r.detail);
          return;
        }
        std::vector<rs_str> fields;
        fields.reserve(r.headers.size() * 2);
        for (const auto& [name, value] : r.headers) {
          fields.push_back(rs(name));
          fields.push_back(rs(value));
        }
        rs_http_response out{};
        out.status = r.status;
        out.headers = fields.data();
        out.header_count = r.headers.size();
        out.body = rs(r.body);
        call_plugin(p, out);
      },
      max_body);
  return 0;
}

}  // namespace

void fill_fetch_api(rs_host_api& api) { api.http_fetch = &api_http_fetch; }

void stop_fetches(PluginRuntime& rt, unsigned index) {
  if (index >= rt.fetch.size() || rt.fetch[index] == nullptr) return;
  std::unique_ptr<PluginFetchShard> fs = std::move(rt.fetch[index]);
  // The client goes first: the callbacks of what it still holds are
  // dropped uncalled, so each pending fetch is answered once, here.
  std::list<PluginFetchShard::Pending> pending = std::move(fs->pending);
  fs->client.reset();
  fs->resolver.reset();
  for (const PluginFetchShard::Pending& p : pending) {
    answer_error(p, "shutdown", "the shard stopped before the response");
  }
}

}  // namespace ringshard::server
