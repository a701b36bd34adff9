#include "bench/load/load_run.h"

#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "bench/load/request_encoder.h"
#include "bench/load/response_reader.h"
#include "bench/load/stream_load.h"
#include "bench/load/ws_load.h"
#include "engine/engine.h"
#include "engine/socket_address.h"
#include "tls/client.h"

namespace ringshard::load {

namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// What every shard shares, read-only during the run except the completion
// counter.
struct Plan {
  LoadOptions opt;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string request;  // one request
  std::string batch;    // what one send carries (depth requests when pipelining)
  unsigned per_batch = 1;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;   // duration mode
  double interval_ns = 0;  // rate mode: between two sends of one connection
  std::shared_ptr<const tls::ClientContext> tls;  // https:// URLs
  std::mutex mu;
  std::condition_variable cv;
  unsigned shards_done = 0;
};

class LoadShard;

struct Client {
  LoadShard* owner = nullptr;
  unsigned index = 0;                  // global connection number
  engine::Connection* conn = nullptr;  // null between connections
  uint32_t generation = 0;
  ResponseReader reader;
  std::vector<uint64_t> sent_at;       // intended send times of in-flight requests
  size_t sent_head = 0;                // first in-flight entry
  uint64_t next_send_ns = 0;           // rate mode: intended time of the next send
  uint64_t seq = 0;                    // requests scheduled on this client
  bool awaiting_close = false;         // got a "Connection: close" response
  unsigned in_flight() const { return static_cast<unsigned>(sent_at.size() - sent_head); }
};

class LoadShard final : public engine::ConnectionHandler {
 public:
  LoadShard(engine::Shard& shard, Plan& plan, unsigned first, unsigned count, uint64_t quota)
      : shard_(shard), plan_(plan), quota_(quota) {
    // One TLS client transport per shard: with --tls-resume each new
    // connection offers the ticket this shard received last. The handshake
    // has the response timeout.
    if (plan_.tls) transport_ = tls::make_client_transport(shard, plan_.tls, plan_.opt.timeout_ms);
    clients_.resize(count);
    for (unsigned i = 0; i < count; ++i) {
      Client& c = clients_[i];
      c.owner = this;
      c.index = first + i;
      c.sent_at.reserve(plan_.per_batch * 2);
    }
  }

  void start() {
    shard_.set_turn_hook([this] { return tick(); });
    for (Client& c : clients_) {
      if (plan_.interval_ns > 0) {
        // Spread the connections' schedules evenly over one interval.
        c.next_send_ns = plan_.start_ns + static_cast<uint64_t>(
            plan_.interval_ns * c.index / static_cast<double>(plan_.opt.connections));
      }
      open(c);
    }
  }

  LoadResult result;

  void on_open(engine::Connection& conn) override {
    Client& c = *static_cast<Client*>(conn.context());
    connect_failures_in_row_ = 0;
    if (transport_) {
      ++result.handshakes;
      if (tls::session_resumed(conn)) ++result.resumed;
    }
    if (plan_.interval_ns == 0) send(c, now_ns());
  }

  void on_connect_failed(engine::Connection& conn, int error) override {
    // Over TLS these come from the handshake, after the TCP connect
    // (ECONNABORTED: the connection closed mid-handshake).
    const bool handshake = transport_ && (error == EPROTO || error == ECONNRESET ||
                                          error == ETIMEDOUT || error == ECONNABORTED);
    // A handshake we cut short ourselves at the end of the run is no error.
    if (!(stopping_ && error == ECONNABORTED)) {
      ++(handshake ? result.errors.tls : result.errors.connect);
      ++connect_failures_in_row_;
    }
    // The connection is gone for us here; on_close() follows.
    Client& c = *static_cast<Client*>(conn.context());
    if (c.conn == &conn) {
      c.conn = nullptr;
      c.sent_at.clear();
      c.sent_head = 0;
      reopen_later_ = true;
    }
  }

  void on_data(engine::Connection& conn, std::span<const char> data) override {
    Client& c = *static_cast<Client*>(conn.context());
    result.bytes_in += data.size();
    std::string_view in(data.data(), data.size());
    if (c.awaiting_close) {
      ++result.errors.parse;  // bytes after a response that announced a close
      drop(c);
      return;
    }
    while (c.conn == &conn) {
      const ResponseReader::Outcome o = c.reader.feed(in, scratch_);
      in = in.substr(o.consumed);
      if (o.status == ResponseReader::kNeedMore) return;
      if (o.status == ResponseReader::kError) {
        ++result.errors.parse;
        drop(c);
        return;
      }
      if (!completed(c, o) || in.empty()) return;
    }
  }

