// The WebSocket modes' report: text for people, JSON for bench/compare.sh.
#include <cstdio>
#include <string>

#include "bench/load/ws_load.h"

namespace ringshard::load {

namespace {

using ull = unsigned long long;

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string latency_text(const Histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f",
                us(h.percentile(0.5)), us(h.percentile(0.9)), us(h.percentile(0.99)),
                us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0);
  return buf;
}

std::string latency_json(const Histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
                us(h.percentile(0.5)), us(h.percentile(0.9)), us(h.percentile(0.99)),
                us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0);
  return buf;
}

std::string errors_text(const ErrorCounts& e) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "  errors %llu: connect %llu, read %llu, timeout %llu, tls %llu, ws %llu, fanout %llu\n",
                static_cast<ull>(e.total()), static_cast<ull>(e.connect), static_cast<ull>(e.read),
                static_cast<ull>(e.timeout), static_cast<ull>(e.tls), static_cast<ull>(e.ws),
                static_cast<ull>(e.fanout));
  return buf;
}

std::string errors_json(const ErrorCounts& e) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"total\":%llu,\"connect\":%llu,\"read\":%llu,\"timeout\":%llu,\"tls\":%llu,"
                "\"ws\":%llu,\"fanout\":%llu}",
                static_cast<ull>(e.total()), static_cast<ull>(e.connect), static_cast<ull>(e.read),
                static_cast<ull>(e.timeout), static_cast<ull>(e.tls), static_cast<ull>(e.ws),
                static_cast<ull>(e.fanout));
  return buf;
}

std::string url(const LoadOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return std::string(o.tls ? "wss://" : "ws://") + (v6 ? "[" : "") + o.host + (v6 ? "]" : "") + ":" +
         std::to_string(o.port) + o.path;
}

// Server CPU per unit, or a negative value when not measured.
double per(double cpu_s, uint64_t n) { return cpu_s >= 0 && n > 0 ? cpu_s * 1e6 / static_cast<double>(n) : -1; }

std::string number_or_null(double v, const char* format) {
  if (v < 0) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

}  // namespace

std::string format_ws_text(const LoadOptions& o, const LoadResult& r) {
  const WsResult& w = r.ws;
  char buf[1024];
  std::string out;
  const double cpu_per = per(w.server_cpu_s, o.ws == WsMode::kFanout ? w.deliveries : w.messages);
  if (o.ws == WsMode::kEcho) {
    const double mbps = r.duration_s > 0 ? static_cast<double>(w.messages * o.ws_size) / r.duration_s / 1e6 : 0;
    std::snprintf(buf, sizeof(buf),
                  "ringshard-load: ws-echo %s, %u connections, %u threads, %llu-byte %s messages, "
                  "depth %u%s\n"
                  "  messages %llu in %.2f s: %.0f msg/s, %.1f MB/s each way, %llu connections opened\n"
                  "  latency us: %s\n",
                  url(o).c_str(), o.connections, o.threads, static_cast<ull>(o.ws_size),
                  o.ws_binary ? "binary" : "text", o.depth,
                  o.ws_deflate ? (", deflate offered, " + std::to_string(w.deflate) + " accepted").c_str() : "",
                  static_cast<ull>(w.messages), r.duration_s, r.rps(), mbps,
                  static_cast<ull>(r.connections), latency_text(r.latency).c_str());
    out = buf;
    if (cpu_per >= 0) {
      std::snprintf(buf, sizeof(buf), "  server CPU %.2f s: %.2f us per message\n", w.server_cpu_s, cpu_per);
      out += buf;
    }
    return out + errors_text(r.errors);
  }
  const double dps = w.window_s > 0 ? static_cast<double>(w.deliveries) / w.window_s : 0;
  const std::string how = o.rate > 0 ? "rate " + std::to_string(static_cast<uint64_t>(o.rate)) + "/s"
                                     : "closed loop, depth " + std::to_string(o.depth);
  std::snprintf(buf, sizeof(buf),
                "ringshard-load: ws-fanout %s, %u subscribers + %u publishers on channel \"%s\", "
                "%u threads, %llu-byte messages, %s\n"
                "  set-up %.2f s (%llu connections opened), closing %.2f s\n"
                "  publications %llu (%llu echoed to their publisher) in %.2f s: %.0f deliveries/s"
                " (%llu deliveries)\n"
                "  delivery latency us: %s\n"
                "  publish round trip us: %s\n",
                url(o).c_str(), o.connections, o.ws_publishers, o.ws_channel.c_str(), o.threads,
                static_cast<ull>(o.ws_size), how.c_str(), w.setup_s, static_cast<ull>(r.connections), w.close_s,
                static_cast<ull>(w.publications), static_cast<ull>(w.acknowledged), w.window_s, dps,
                static_cast<ull>(w.deliveries), latency_text(r.latency).c_str(),
                latency_text(w.publish_latency).c_str());
  out = buf;
  if (cpu_per >= 0) {
    std::snprintf(buf, sizeof(buf), "  server CPU %.2f s: %.3f us per delivery\n", w.server_cpu_s, cpu_per);
    out += buf;
  }
  if (w.mismatched == 0) {
    std::snprintf(buf, sizeof(buf), "  check: all %llu members got all %llu publications exactly once\n",
                  static_cast<ull>(w.members), static_cast<ull>(w.publications));
  } else {
    std::snprintf(buf, sizeof(buf),
                  "  ERROR: %llu of %llu members did not get every publication exactly once: "
                  "%llu missing, %llu duplicates, %llu out of order\n",
                  static_cast<ull>(w.mismatched), static_cast<ull>(w.members),
                  static_cast<ull>(w.missing), static_cast<ull>(w.duplicates),
                  static_cast<ull>(w.out_of_order));
  }
  out += buf;
  return out + errors_text(r.errors);
}

