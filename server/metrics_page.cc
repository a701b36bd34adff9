#include "server/metrics_page.h"

#include <array>
#include <string_view>
#include <vector>

#include "obs/histogram.h"
#include "obs/process_stats.h"
#include "obs/prometheus.h"
#include "server/server_app.h"

namespace ringshard::server {

namespace {

using obs::MetricType;

constexpr std::string_view kUnmatched = "(unmatched)";

// One counter summed over shards, or per shard with a `shard` label.
template <typename F>
void per_shard(obs::PrometheusWriter& w, const ServerApp& app, std::string_view name,
               MetricType type, std::string_view help, F&& get) {
  w.family(name, type, help);
  const unsigned n = app.shard_count();
  for (unsigned i = 0; i < n; ++i) {
    const std::string shard = std::to_string(i);
    w.sample({{"shard", shard}}, get(i));
  }
}

template <typename F>
void summed(obs::PrometheusWriter& w, const ServerApp& app, std::string_view name, MetricType type,
            std::string_view help, F&& get) {
  uint64_t total = 0;
  for (unsigned i = 0; i < app.shard_count(); ++i) total += get(i);
  w.family(name, type, help);
  w.sample({}, total);
}

void write_routes(obs::PrometheusWriter& w, const ServerApp& app) {
  // Routes: the main router's, "unmatched", then the admin router's.
  struct RouteLabel {
    std::string_view route, method;
  };
  std::vector<RouteLabel> labels;
  const http::Router& main = app.router();
  for (size_t i = 0; i < main.size(); ++i) labels.push_back({main.pattern(i), main.method_text(i)});
  labels.push_back({kUnmatched, "*"});
  if (const http::Router* admin = app.admin_router()) {
    for (size_t i = 0; i < admin->size(); ++i) {
      labels.push_back({admin->pattern(i), admin->method_text(i)});
    }
  }
  w.family("ringshard_http_requests_total", MetricType::kCounter,
           "HTTP requests answered, by route pattern, method and status code");
  for (size_t r = 0; r < labels.size(); ++r) {
    for (size_t code = 0; code < 500; ++code) {
      uint64_t n = 0;
      for (unsigned s = 0; s < app.shard_count(); ++s) {
        const http::HttpServer* hs = app.http_server(s);
        if (hs == nullptr || r >= hs->route_stats().size()) continue;
        n += hs->route_stats()[r]->by_status[code].get();
      }
      if (n == 0) continue;
      const std::string c = std::to_string(code + 100);
      w.sample({{"route", labels[r].route}, {"method", labels[r].method}, {"code", c}}, n);
    }
  }
  w.family("ringshard_http_request_duration_seconds", MetricType::kHistogram,
           "time from a request's dispatch to its response written, by route pattern");
  for (size_t r = 0; r < labels.size(); ++r) {
    obs::HistogramSnapshot snap;
    for (unsigned s = 0; s < app.shard_count(); ++s) {
      const http::HttpServer* hs = app.http_server(s);
      if (hs == nullptr || r >= hs->route_stats().size()) continue;
      snap.add(hs->route_stats()[r]->latency);
    }
    if (snap.count() == 0) continue;
    w.histogram({{"route", labels[r].route}, {"method", labels[r].method}}, snap);
  }
}

}  // namespace

std::string render_metrics(const ServerApp& app) {
  std::string out;
  out.reserve(16 * 1024);
  obs::PrometheusWriter w(out);
  w.family("ringshard_build_info", MetricType::kGauge,
           "build of the running binary (always 1; the labels carry the information)");
  w.sample({{"version", RINGSHARD_VERSION}, {"io_uring", app.ring_mode()}}, 1);
  w.family("ringshard_shards", MetricType::kGauge, "shards (threads with their own ring)");
  w.sample({}, uint64_t{app.shard_count()});

  auto eng = [&](unsigned i) -> const engine::ShardMetrics& { return app.shard_metrics(i); };
  per_shard(w, app, "ringshard_connections_accepted_total", MetricType::kCounter,
            "connections accepted", [&](unsigned i) { return eng(i).accepted.get(); });
  per_shard(w, app, "ringshard_connections_active", MetricType::kGauge,
            "connections open now (inbound and outbound)", [&](unsigned i) { return eng(i).open.get(); });
  per_shard(w, app, "ringshard_connections_closed_total", MetricType::kCounter,
            "connections closed", [&](unsigned i) {
              const uint64_t a = eng(i).accepted.get(), o = eng(i).open.get();
              return a > o ? a - o : 0;
            });
  per_shard(w, app, "ringshard_connections_refused_total", MetricType::kCounter,
            "connections refused at accept (connection cap reached or draining)",
            [&](unsigned i) { return eng(i).rejected.get() + app.connections_refused(i); });
  per_shard(w, app, "ringshard_network_receive_bytes_total", MetricType::kCounter,
            "bytes received from sockets", [&](unsigned i) { return eng(i).bytes_in.get(); });
  per_shard(w, app, "ringshard_network_transmit_bytes_total", MetricType::kCounter,
            "bytes sent on sockets", [&](unsigned i) { return eng(i).bytes_out.get(); });
  per_shard(w, app, "ringshard_mailbox_messages_total", MetricType::kCounter,
            "cross-shard messages run", [&](unsigned i) { return eng(i).mailbox_in.get(); });
  per_shard(w, app, "ringshard_mailbox_backlogged_total", MetricType::kCounter,
            "cross-shard messages that waited in a sender backlog (a full mailbox)",
            [&](unsigned i) { return eng(i).mailbox_backlogged.get(); });
  per_shard(w, app, "ringshard_shard_tasks_total", MetricType::kCounter,
            "tasks posted to the shard from any thread (Shard::post_task) and run",
            [&](unsigned i) { return eng(i).tasks_run.get(); });
  per_shard(w, app, "ringshard_loop_turns_total", MetricType::kCounter, "event loop turns",
            [&](unsigned i) { return eng(i).loop_turns.get(); });
  per_shard(w, app, "ringshard_completions_total", MetricType::kCounter,
            "io_uring completions reaped (over loop turns: completions per wake-up)",
            [&](unsigned i) { return eng(i).completions.get(); });
  per_shard(w, app, "ringshard_batched_waits_total", MetricType::kCounter,
            "loop waits that held out for a batch of completions ([engine] batch_wait_us)",
            [&](unsigned i) { return eng(i).batched_waits.get(); });

  write_routes(w, app);
  auto http = [&](unsigned i) -> const http::HttpMetrics* {
    const http::HttpServer* s = app.http_server(i);
    return s != nullptr ? &s->metrics() : nullptr;
  };
  summed(w, app, "ringshard_http_request_bytes_total", MetricType::kCounter,
         "request bytes (heads and bodies) received",
         [&](unsigned i) { return http(i) ? http(i)->bytes_in.get() : 0; });
  summed(w, app, "ringshard_http_response_bytes_total", MetricType::kCounter,
         "response bytes (heads and bodies) written",
         [&](unsigned i) { return http(i) ? http(i)->bytes_out.get() : 0; });
  w.family("ringshard_http_parse_errors_total", MetricType::kCounter,
           "requests refused before routing, by the status they got");
  for (size_t k = 0; k < http::kParseErrorKinds.size(); ++k) {
    uint64_t n = 0;
    for (unsigned i = 0; i < app.shard_count(); ++i) n += http(i) ? http(i)->parse_errors_by_kind[k].get() : 0;
    w.sample({{"kind", http::kParseErrorKinds[k].name}}, n);
  }
  w.family("ringshard_timeouts_total", MetricType::kCounter, "timeouts, by kind");
  const std::array<std::pair<std::string_view, uint64_t (*)(const http::HttpMetrics&)>, 5> kinds = {{
      {"http_header", [](const http::HttpMetrics& m) { return m.header_timeouts.get(); }},
      {"http_body", [](const http::HttpMetrics& m) { return m.body_timeouts.get(); }},
      {"http_idle", [](const http::HttpMetrics& m) { return m.idle_closes.get(); }},
      {"http_deferred", [](const http::HttpMetrics& m) { return m.deferred_timeouts.get(); }},
      {"drain_idle", [](const http::HttpMetrics& m) { return m.drain_idle_closes.get(); }},
  }};
  for (size_t k = 0; k < kinds.size(); ++k) {
    uint64_t n = 0;
    for (unsigned i = 0; i < app.shard_count(); ++i) n += http(i) ? kinds[k].second(*http(i)) : 0;
    w.sample({{"kind", kinds[k].first}}, n);
  }
  {
    uint64_t connect = 0, tls = 0;
    for (unsigned i = 0; i < app.shard_count(); ++i) {
      connect += eng(i).connect_timeouts.get();
      if (const tls::TlsTransport* t = app.tls_transport(i)) tls += t->metrics().handshake_timeouts.get();
    }
    w.sample({{"kind", "connect"}}, connect);
    w.sample({{"kind", "tls_handshake"}}, tls);
  }
  summed(w, app, "ringshard_http_handler_exceptions_total", MetricType::kCounter,
         "route handlers that threw (answered 500)",
         [&](unsigned i) { return http(i) ? http(i)->handler_exceptions.get() : 0; });
  summed(w, app, "ringshard_http_body_stream_errors_total", MetricType::kCounter,
         "streamed request bodies that ended in an error (client gone, timeout, malformed, too large)",
         [&](unsigned i) { return http(i) ? http(i)->body_stream_errors.get() : 0; });
  summed(w, app, "ringshard_http_pushed_response_aborts_total", MetricType::kCounter,
         "pushed (streamed) responses aborted: the client left, the stall deadline, or the application",
         [&](unsigned i) { return http(i) ? http(i)->writer_aborts.get() : 0; });

  if (app.tls_enabled()) {
    auto tlsm = [&](unsigned i) -> const tls::TlsMetrics* {
      const tls::TlsTransport* t = app.tls_transport(i);
      return t != nullptr ? &t->metrics() : nullptr;
    };
    summed(w, app, "ringshard_tls_handshakes_total", MetricType::kCounter, "TLS handshakes completed",
           [&](unsigned i) { return tlsm(i) ? tlsm(i)->handshakes.get() : 0; });
    summed(w, app, "ringshard_tls_resumptions_total", MetricType::kCounter,
           "TLS handshakes resumed with a session ticket",
           [&](unsigned i) { return tlsm(i) ? tlsm(i)->resumed.get() : 0; });
    summed(w, app, "ringshard_tls_handshake_failures_total", MetricType::kCounter,
           "TLS handshakes that failed",
           [&](unsigned i) { return tlsm(i) ? tlsm(i)->handshake_failures.get() : 0; });
  }

  auto wsm = [&](unsigned i) -> const ws::WsMetrics& { return app.ws_metrics(i); };
  per_shard(w, app, "ringshard_websocket_connections_active", MetricType::kGauge,
            "WebSockets open now", [&](unsigned i) { return wsm(i).open.get(); });
  summed(w, app, "ringshard_websocket_upgrades_total", MetricType::kCounter,
         "WebSocket upgrades (101 sent)", [&](unsigned i) { return wsm(i).upgrades.get(); });
  summed(w, app, "ringshard_websocket_topic_listener_errors_total", MetricType::kCounter,
         "topic listeners (WsServer::add_topic_listener) that threw",
         [&](unsigned i) { return wsm(i).listener_errors.get(); });
  w.family("ringshard_websocket_messages_total", MetricType::kCounter,
           "WebSocket messages, by direction");
  {
    uint64_t in = 0, outm = 0;
    for (unsigned i = 0; i < app.shard_count(); ++i) {
      in += wsm(i).messages_in.get();
      outm += wsm(i).messages_out.get();
    }
    w.sample({{"direction", "in"}}, in);
    w.sample({{"direction", "out"}}, outm);
  }
  w.family("ringshard_websocket_closes_total", MetricType::kCounter,
           "WebSockets the server closed for a reason of its own, by close code");
  {
    const std::array<std::pair<std::string_view, uint64_t (*)(const ws::WsMetrics&)>, 4> codes = {{
        {"1002", [](const ws::WsMetrics& m) { return m.protocol_errors.get(); }},
        {"1007", [](const ws::WsMetrics& m) { return m.invalid_utf8.get(); }},
        {"1008", [](const ws::WsMetrics& m) { return m.slow_consumers.get(); }},
        {"1009", [](const ws::WsMetrics& m) { return m.too_big.get(); }},
    }};
    for (const auto& [code, get] : codes) {
      uint64_t n = 0;
      for (unsigned i = 0; i < app.shard_count(); ++i) n += get(wsm(i));
      w.sample({{"code", code}}, n);
    }
  }

  for (const http::Middleware* m : app.middleware()) m->write_metrics(w);
  app.write_extra_metrics(w);

  obs::ProcessStats ps;
  if (obs::read_process_stats(ps, nullptr)) obs::write_process_metrics(w, ps);
  return out;
}

}  // namespace ringshard::server