  void on_peer_closed(engine::Connection& conn) override {
    Client& c = *static_cast<Client*>(conn.context());
    // EOF ends a close-delimited body; otherwise requests in flight are lost.
    const ResponseReader::Outcome o = c.reader.finish_at_eof();
    if (o.status == ResponseReader::kComplete) {
      completed(c, o);
    } else if (o.status == ResponseReader::kError) {
      ++result.errors.read;
      drop(c);
      return;
    }
    // After a "Connection: close" response (awaiting_close) nothing is in
    // flight: this is the expected end, not an error.
    if (c.conn == &conn) retire(c, c.in_flight() > 0);
  }

  void on_timeout(engine::Connection& conn) override {
    Client& c = *static_cast<Client*>(conn.context());
    ++result.errors.timeout;  // a response, or the promised close, is late
    c.sent_at.clear();
    c.sent_head = 0;
    drop(c);
  }

  void on_close(engine::Connection& conn) override {
    Client& c = *static_cast<Client*>(conn.context());
    if (c.conn == &conn) {
      // Closed under us (reset, connect failure): count what was lost.
      if (c.in_flight() > 0) ++result.errors.read;
      c.conn = nullptr;
      c.sent_at.clear();
      c.sent_head = 0;
      reopen_later_ = true;
    }
    check_done();
  }

 private:
  // One response is complete. Returns false when the connection is done.
  bool completed(Client& c, const ResponseReader::Outcome& o) {
    if (c.in_flight() == 0) {
      ++result.errors.parse;  // a response nobody asked for
      drop(c);
      return false;
    }
    const uint64_t t = now_ns();
    const uint64_t intended = c.sent_at[c.sent_head++];
    if (c.sent_head == c.sent_at.size()) {
      c.sent_at.clear();
      c.sent_head = 0;
    }
    if (o.http_status != plan_.opt.expect_status) {
      ++result.errors.status;
    } else {
      ++result.requests;
      result.latency.record(t - intended);
    }
    if (o.closes) {
      // The server closes after this response: requests still in flight on
      // it are lost. Wait for its FIN rather than closing first, so the
      // TIME_WAIT state stays on the server side (as with any HTTP client)
      // and a long run does not exhaust the client's ephemeral ports.
      if (c.in_flight() > 0) {
        retire(c, true);
      } else {
        c.awaiting_close = true;
        c.conn->set_timeout(plan_.opt.timeout_ms);
      }
      return false;
    }
    if (c.in_flight() == 0) {
      c.conn->clear_timeout();
      if (plan_.interval_ns == 0) send(c, t);
    }
    return true;
  }

  bool running() const {
    // An unreachable server ends the run: a request quota would otherwise
    // never be reached and the run would reconnect forever.
    if (connect_failures_in_row_ >= 3 * clients_.size()) return false;
    if (plan_.opt.requests > 0) return issued_ < quota_;
    return now_ns() < plan_.end_ns;
  }

  void open(Client& c) {
    c.awaiting_close = false;
    c.reader.reset(plan_.opt.method == "HEAD");
    c.sent_at.clear();
    c.sent_head = 0;
    engine::Connection* conn = shard_.connect(reinterpret_cast<const sockaddr*>(&plan_.addr),
                                              plan_.addr_len, this, &c, transport_.get());
    if (conn == nullptr) {
      ++result.errors.connect;
      ++connect_failures_in_row_;
      return;
    }
    c.conn = conn;
    c.generation = conn->generation();
    ++result.connections;
  }

  // Closes after a protocol error (counted by the caller).
  void drop(Client& c) {
    engine::Connection* conn = c.conn;
    c.conn = nullptr;
    c.sent_at.clear();
    c.sent_head = 0;
    if (conn != nullptr) conn->close();
    reopen_later_ = true;
  }

  // Ends this connection: `lost` means requests were in flight.
  void retire(Client& c, bool lost) {
    if (lost) ++result.errors.read;
    drop(c);
  }