std::string format_ws_json(const LoadOptions& o, const LoadResult& r) {
  const WsResult& w = r.ws;
  char buf[2048];
  if (o.ws == WsMode::kEcho) {
    const double mbps = r.duration_s > 0 ? static_cast<double>(w.messages * o.ws_size) / r.duration_s / 1e6 : 0;
    std::snprintf(
        buf, sizeof(buf),
        "{\"mode\":\"ws-echo\",\"url\":\"%s\",\"connections\":%u,\"threads\":%u,\"size\":%llu,"
        "\"depth\":%u,\"binary\":%s,\"deflate_offered\":%s,\"deflate_accepted\":%llu,"
        "\"requests\":%llu,\"messages\":%llu,\"duration_s\":%.3f,\"rps\":%.1f,\"mps\":%.1f,"
        "\"mb_per_s\":%.2f,\"connections_opened\":%llu,\"bytes_in\":%llu,\"payload_out\":%llu,"
        "\"payload_in\":%llu,\"errors\":%s,\"latency_us\":%s,\"server_cpu_s\":%s,"
        "\"server_cpu_us_per_message\":%s}\n",
        url(o).c_str(), o.connections, o.threads, static_cast<ull>(o.ws_size), o.depth,
        o.ws_binary ? "true" : "false", o.ws_deflate ? "true" : "false", static_cast<ull>(w.deflate),
        static_cast<ull>(r.requests), static_cast<ull>(w.messages), r.duration_s, r.rps(), r.rps(), mbps,
        static_cast<ull>(r.connections), static_cast<ull>(r.bytes_in), static_cast<ull>(w.payload_out),
        static_cast<ull>(w.payload_in), errors_json(r.errors).c_str(), latency_json(r.latency).c_str(),
        number_or_null(w.server_cpu_s, "%.3f").c_str(),
        number_or_null(per(w.server_cpu_s, w.messages), "%.3f").c_str());
    return buf;
  }
  const double dps = w.window_s > 0 ? static_cast<double>(w.deliveries) / w.window_s : 0;
  const double pps = w.window_s > 0 ? static_cast<double>(w.publications) / w.window_s : 0;
  std::snprintf(
      buf, sizeof(buf),
      "{\"mode\":\"ws-fanout\",\"url\":\"%s\",\"subscribers\":%u,\"publishers\":%u,\"threads\":%u,"
      "\"size\":%llu,\"depth\":%u,\"rate\":%.0f,\"deflate_offered\":%s,\"deflate_accepted\":%llu,"
      "\"publications\":%llu,\"acknowledged\":%llu,\"deliveries\":%llu,\"member_receipts\":%llu,"
      "\"members\":%llu,\"setup_s\":%.3f,\"window_s\":%.3f,\"close_s\":%.3f,\"duration_s\":%.3f,"
      "\"deliveries_per_s\":%.1f,\"publications_per_s\":%.1f,\"connections_opened\":%llu,"
      "\"bytes_in\":%llu,\"check\":{\"mismatched\":%llu,\"missing\":%llu,\"duplicates\":%llu,"
      "\"out_of_order\":%llu},\"errors\":%s,\"latency_us\":%s,\"publish_latency_us\":%s,"
      "\"server_cpu_s\":%s,\"server_cpu_us_per_delivery\":%s}\n",
      url(o).c_str(), o.connections, o.ws_publishers, o.threads, static_cast<ull>(o.ws_size), o.depth,
      o.rate, o.ws_deflate ? "true" : "false", static_cast<ull>(w.deflate),
      static_cast<ull>(w.publications), static_cast<ull>(w.acknowledged), static_cast<ull>(w.deliveries),
      static_cast<ull>(w.member_receipts), static_cast<ull>(w.members), w.setup_s, w.window_s, w.close_s,
      r.duration_s, dps, pps, static_cast<ull>(r.connections), static_cast<ull>(r.bytes_in),
      static_cast<ull>(w.mismatched), static_cast<ull>(w.missing), static_cast<ull>(w.duplicates),
      static_cast<ull>(w.out_of_order), errors_json(r.errors).c_str(), latency_json(r.latency).c_str(),
      latency_json(w.publish_latency).c_str(), number_or_null(w.server_cpu_s, "%.3f").c_str(),
      number_or_null(per(w.server_cpu_s, w.deliveries), "%.4f").c_str());
  return buf;
}

}  // namespace ringshard::load
