// --ws-stream's report: text for people, JSON for bench/compare.sh.
#include <cstdio>
#include <string>

#include "bench/load/stream_load.h"
#include "json/json.h"

namespace ringshard::load {

namespace {

using ull = unsigned long long;

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string url(const LoadOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return std::string(o.tls ? "wss://" : "ws://") + (v6 ? "[" : "") + o.host + (v6 ? "]" : "") + ":" +
         std::to_string(o.port) + o.path;
}

}  // namespace

std::string format_stream_text(const LoadOptions& o, const LoadResult& r) {
  const StreamResult& s = r.stream;
  const Histogram& h = r.latency;
  const Histogram& c = s.create_latency;
  char buf[2048];
  std::snprintf(
      buf, sizeof(buf),
      "ringshard-load: ws-stream %s, %u subscribers (%llu open), %s %s x %llu\n"
      "  set-up %.2f s; %llu creates in %.2f s, %llu failed\n"
      "  delivery us (create sent -> \"%s\" event), %llu of %llu subscriber x event:\n"
      "    p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n"
      "  missed %llu (of which late %llu), duplicates %llu, before the create's answer %llu,"
      " other messages %llu\n"
      "  create us: p50 %.1f  p99 %.1f  max %.1f\n"
      "  errors %llu: connect %llu, read %llu, parse %llu, status %llu, timeout %llu, tls %llu,"
      " ws %llu, stream %llu\n",
      url(o).c_str(), o.connections, static_cast<ull>(s.subscribers), o.method.c_str(),
      o.stream_post_path.c_str(), static_cast<ull>(o.requests), s.setup_s, static_cast<ull>(s.creates),
      r.duration_s, static_cast<ull>(s.creates_failed), o.stream_event_status.c_str(),
      static_cast<ull>(s.samples), static_cast<ull>(s.expected), us(h.percentile(0.5)),
      us(h.percentile(0.9)), us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()),
      h.mean() / 1000.0, static_cast<ull>(s.missed), static_cast<ull>(s.late),
      static_cast<ull>(s.duplicates), static_cast<ull>(s.before_answer),
      static_cast<ull>(s.other_messages), us(c.percentile(0.5)), us(c.percentile(0.99)), us(c.max()),
      static_cast<ull>(r.errors.total()), static_cast<ull>(r.errors.connect),
      static_cast<ull>(r.errors.read), static_cast<ull>(r.errors.parse),
      static_cast<ull>(r.errors.status), static_cast<ull>(r.errors.timeout),
      static_cast<ull>(r.errors.tls), static_cast<ull>(r.errors.ws), static_cast<ull>(r.errors.stream));
  std::string out = buf;
  if (s.server_cpu_s >= 0) {
    std::snprintf(buf, sizeof(buf), "  server cpu %.3f s over the creates (--server-pid %d)\n",
                  s.server_cpu_s, o.server_pid);
    out += buf;
  }
  if (!s.stopped.empty()) out += "  stopped early: " + s.stopped + "\n";
  return out;
}

std::string format_stream_json(const LoadOptions& o, const LoadResult& r) {
  const StreamResult& s = r.stream;
  const Histogram& h = r.latency;
  const Histogram& c = s.create_latency;
  char buf[2048];
  std::snprintf(
      buf, sizeof(buf),
      "{\"mode\":\"ws-stream\",\"subscribers\":%u,\"subscribers_open\":%llu,\"creates_requested\":%llu,"
      "\"creates\":%llu,\"creates_failed\":%llu,\"expected\":%llu,\"samples\":%llu,\"missed\":%llu,"
      "\"late\":%llu,\"duplicates\":%llu,\"before_answer\":%llu,\"other_messages\":%llu,"
      "\"setup_s\":%.3f,\"duration_s\":%.3f,\"connections_opened\":%llu,\"bytes_in\":%llu,"
      "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
      "\"mean\":%.1f},"
      "\"create_latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
      "\"errors\":{\"total\":%llu,\"connect\":%llu,\"read\":%llu,\"parse\":%llu,\"status\":%llu,"
      "\"timeout\":%llu,\"tls\":%llu,\"ws\":%llu,\"stream\":%llu}",
      o.connections, static_cast<ull>(s.subscribers), static_cast<ull>(o.requests),
      static_cast<ull>(s.creates), static_cast<ull>(s.creates_failed), static_cast<ull>(s.expected),
      static_cast<ull>(s.samples), static_cast<ull>(s.missed), static_cast<ull>(s.late),
      static_cast<ull>(s.duplicates), static_cast<ull>(s.before_answer),
      static_cast<ull>(s.other_messages), s.setup_s, r.duration_s, static_cast<ull>(r.connections),
      static_cast<ull>(r.bytes_in), us(h.percentile(0.5)), us(h.percentile(0.9)),
      us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0,
      us(c.percentile(0.5)), us(c.percentile(0.9)), us(c.percentile(0.99)), us(c.max()),
      static_cast<ull>(r.errors.total()), static_cast<ull>(r.errors.connect),
      static_cast<ull>(r.errors.read), static_cast<ull>(r.errors.parse),
      static_cast<ull>(r.errors.status), static_cast<ull>(r.errors.timeout),
      static_cast<ull>(r.errors.tls), static_cast<ull>(r.errors.ws), static_cast<ull>(r.errors.stream));
  std::string out = buf;
  if (s.server_cpu_s >= 0) {
    std::snprintf(buf, sizeof(buf), ",\"server_cpu_s\":%.3f", s.server_cpu_s);
    out += buf;
  }
  out += ",\"stopped\":";
  json::append_string(out, s.stopped);
  out += "}\n";
  return out;
}

}  // namespace ringshard::load