  void send(Client& c, uint64_t intended) {
    if (c.conn == nullptr || !c.conn->is_open() || !running()) return;
    unsigned n = plan_.per_batch;
    if (plan_.opt.requests > 0) {
      if (issued_ + n > quota_) n = static_cast<unsigned>(quota_ - issued_);
    }
    issued_ += n;
    ++c.seq;
    for (unsigned i = 0; i < n; ++i) c.sent_at.push_back(intended);
    const std::string_view bytes = n == plan_.per_batch
                                       ? std::string_view(plan_.batch)
                                       : std::string_view(plan_.batch).substr(0, n * plan_.request.size());
    c.conn->write_borrowed(bytes, nullptr, nullptr);
    c.conn->set_timeout(plan_.opt.timeout_ms);
  }

  // Per loop turn: paced sends, reconnects, and the end of the run.
  uint64_t tick() {
    const uint64_t t = now_ns();
    const bool run = running();
    uint64_t next_wake = 0;
    if (run && reopen_later_) {
      reopen_later_ = false;
      // With a request quota, open no more connections than requests left
      // to send (connections that have not sent yet will take some).
      uint64_t waiting = 0;
      for (const Client& c : clients_) {
        if (c.conn != nullptr && c.in_flight() == 0 && !c.awaiting_close) ++waiting;
      }
      for (Client& c : clients_) {
        if (c.conn != nullptr) continue;
        if (plan_.opt.requests > 0 && issued_ + waiting >= quota_) break;
        open(c);
        ++waiting;
      }
    }
    if (run && plan_.interval_ns > 0) {
      for (Client& c : clients_) {
        if (c.conn == nullptr || !c.conn->is_open() || c.in_flight() > 0) continue;
        if (c.next_send_ns <= t) {
          const uint64_t intended = c.next_send_ns;
          c.next_send_ns = plan_.start_ns + static_cast<uint64_t>(
              plan_.interval_ns * (static_cast<double>(c.seq + 1) +
                                   static_cast<double>(c.index) / plan_.opt.connections));
          send(c, intended);
        }
        if (c.next_send_ns > t && (next_wake == 0 || c.next_send_ns < next_wake)) {
          next_wake = c.next_send_ns;
        }
      }
    }
    if (!run && !stopping_) {
      stopping_ = true;
      stopped_at_ = t;
    }
    if (stopping_) {
      // Give in-flight requests their timeout to complete, then close.
      for (Client& c : clients_) {
        if (c.conn != nullptr && (c.in_flight() == 0 || t - stopped_at_ > plan_.opt.timeout_ms * 1'000'000)) {
          engine::Connection* conn = c.conn;
          c.conn = nullptr;
          if (c.in_flight() > 0) ++result.errors.timeout;
          c.sent_at.clear();
          c.sent_head = 0;
          conn->close();
        }
      }
      check_done();
      if (!done_) next_wake = t + 1'000'000;
    } else if (plan_.opt.requests == 0 && (next_wake == 0 || plan_.end_ns < next_wake)) {
      next_wake = plan_.end_ns;
    }
    return next_wake;
  }

  // Done once the shard has no connection left (they are all ours). Counted
  // by the shard, not by on_close() calls: over TLS a connection closed
  // during its handshake reaches no handler callback. tick() polls this.
  void check_done() {
    if (!stopping_ || done_ || shard_.open_connections() != 0) return;
    done_ = true;
    result.duration_s = static_cast<double>(stopped_at_ - plan_.start_ns) / 1e9;
    std::lock_guard lock(plan_.mu);
    ++plan_.shards_done;
    plan_.cv.notify_all();
  }

  engine::Shard& shard_;
  Plan& plan_;
  // Declared before the clients: connections are all closed before the
  // shard reports done, so the transport outlives every connection on it.
  std::unique_ptr<engine::Transport> transport_;
  std::vector<Client> clients_;
  http::ParsedResponse scratch_;
  uint64_t quota_;
  uint64_t issued_ = 0;
  size_t connect_failures_in_row_ = 0;  // since the last successful connect
  bool reopen_later_ = false;
  bool stopping_ = false;
  bool done_ = false;
  uint64_t stopped_at_ = 0;
};

}  // namespace

