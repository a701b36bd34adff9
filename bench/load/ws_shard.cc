#include "bench/load/ws_shard.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ringshard::load {

namespace {

// Upgrades in flight per thread: 10,000 connects at once would overflow a
// listen backlog (4096 for ringshard, 511 for Node) and wait out SYN retries.
constexpr size_t kMaxPendingUpgrades = 256;
constexpr uint64_t kMaxMessage = 128u << 20;
// The closing handshake's own timeout: a server closing 10,000 connections
// at once may take seconds, which is no delivery error.
constexpr uint64_t kMinCloseTimeoutMs = 30'000;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void atomic_max(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

uint64_t monotonic_ns() { return now_ns(); }

WsShard::WsShard(engine::Shard& shard, WsPlan& plan, std::vector<WsConn>&& conns, uint64_t quota)
    : shard_(shard), plan_(plan), conns_(std::move(conns)), quota_(quota),
      framer_(plan.upgrade.mask) {
  if (plan_.tls) transport_ = tls::make_client_transport(shard, plan_.tls, plan_.opt.timeout_ms);
  for (WsConn& c : conns_) {
    c.sent_at.reserve(plan_.opt.depth * 2);
    if (c.role != Role::kEcho) c.expect.assign(plan_.opt.ws_publishers, 0);
    if (c.role == Role::kPublisher) publishers_.push_back(&c);
  }
}

void WsShard::start() {
  shard_.set_turn_hook([this] { return tick(); });
  open_some();
}

void WsShard::on_open(engine::Connection& conn) {
  WsConn& c = *static_cast<WsConn*>(conn.context());
  c.phase = Phase::kUpgrading;
  c.handshake.reset();
  conn.write(plan_.upgrade.request);
  conn.set_timeout(plan_.opt.timeout_ms);
}

void WsShard::on_connect_failed(engine::Connection& conn, int error) {
  const bool handshake = transport_ && (error == EPROTO || error == ECONNRESET ||
                                        error == ETIMEDOUT || error == ECONNABORTED);
  if (!(stopping_ && error == ECONNABORTED)) {
    ++(handshake ? result.errors.tls : result.errors.connect);
    ++setup_failures_in_row_;
  }
  WsConn& c = *static_cast<WsConn*>(conn.context());
  if (c.conn == &conn) forget(c);
}

void WsShard::on_data(engine::Connection& conn, std::span<const char> data) {
  WsConn& c = *static_cast<WsConn*>(conn.context());
  result.bytes_in += data.size();
  // Server frames are not masked, so the reader never writes into the
  // (const) receive buffer.
  std::span<char> in(const_cast<char*>(data.data()), data.size());
  if (c.phase == Phase::kUpgrading) {
    const auto o = c.handshake.feed(std::string_view(in.data(), in.size()), plan_.upgrade,
                                    plan_.opt.ws_deflate, scratch_);
    if (o.status == WsHandshakeReader::Status::kNeedMore) return;
    if (o.status == WsHandshakeReader::Status::kError) {
      ++result.errors.ws;
      ++setup_failures_in_row_;
      drop(c);
      return;
    }
    upgraded(c);
    in = in.subspan(o.consumed);
  }
  cur_ = &c;
  while (!in.empty() && c.conn == &conn) {
    const size_t used = c.reader.feed(in, *this);
    if (c.reader.failed()) {
      ++result.errors.ws;
      drop(c);
      return;
    }
    in = in.subspan(used);
  }
}

void WsShard::on_peer_closed(engine::Connection& conn) {
  WsConn& c = *static_cast<WsConn*>(conn.context());
  if (c.conn != &conn) return;
  // After our close frame this is the expected end (the server closes
  // first, so TIME_WAIT stays on its side); otherwise the server hung up.
  if (c.phase != Phase::kClosing) ++result.errors.read;
  drop(c);
}

void WsShard::on_timeout(engine::Connection& conn) {
  WsConn& c = *static_cast<WsConn*>(conn.context());
  if (c.conn != &conn) return;
  ++result.errors.timeout;  // an upgrade, join, echo or close reply is late
  if (c.phase == Phase::kUpgrading || c.phase == Phase::kJoining) ++setup_failures_in_row_;
  drop(c);
}

void WsShard::on_close(engine::Connection& conn) {
  WsConn& c = *static_cast<WsConn*>(conn.context());
  if (c.conn == &conn) {
    // Closed under us (reset): what was in flight is lost.
    if (c.phase != Phase::kClosing) ++result.errors.read;
    forget(c);
  }
  check_done();
}

bool WsShard::on_message_begin(ws::Opcode op, bool compressed) {
  WsConn& c = *cur_;
  c.op = op;
  c.compressed = compressed;
  c.bad = false;
  c.msg_bytes = 0;
  c.msg.clear();
  return true;
}

bool WsShard::on_message_data(std::span<char> data) {
  WsConn& c = *cur_;
  const std::string_view piece(data.data(), data.size());
  if (c.compressed) {
    if (c.inflater->feed(piece, c.msg, kMaxMessage) != ws::InflateStatus::kOk) c.bad = true;
  } else if (c.role == Role::kEcho) {
    // Checked in place: an echo is never copied.
    const std::string& p = plan_.payload;
    if (c.msg_bytes + piece.size() > p.size() ||
        std::memcmp(p.data() + c.msg_bytes, piece.data(), piece.size()) != 0) {
      c.bad = true;
    }
  } else {
    c.msg.append(piece);
  }
  c.msg_bytes += piece.size();
  return true;
}

bool WsShard::on_message_end() {
  WsConn& c = *cur_;
  if (c.compressed && !c.bad && c.inflater->finish(c.msg, kMaxMessage) != ws::InflateStatus::kOk) {
    c.bad = true;
  }
  if (c.bad) {
    ++result.errors.ws;
    if (c.role == Role::kEcho) echoed(c, false);
    return c.conn != nullptr;
  }
  result.ws.payload_in += c.compressed ? c.msg.size() : c.msg_bytes;
  if (c.role == Role::kEcho) {
    const bool ok = c.op == plan_.op &&
                    (c.compressed ? c.msg == plan_.payload : c.msg_bytes == plan_.payload.size());
    if (!ok) ++result.errors.ws;
    echoed(c, ok);
  } else if (c.op != ws::Opcode::kText) {
    ++result.errors.ws;
  } else {
    chat_message(c, c.msg);
  }
  return c.conn != nullptr;
}

bool WsShard::on_control(ws::Opcode op, std::span<char> payload) {
  WsConn& c = *cur_;
  if (op == ws::Opcode::kPing) {
    c.conn->write(framer_.frame(ws::Opcode::kPong, std::string_view(payload.data(), payload.size())));
  } else if (op == ws::Opcode::kClose) {
    if (c.phase != Phase::kClosing) {
      // The server closed first: answer, then wait for its FIN.
      ++result.errors.ws;
      const size_t code = payload.size() >= 2 ? 2 : 0;  // echo the code, not the reason
      c.conn->write(framer_.frame(ws::Opcode::kClose, std::string_view(payload.data(), code)));
      settled(c);
      if (c.role != Role::kEcho && c.phase == Phase::kOpen) c.lost = true;
      c.phase = Phase::kClosing;
      c.clear_in_flight();
      c.conn->set_timeout(std::max(plan_.opt.timeout_ms, kMinCloseTimeoutMs));
    }
  }
  return true;
}

bool WsShard::sending() const {
  if (stopping_) return false;
  if (plan_.opt.requests > 0) return issued_ < quota_;
  return now_ns() < plan_.end_ns;
}

void WsShard::send_echo(WsConn& c) {
  if (!sending()) return;
  ++issued_;
  ++c.seq;
  c.sent_at.push_back(now_ns());
  if (c.deflater) {
    c.conn->write(framer_.frame(plan_.op, plan_.payload, c.deflater.get()));
  } else {
    c.conn->write_borrowed(plan_.frame, nullptr, nullptr);
  }
  result.ws.payload_out += plan_.payload.size();
  c.conn->set_timeout(plan_.opt.timeout_ms);
}

void WsShard::echoed(WsConn& c, bool ok) {
  if (c.in_flight() == 0) {
    ++result.errors.ws;  // an echo of nothing we sent
    return;
  }
  const uint64_t t = now_ns();
  const uint64_t sent = c.sent_at[c.sent_head++];
  if (c.sent_head == c.sent_at.size()) c.clear_in_flight();
  if (ok) {
    ++result.requests;
    ++result.ws.messages;
    result.latency.record(t - sent);
  }
  if (c.in_flight() == 0) c.conn->clear_timeout();
  if (c.phase == Phase::kOpen) send_echo(c);
}

void WsShard::chat_message(WsConn& c, std::string_view m) {
  if (m.starts_with(plan_.message_prefix)) {
    delivery(c, m.substr(plan_.message_prefix.size()));
  } else if (c.phase == Phase::kJoining && m.starts_with(R"({"type":"joined")")) {
    c.phase = Phase::kOpen;
    c.conn->clear_timeout();
    settled(c);
    setup_failures_in_row_ = 0;
    if (plan_.joined.fetch_add(1, std::memory_order_acq_rel) + 1 == plan_.members) {
      plan_.cpu_start = process_cpu_seconds(plan_.opt.server_pid);
      plan_.publish_start_ns.store(now_ns(), std::memory_order_release);
    }
  } else {
    ++result.errors.ws;  // {"type":"error",...} or anything unexpected
  }
}

// "p<publisher>s<seq>t<ns>xxx..." followed by "}
void WsShard::delivery(WsConn& c, std::string_view m) {
  uint64_t p = 0, seq = 0, sent = 0;
  const char* s = m.data();
  const char* end = s + m.size();
  auto number = [&](char tag, uint64_t& v) {
    if (s == end || *s != tag) return false;
    auto [q, ec] = std::from_chars(s + 1, end, v);
    s = q;
    return ec == std::errc();
  };
  if (!number('p', p) || !number('s', seq) || !number('t', sent) || p >= c.expect.size()) {
    ++result.errors.ws;
    return;
  }
  const uint64_t t = now_ns();
  ++c.received;
  ++result.ws.member_receipts;
  last_delivery_ns_ = t;
  uint64_t& want = c.expect[p];
  const bool repeated = seq < want;
  if (repeated) {
    ++c.duplicates;
  } else {
    if (seq > want) ++c.gaps;
    want = seq + 1;
  }
  if (c.role == Role::kSubscriber) {
    ++result.ws.deliveries;
    result.latency.record(t > sent ? t - sent : 0);
  } else if (p == c.publisher && !repeated) {
    acknowledged(c, t);
  }
  if (total_known_ && !repeated && c.unique() == total_) ++satisfied_;
}

void WsShard::publish(WsConn& c, uint64_t intended) {
  char head[64];
  const int n = std::snprintf(head, sizeof(head), "p%us%llut%llu", c.publisher,
                              static_cast<unsigned long long>(c.seq),
                              static_cast<unsigned long long>(intended));
  text_.assign(plan_.message_prefix);
  text_.append(head, static_cast<size_t>(n));
  if (plan_.opt.ws_size > static_cast<uint64_t>(n)) text_.append(plan_.opt.ws_size - n, 'x');
  text_ += "\"}";
  c.conn->write(framer_.frame(ws::Opcode::kText, text_, c.deflater.get()));
  ++c.seq;
  ++result.ws.publications;
  result.ws.payload_out += text_.size();
  c.sent_at.push_back(intended);
  c.conn->set_timeout(plan_.opt.timeout_ms);
}

bool WsShard::may_publish(const WsConn& c, uint64_t t) const {
  if (c.finished || c.phase != Phase::kOpen || plan_.aborted.load(std::memory_order_relaxed)) return false;
  if (plan_.opt.requests > 0) {
    const unsigned p = plan_.opt.ws_publishers;
    const uint64_t mine = plan_.opt.requests / p + (c.publisher < plan_.opt.requests % p ? 1 : 0);
    return c.seq < mine;
  }
  return t < publish_start_ + plan_.opt.duration_ms * 1'000'000;
}

void WsShard::acknowledged(WsConn& c, uint64_t t) {
  if (c.in_flight() == 0) return;  // its timeout already gave up on it
  const uint64_t sent = c.sent_at[c.sent_head++];
  if (c.sent_head == c.sent_at.size()) c.clear_in_flight();
  ++result.ws.acknowledged;
  result.ws.publish_latency.record(t - sent);
  if (c.in_flight() == 0) c.conn->clear_timeout();
  if (plan_.interval_ns == 0 && may_publish(c, t)) publish(c, t);
}

void WsShard::finish_publisher(WsConn& c) {
  c.finished = true;
  plan_.published.fetch_add(c.seq, std::memory_order_relaxed);
  plan_.publishers_left.fetch_sub(1, std::memory_order_acq_rel);
}

// Per turn, fan-out: start publishing, pace, finish publishers, and see
// whether this shard's members have everything. Returns a wake-up time.
uint64_t WsShard::fanout_tick(uint64_t t) {
  uint64_t wake = t + 1'000'000;  // phases end on other threads: poll each ms
  if (!publishing_) {
    publish_start_ = plan_.publish_start_ns.load(std::memory_order_acquire);
    if (publish_start_ == 0) return wake;
    publishing_ = true;
    last_progress_ns_ = t;
    for (size_t i = 0; i < publishers_.size(); ++i) {
      WsConn& c = *publishers_[i];
      if (plan_.interval_ns > 0) {
        c.next_send_ns = publish_start_ + static_cast<uint64_t>(
            plan_.interval_ns * c.publisher / plan_.opt.ws_publishers);
      } else {
        for (unsigned k = 0; k < plan_.opt.depth && may_publish(c, t); ++k) publish(c, t);
      }
    }
  }
  for (WsConn* pc : publishers_) {
    WsConn& c = *pc;
    if (c.finished) continue;
    if (plan_.interval_ns > 0) {
      while (c.next_send_ns <= t && may_publish(c, c.next_send_ns)) {
        publish(c, c.next_send_ns);
        c.next_send_ns = publish_start_ + static_cast<uint64_t>(
            plan_.interval_ns * (static_cast<double>(c.seq) +
                                 static_cast<double>(c.publisher) / plan_.opt.ws_publishers));
      }
      wake = std::min(wake, c.next_send_ns);
    }
    // Done once it may send no more and nothing is in flight (a lost
    // publisher, or one whose echo timed out, is done too).
    if (c.conn == nullptr || (!may_publish(c, t) && c.in_flight() == 0)) finish_publisher(c);
  }
  if (!total_known_ && plan_.publishers_left.load(std::memory_order_acquire) == 0) {
    total_known_ = true;
    total_ = plan_.published.load(std::memory_order_relaxed);
    last_progress_ns_ = std::max(last_progress_ns_, t);
    satisfied_ = 0;
    for (const WsConn& c : conns_) satisfied_ += c.unique() == total_ ? 1 : 0;
  }
  if (total_known_ && !complete_) {
    const uint64_t progress = std::max(last_progress_ns_, last_delivery_ns_);
    if (satisfied_ == conns_.size() || t - progress > plan_.opt.timeout_ms * 1'000'000) {
      complete_ = true;
      atomic_max(plan_.last_delivery_ns, last_delivery_ns_);
      if (plan_.shards_complete.fetch_add(1, std::memory_order_acq_rel) + 1 == plan_.threads) {
        plan_.cpu_end = process_cpu_seconds(plan_.opt.server_pid);
        plan_.deliveries_done.store(true, std::memory_order_release);
      }
    }
  }
  return wake;
}

void WsShard::upgraded(WsConn& c) {
  ws::ReaderLimits limits;
  limits.expect_masked = false;
  limits.max_frame_bytes = kMaxMessage;
  limits.max_message_bytes = kMaxMessage;
  limits.allow_compressed = c.handshake.deflate();
  c.reader.set_limits(limits);
  c.reader.reset();
  if (c.handshake.deflate()) {
    ws::DeflateConfig cfg;
    c.deflater = std::make_unique<ws::Deflater>(c.handshake.deflate_params(), cfg);
    c.inflater = std::make_unique<ws::Inflater>(c.handshake.deflate_params(), cfg);
    ++result.ws.deflate;
  } else {
    c.deflater.reset();
    c.inflater.reset();
  }
  if (c.role == Role::kEcho) {
    c.phase = Phase::kOpen;
    c.conn->clear_timeout();
    settled(c);
    setup_failures_in_row_ = 0;
    for (unsigned k = 0; k < plan_.opt.depth; ++k) send_echo(c);
  } else {
    c.phase = Phase::kJoining;
    c.conn->write(framer_.frame(ws::Opcode::kText, plan_.join, c.deflater.get()));
  }
}

// Opens connections not open yet, keeping kMaxPendingUpgrades in flight,
// then reopens those that failed. Fan-out members open only before
// publishing starts.
void WsShard::open_some() {
  if (stopping_ || publishing_) return;
  while (pending_ < kMaxPendingUpgrades && next_open_ < conns_.size()) open(conns_[next_open_++]);
  if (!reopen_ || next_open_ < conns_.size()) return;
  reopen_ = false;
  for (WsConn& c : conns_) {
    if (c.conn != nullptr || c.lost) continue;
    if (pending_ >= kMaxPendingUpgrades) {
      reopen_ = true;  // the rest next turn
      return;
    }
    open(c);
  }
}

// The connection left the set-up phases (or failed in them).
void WsShard::settled(WsConn& c) {
  if (!c.pending) return;
  c.pending = false;
  --pending_;
}

bool WsShard::open(WsConn& c) {
  if (c.role == Role::kEcho && !sending()) return false;
  c.phase = Phase::kIdle;
  c.clear_in_flight();
  engine::Connection* conn = shard_.connect(reinterpret_cast<const sockaddr*>(&plan_.addr),
                                            plan_.addr_len, this, &c, transport_.get());
  if (conn == nullptr) {
    ++result.errors.connect;
    ++setup_failures_in_row_;
    return false;
  }
  c.conn = conn;
  c.pending = true;
  ++pending_;
  ++result.connections;
  return true;
}

// The connection is gone for us (its engine connection may still close).
void WsShard::forget(WsConn& c) {
  settled(c);
  // A member lost after it joined cannot catch up: it shows in the check.
  if (c.role != Role::kEcho && (c.phase == Phase::kOpen || publishing_)) c.lost = true;
  c.conn = nullptr;
  c.phase = Phase::kIdle;
  c.clear_in_flight();
  reopen_ = true;
}

void WsShard::drop(WsConn& c) {
  engine::Connection* conn = c.conn;
  forget(c);
  if (conn != nullptr) conn->close();
}

// Starts the closing handshake: close 1000, then the server's close and FIN.
void WsShard::send_close(WsConn& c) {
  static constexpr char kNormal[2] = {0x03, static_cast<char>(0xE8)};
  c.conn->write(framer_.frame(ws::Opcode::kClose, std::string_view(kNormal, 2)));
  c.phase = Phase::kClosing;
  c.conn->set_timeout(std::max(plan_.opt.timeout_ms, kMinCloseTimeoutMs));
}

bool WsShard::gave_up() const {
  return setup_failures_in_row_ >= 3 * std::max<size_t>(conns_.size(), 1);
}

uint64_t WsShard::tick() {
  const uint64_t t = now_ns();
  uint64_t wake = 0;
  if (!stopping_ && gave_up()) plan_.aborted.store(true, std::memory_order_relaxed);
  const bool aborted = plan_.aborted.load(std::memory_order_relaxed);
  if (!stopping_) open_some();
  if (!stopping_) {
    bool stop = aborted;
    if (plan_.opt.ws == WsMode::kFanout) {
      if (!aborted) wake = fanout_tick(t);
      stop = stop || plan_.deliveries_done.load(std::memory_order_acquire);
    } else {
      stop = stop || !sending();
      if (!stop && plan_.opt.requests == 0) wake = plan_.end_ns;
    }
    if (stop) {
      stopping_ = true;
      stopped_at_ = t;
      if (plan_.opt.ws == WsMode::kEcho &&
          plan_.shards_stopped.fetch_add(1, std::memory_order_acq_rel) + 1 == plan_.threads) {
        plan_.cpu_end = process_cpu_seconds(plan_.opt.server_pid);
      }
    }
  }
  if (stopping_) {
    // Echoes in flight get their timeout; then every connection closes.
    const bool late = t - stopped_at_ > plan_.opt.timeout_ms * 1'000'000;
    for (WsConn& c : conns_) {
      if (c.conn == nullptr || c.phase == Phase::kClosing) continue;
      if (c.phase == Phase::kOpen && (c.in_flight() == 0 || late)) {
        if (c.in_flight() > 0) ++result.errors.timeout;
        c.clear_in_flight();
        send_close(c);
      } else if (c.phase != Phase::kOpen) {
        drop(c);  // still connecting or upgrading
      }
    }
    check_done();
    if (!done_) wake = t + 1'000'000;
  }
  return wake;
}

void WsShard::check_done() {
  if (!stopping_ || done_ || shard_.open_connections() != 0) return;
  done_ = true;
  result.ws.close_s = static_cast<double>(now_ns() - stopped_at_) / 1e9;
  result.duration_s = static_cast<double>(stopped_at_ - plan_.start_ns) / 1e9;
  if (plan_.opt.ws == WsMode::kFanout) tally();
  std::lock_guard lock(plan_.mu);
  ++plan_.shards_done;
  plan_.cv.notify_all();
}

// Fan-out: every member must have every publication exactly once.
void WsShard::tally() {
  const uint64_t total = plan_.published.load(std::memory_order_acquire);
  result.ws.members = conns_.size();
  for (const WsConn& c : conns_) {
    const bool short_of = c.unique() < total;
    if (short_of) result.ws.missing += total - c.unique();
    result.ws.duplicates += c.duplicates;
    result.ws.out_of_order += c.gaps;
    if (short_of || c.unique() > total || c.duplicates > 0 || c.gaps > 0) ++result.ws.mismatched;
  }
  result.errors.fanout = result.ws.missing + result.ws.duplicates + result.ws.out_of_order;
}

}  // namespace ringshard::load
