#include "bench/load/load_options.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "bench/load/request_encoder.h"
#include "engine/socket_address.h"

namespace ringshard::load {

namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "10s", "250ms", "2m", bare number = seconds.
bool parse_duration_ms(std::string_view s, uint64_t& out) {
  uint64_t mult = 1000;
  if (s.ends_with("ms")) {
    mult = 1;
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    s.remove_suffix(1);
  } else if (s.ends_with("m")) {
    mult = 60'000;
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (!parse_u64(s, v)) return false;
  out = v * mult;
  return true;
}

bool parse_url(std::string_view url, LoadOptions& o) {
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
    o.tls = false;
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    o.tls = true;
  } else if (url.starts_with("ws://")) {
    url.remove_prefix(5);
    o.tls = false;
    if (o.ws == WsMode::kNone) o.ws = WsMode::kEcho;
  } else if (url.starts_with("wss://")) {
    url.remove_prefix(6);
    o.tls = true;
    if (o.ws == WsMode::kNone) o.ws = WsMode::kEcho;
  } else {
    return false;
  }
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  // A target needs a host: the wildcard ("", "*") is for listening.
  const auto target = engine::parse_host_port(authority, o.tls ? 443 : 80);
  if (!target || target->kind == engine::HostKind::kAny || target->port == 0) return false;
  o.host = target->host;
  o.port = target->port;
  return true;
}

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
// "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) return false;
  }
  return true;
}

// "Name: value": a token, a colon, a value without CR, LF or NUL. The
// framing headers are the generator's own (request_encoder.h): a second
// Content-Length or a Transfer-Encoding would make the request a different
// one than the one counted, and Connection is what --mode decides.
std::string check_header(std::string_view h) {
  const size_t colon = h.find(':');
  if (colon == std::string_view::npos) return "not \"Name: value\"";
  const std::string_view name = h.substr(0, colon);
  if (!is_token(name)) return "the name is not a token";
  if (h.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return "CR, LF or NUL in the line";
  }
  const std::vector<std::string> one{std::string(h)};
  for (const char* own : {"content-length", "transfer-encoding", "connection"}) {
    if (find_header(one, own).data() != nullptr) {
      return std::string(name) + " is set by ringshard-load (--body, --mode)";
    }
  }
  return {};
}

// Control plane: reads the whole file. At most 64 MiB: the request is held
// in memory, --depth times over when pipelining.
bool read_file(const std::string& path, std::string& out, std::string& error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = std::string(std::strerror(errno));
    return false;
  }
  constexpr size_t kMax = 64u << 20;
  out.clear();
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMax) {
      std::fclose(f);
      error = "larger than 64 MiB";
      return false;
    }
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) error = "read error";
  return !failed;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kKeepAlive: return "keepalive";
    case Mode::kPipeline: return "pipeline";
    case Mode::kClose: return "close";
  }
  return "?";
}

const char* ws_mode_name(WsMode m) {
  switch (m) {
    case WsMode::kNone: return "http";
    case WsMode::kEcho: return "ws-echo";
    case WsMode::kFanout: return "ws-fanout";
    case WsMode::kStream: return "ws-stream";
  }
  return "?";
}

std::string load_usage() {
  return R"(usage: ringshard-load URL [options]
  URL                 http://HOST:PORT/PATH (HOST: IPv4, [IPv6] or localhost);
                      https:// for TLS 1.3 (certificate not verified);
                      ws:// or wss:// for a WebSocket mode (--ws-echo by default)
  --connections N     connections, over all threads (64)
  --threads N         load-generator threads (shards) (1)
  --duration D        run time: 10s, 500ms, 1m (10s)
  --requests N        stop after N responses instead of a duration
  --mode M            keepalive | pipeline | close (a new connection per request;
                      over TLS a full handshake each)
  --tls-resume        over TLS, offer the last session ticket received, so
                      new connections resume (close mode: one per request)
  --depth N           requests per pipelined batch (16)
  --rate R            constant rate, requests/s over all connections; latency
                      is measured from each request's intended send time
  --method M          request method, a token: GET, POST, PURGE... (GET)
  --header "K: V"     extra request header (repeatable; sent as given, in
                      order; a Host header replaces the URL's; Content-Length,
                      Transfer-Encoding and Connection are refused)
  --body S            request body, sent with Content-Length (POST, PUT and
                      PATCH send Content-Length: 0 without one)
  --body-file PATH    request body from a file (at most 64 MiB)
                      The request is encoded once; every send reuses it.
  --expect-status N   any other status is an error (200)
  --timeout D         a response slower than this is an error (5s)
  --max-errors N      exit 1 when errors exceed N (0)
  --pin               pin threads to CPUs of the affinity mask
  --json              print the result as JSON
WebSocket (bench/load/ws_load.h):
  --ws-echo           each connection sends messages and waits for their echo
                      (URL path e.g. /ws/echo); --requests counts messages
  --ws-fanout         --connections subscribers join --channel on /ws/chat, then
                      --publishers publish; every subscriber must receive every
                      publication exactly once; --requests counts publications,
                      --duration the publishing time, --rate publications/s
                      (default: closed loop on each publisher's own echo)
  --size N            message payload bytes (32)
  --depth N           messages in flight per connection (1; echo and publishers)
  --binary            binary messages (echo), text otherwise
  --deflate           offer permessage-deflate (and compress what is sent)
  --publishers N      fan-out publisher connections (1)
  --channel NAME      fan-out channel (bench)
  --server-pid PID    report PID's CPU time (utime+stime) over the measured
                      window (fan-out: from the first publication to the last
                      delivery; stream: from the first create to the last event)
Stream delivery latency (bench/load/stream_load.h):
  --ws-stream         --connections subscribers (1000) open the ws:// URL (e.g.
                      /v1/stream?access_token=T); once all are open, --requests
                      times (100), one at a time: --method (POST) --post PATH
                      with --body (a deployment), expecting --expect-status
                      (201) and an "id" in the JSON answer, then the time until
                      every subscriber got {"type":--event-type,
                      "deployment_id":id,"status":--event-status}; --timeout
                      bounds each wait, later events count as missed. --header
                      lines go to the upgrades and the creates. Reports p50/p99
                      over every subscriber x event and the missed ones.
  --post PATH         where the creates go (/v1/deployments)
  --event-type T      the event's "type" (deployment.update)
  --event-status S    the event's "status" timed for each create (pending)
  --settle D          wait after the last subscriber opened (100ms)
Exit: 0 ok, 1 too many errors, 64 bad arguments, 69 cannot run.
)";
}