bool resolve_target(const LoadOptions& o, sockaddr_storage& addr, socklen_t& len) {
  // A target needs a host: the wildcard ("", "*") is for listening.
  if (o.host.empty() || o.host == "*") return false;
  const std::optional<engine::SocketAddress> resolved = engine::resolve_literal(o.host, o.port);
  if (!resolved) return false;
  addr = resolved->storage;
  len = resolved->length;
  return true;
}

LoadResult run_load(const LoadOptions& options) {
  if (options.ws == WsMode::kStream) return run_stream_load(options);
  if (options.ws != WsMode::kNone) return run_ws_load(options);
  LoadResult total;
  auto plan = std::make_unique<Plan>();
  plan->opt = options;
  if (!resolve_target(options, plan->addr, plan->addr_len)) {
    total.fatal = "cannot resolve '" + options.host + "' (use an IP literal or localhost)";
    return total;
  }
  // Encoded once: every send borrows these bytes (no per-request work).
  plan->request = encode_request(options, options.path, options.method);
  const std::string& req = plan->request;
  plan->per_batch = options.mode == Mode::kPipeline ? options.depth : 1;
  for (unsigned i = 0; i < plan->per_batch; ++i) plan->batch += req;
  if (options.rate > 0) plan->interval_ns = 1e9 * options.connections / options.rate;
  if (options.tls) {
    tls::ClientOptions co;
    // SNI only for a name: an IP literal is not a valid server name.
    if (options.host == "localhost") co.server_name = "localhost";
    co.resume = options.tls_resume;
    std::string error;
    plan->tls = tls::make_client_context(co, error);
    if (!plan->tls) {
      total.fatal = "TLS: " + error;
      return total;
    }
  }

  engine::EngineConfig ec;
  ec.listen = false;
  ec.shards = options.threads;
  ec.pin_threads = options.pin;
  // Room for connections still closing beside their replacements: in close
  // mode over TLS a closed connection holds its slot a little longer
  // (close_notify, the server's FIN), and a full slab is a connect error.
  ec.max_connections = 2 * (options.connections / options.threads + 1) + 16;
  ec.recv_buffer_count = 1024;
  // A measuring tool: no completion batching, which would add up to its
  // min wait to the latencies it reports (engine/ring_wait.h).
  ec.batch_wait_us = 0;
  ec.drain_timeout_ms = 1'000;
  std::vector<LoadShard*> shards(options.threads, nullptr);
  ec.make_handler = [&](engine::Shard& s) -> std::unique_ptr<engine::ConnectionHandler> {
    const unsigned i = s.index();
    const unsigned per = options.connections / options.threads;
    const unsigned extra = i < options.connections % options.threads ? 1 : 0;
    const unsigned first = i * per + std::min(i, options.connections % options.threads);
    const uint64_t quota = options.requests / options.threads +
                           (i < options.requests % options.threads ? 1 : 0);
    auto h = std::make_unique<LoadShard>(s, *plan, first, per + extra, quota);
    shards[i] = h.get();
    return h;
  };
  engine::Engine engine(std::move(ec));
  plan->start_ns = now_ns();
  plan->end_ns = plan->start_ns + options.duration_ms * 1'000'000;
  const engine::StartError err = engine.start();
  if (!err.ok()) {
    total.fatal = err.message;
    return total;
  }
  for (unsigned i = 0; i < options.threads; ++i) {
    engine.execute(i, [h = shards[i]](engine::Shard&) { h->start(); });
  }
  {
    std::unique_lock lock(plan->mu);
    plan->cv.wait(lock, [&] { return plan->shards_done == options.threads; });
  }
  engine.drain();
  engine.wait();
  for (LoadShard* s : shards) {
    total.requests += s->result.requests;
    total.connections += s->result.connections;
    total.bytes_in += s->result.bytes_in;
    total.handshakes += s->result.handshakes;
    total.resumed += s->result.resumed;
    total.errors.add(s->result.errors);
    total.latency.merge(s->result.latency);
    total.duration_s = std::max(total.duration_s, s->result.duration_s);
  }
  return total;
}

namespace {
std::string fmt_us(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(ns) / 1000.0);
  return buf;
}
}  // namespace

std::string format_text(const LoadOptions& o, const LoadResult& r) {
  if (o.ws == WsMode::kStream) return format_stream_text(o, r);
  if (o.ws != WsMode::kNone) return format_ws_text(o, r);
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "ringshard-load: %s %s%s:%u%s, %u connections, %u threads%s\n"
                "  requests %llu in %.2f s: %.0f req/s, %llu connections opened, %.1f MB read\n"
                "  latency us: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %.1f\n"
                "  errors %llu: connect %llu, read %llu, parse %llu, status %llu, timeout %llu,"
                " tls %llu\n",
                mode_name(o.mode), o.tls ? "https://" : "", o.host.c_str(), o.port, o.path.c_str(),
                o.connections, o.threads,
                o.rate > 0 ? (", rate " + std::to_string(static_cast<uint64_t>(o.rate)) + "/s").c_str() : "",
                static_cast<unsigned long long>(r.requests), r.duration_s, r.rps(),
                static_cast<unsigned long long>(r.connections), static_cast<double>(r.bytes_in) / 1e6,
                fmt_us(r.latency.percentile(0.5)).c_str(), fmt_us(r.latency.percentile(0.9)).c_str(),
                fmt_us(r.latency.percentile(0.99)).c_str(), fmt_us(r.latency.percentile(0.999)).c_str(),
                fmt_us(r.latency.max()).c_str(), r.latency.mean() / 1000.0,
                static_cast<unsigned long long>(r.errors.total()),
                static_cast<unsigned long long>(r.errors.connect),
                static_cast<unsigned long long>(r.errors.read),
                static_cast<unsigned long long>(r.errors.parse),
                static_cast<unsigned long long>(r.errors.status),
                static_cast<unsigned long long>(r.errors.timeout),
                static_cast<unsigned long long>(r.errors.tls));
  std::string out = buf;
  if (o.tls) {
    std::snprintf(buf, sizeof(buf), "  tls: %llu handshakes, %llu resumed%s\n",
                  static_cast<unsigned long long>(r.handshakes),
                  static_cast<unsigned long long>(r.resumed),
                  o.tls_resume ? " (--tls-resume)" : "");
    out += buf;
  }
  return out;
}

namespace {
// ,"tls":{...} over TLS, nothing otherwise.
std::string tls_json(const LoadOptions& o, const LoadResult& r) {
  if (!o.tls) return {};
  char buf[128];
  std::snprintf(buf, sizeof(buf), ",\"tls\":{\"handshakes\":%llu,\"resumed\":%llu,\"resume\":%s}",
                static_cast<unsigned long long>(r.handshakes),
                static_cast<unsigned long long>(r.resumed), o.tls_resume ? "true" : "false");
  return buf;
}
}  // namespace

std::string format_json(const LoadOptions& o, const LoadResult& r) {
  if (o.ws == WsMode::kStream) return format_stream_json(o, r);
  if (o.ws != WsMode::kNone) return format_ws_json(o, r);
  char buf[2048];
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::snprintf(
      buf, sizeof(buf),
      "{\"mode\":\"%s\",\"connections\":%u,\"threads\":%u,\"rate\":%.0f,"
      "\"requests\":%llu,\"duration_s\":%.3f,\"rps\":%.1f,\"connections_opened\":%llu,"
      "\"bytes_in\":%llu,"
      "\"errors\":{\"total\":%llu,\"connect\":%llu,\"read\":%llu,\"parse\":%llu,"
      "\"status\":%llu,\"timeout\":%llu,\"tls\":%llu},"
      "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
      "\"mean\":%.1f}%s}\n",
      mode_name(o.mode), o.connections, o.threads, o.rate,
      static_cast<unsigned long long>(r.requests), r.duration_s, r.rps(),
      static_cast<unsigned long long>(r.connections), static_cast<unsigned long long>(r.bytes_in),
      static_cast<unsigned long long>(r.errors.total()),
      static_cast<unsigned long long>(r.errors.connect),
      static_cast<unsigned long long>(r.errors.read), static_cast<unsigned long long>(r.errors.parse),
      static_cast<unsigned long long>(r.errors.status),
      static_cast<unsigned long long>(r.errors.timeout),
      static_cast<unsigned long long>(r.errors.tls), us(r.latency.percentile(0.5)),
      us(r.latency.percentile(0.9)), us(r.latency.percentile(0.99)),
      us(r.latency.percentile(0.999)), us(r.latency.max()), r.latency.mean() / 1000.0,
      tls_json(o, r).c_str());
  return buf;
}

}  // namespace ringshard::load