std::variant<LoadOptions, LoadOptionsError> parse_load_options(int argc, const char* const* argv) {
  LoadOptions o;
  bool have_url = false;
  bool connections_given = false, requests_given = false, method_given = false, expect_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (arg.starts_with("--")) {
      if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto need = [&](std::string_view& v) -> bool {
      if (has_inline) {
        v = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    auto bad = [&](std::string_view what) {
      return LoadOptionsError{"bad value for " + std::string(arg) + ": " + std::string(what)};
    };
    std::string_view v;
    uint64_t n = 0;
    if (arg == "--json") {
      o.json = true;
    } else if (arg == "--pin") {
      o.pin = true;
    } else if (arg == "--tls-resume") {
      o.tls_resume = true;
    } else if (arg == "--ws-echo") {
      o.ws = WsMode::kEcho;
    } else if (arg == "--ws-fanout") {
      o.ws = WsMode::kFanout;
    } else if (arg == "--ws-stream") {
      o.ws = WsMode::kStream;
    } else if (arg == "--binary") {
      o.ws_binary = true;
    } else if (arg == "--deflate") {
      o.ws_deflate = true;
    } else if (arg == "--help" || arg == "-h") {
      return LoadOptionsError{""};
    } else if (!arg.starts_with("--")) {
      if (have_url || !parse_url(arg, o)) return LoadOptionsError{"bad URL: " + std::string(arg)};
      have_url = true;
    } else if (!need(v)) {
      return LoadOptionsError{"missing value for " + std::string(arg)};
    } else if (arg == "--connections") {
      if (!parse_u64(v, n) || n == 0 || n > 1'000'000) return bad(v);
      o.connections = static_cast<unsigned>(n);
      connections_given = true;
    } else if (arg == "--threads") {
      if (!parse_u64(v, n) || n == 0 || n > 1024) return bad(v);
      o.threads = static_cast<unsigned>(n);
    } else if (arg == "--duration") {
      if (!parse_duration_ms(v, o.duration_ms) || o.duration_ms == 0) return bad(v);
    } else if (arg == "--requests") {
      if (!parse_u64(v, o.requests) || o.requests == 0) return bad(v);
      requests_given = true;
    } else if (arg == "--mode") {
      if (v == "keepalive" || v == "keep-alive") {
        o.mode = Mode::kKeepAlive;
      } else if (v == "pipeline" || v == "pipelined") {
        o.mode = Mode::kPipeline;
      } else if (v == "close") {
        o.mode = Mode::kClose;
      } else {
        return bad(v);
      }
    } else if (arg == "--depth") {
      if (!parse_u64(v, n) || n == 0 || n > 1024) return bad(v);
      o.depth = static_cast<unsigned>(n);
      o.depth_given = true;
    } else if (arg == "--rate") {
      if (!parse_u64(v, n) || n == 0) return bad(v);
      o.rate = static_cast<double>(n);
    } else if (arg == "--method") {
      if (!is_token(v)) return bad(std::string(v) + " (a method is a token: GET, POST, PURGE...)");
      o.method = std::string(v);
      method_given = true;
    } else if (arg == "--header") {
      if (const std::string why = check_header(v); !why.empty()) return bad(std::string(v) + ": " + why);
      o.headers.emplace_back(v);
    } else if (arg == "--body" || arg == "--body-file") {
      if (o.body_given) return LoadOptionsError{"give one --body or --body-file"};
      if (arg == "--body") {
        o.body = std::string(v);
      } else if (std::string error; !read_file(std::string(v), o.body, error)) {
        return bad(std::string(v) + ": " + error);
      }
      o.body_given = true;
    } else if (arg == "--expect-status") {
      if (!parse_u64(v, n) || n < 100 || n > 999) return bad(v);
      o.expect_status = static_cast<int>(n);
      expect_given = true;
    } else if (arg == "--post") {
      if (!v.starts_with("/") || v.find_first_of(" \r\n") != std::string_view::npos) return bad(v);
      o.stream_post_path = std::string(v);
    } else if (arg == "--event-type" || arg == "--event-status") {
      // Matched against the JSON string as sent: no quotes or escapes.
      if (v.empty() || v.size() > 128 || v.find_first_of("\"\\") != std::string_view::npos) return bad(v);
      (arg == "--event-type" ? o.stream_event_type : o.stream_event_status) = std::string(v);
    } else if (arg == "--settle") {
      if (!parse_duration_ms(v, o.stream_settle_ms)) return bad(v);
    } else if (arg == "--timeout") {
      if (!parse_duration_ms(v, o.timeout_ms) || o.timeout_ms == 0) return bad(v);
    } else if (arg == "--max-errors") {
      if (!parse_u64(v, o.max_errors)) return bad(v);
    } else if (arg == "--size") {
      if (!parse_u64(v, o.ws_size) || o.ws_size > (64u << 20)) return bad(v);
    } else if (arg == "--publishers") {
      if (!parse_u64(v, n) || n == 0 || n > 1024) return bad(v);
      o.ws_publishers = static_cast<unsigned>(n);
    } else if (arg == "--channel") {
      if (v.empty() || v.size() > 128 || v.find_first_of("\"\\") != std::string_view::npos ||
          std::any_of(v.begin(), v.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; })) {
        return bad(v);
      }
      o.ws_channel = std::string(v);
    } else if (arg == "--server-pid") {
      if (!parse_u64(v, n) || n == 0 || n > 0x7fffffff) return bad(v);
      o.server_pid = static_cast<int>(n);
    } else {
      return LoadOptionsError{"unknown option " + std::string(arg)};
    }
  }
  if (!have_url) return LoadOptionsError{"missing URL"};
  if (o.tls_resume && !o.tls) return LoadOptionsError{"--tls-resume needs an https:// URL"};
  if (o.ws == WsMode::kStream) {
    if (!connections_given) o.connections = kStreamDefaultSubscribers;
    if (!requests_given) o.requests = kStreamDefaultCreates;
    if (!method_given) o.method = "POST";
    if (!expect_given) o.expect_status = 201;
    if (!o.body_given) {
      o.body = std::string(kStreamDefaultBody);
      o.body_given = true;
    }
    if (o.threads > 1) return LoadOptionsError{"--ws-stream runs on one thread (--threads 1)"};
    if (o.ws_deflate) return LoadOptionsError{"--ws-stream does not offer --deflate"};
    if (o.mode != Mode::kKeepAlive) return LoadOptionsError{"--mode is for HTTP, not --ws-stream"};
    if (o.rate > 0) return LoadOptionsError{"--ws-stream sends one create at a time (no --rate)"};
    if (o.tls_resume) return LoadOptionsError{"--tls-resume is for HTTP"};
    if (o.path == "/") o.path = "/v1/stream";
    return o;
  }
  if (o.connections < o.threads) o.threads = o.connections;
  if (o.ws != WsMode::kNone) {
    if (method_given || o.body_given) {
      return LoadOptionsError{"--method and --body are for HTTP and --ws-stream, not --ws-echo or --ws-fanout"};
    }
    if (!o.depth_given) o.depth = 1;
    // ringshard's built-in endpoints, when the URL names no path.
    if (o.path == "/") o.path = o.ws == WsMode::kFanout ? "/ws/chat" : "/ws/echo";
    if (o.mode != Mode::kKeepAlive) return LoadOptionsError{"--mode is for HTTP, not WebSocket modes"};
    if (o.tls_resume) return LoadOptionsError{"--tls-resume is for HTTP"};
    if (o.rate > 0 && o.ws == WsMode::kEcho) {
      return LoadOptionsError{"--rate works with --ws-fanout (publications/s), not --ws-echo"};
    }
    if (o.ws == WsMode::kFanout && o.ws_binary) {
      return LoadOptionsError{"--binary: /ws/chat takes JSON text only"};
    }
    if (o.ws == WsMode::kFanout && o.requests > 0 && o.requests < o.ws_publishers) {
      return LoadOptionsError{"--requests must be at least --publishers"};
    }
    return o;
  }
  if (o.rate > 0 && o.mode == Mode::kPipeline) {
    return LoadOptionsError{"--rate works with --mode keepalive or close"};
  }
  return o;
}

}  // namespace ringshard::load
