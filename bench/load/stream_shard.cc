#include "bench/load/stream_shard.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>

#include "bench/load/stream_load.h"
#include "json/json.h"

namespace ringshard::load {

namespace {

// Upgrades in flight: as for the fan-out (a listen backlog must not overflow).
constexpr size_t kMaxPendingUpgrades = 256;
constexpr uint64_t kMaxMessage = 1u << 20;    // an event is ~200 bytes
constexpr size_t kMaxAnswer = 64 * 1024;      // a create's answer body kept
// The closing handshake's own timeout (the server closes 1,000 at once).
constexpr uint64_t kMinCloseTimeoutMs = 5'000;
constexpr unsigned kGiveUpInRow = 3;          // failed creates, or silent events

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

StreamShard::StreamShard(engine::Shard& shard, StreamPlan& plan)
    : shard_(shard), plan_(plan), framer_(plan.upgrade.mask) {
  if (plan_.tls) transport_ = tls::make_client_transport(shard, plan_.tls, plan_.opt.timeout_ms);
  subs_.resize(plan_.opt.connections);
  for (uint32_t i = 0; i < subs_.size(); ++i) subs_[i].index = i;
  ws::ReaderLimits limits;
  limits.expect_masked = false;
  limits.max_frame_bytes = kMaxMessage;
  limits.max_message_bytes = kMaxMessage;
  limits.allow_compressed = false;
  for (Subscriber& s : subs_) s.reader.set_limits(limits);
  poster_.reader.keep_body(&poster_.body, kMaxAnswer);
}

void StreamShard::start() {
  start_ns_ = now_ns();
  shard_.set_turn_hook([this] { return tick(); });
  open_some();
}

void StreamShard::on_open(engine::Connection& conn) {
  if (conn.context() == &poster_) {
    poster_.open = true;
    if (poster_.send_on_open) send_create();
    return;
  }
  Subscriber& s = sub(conn);
  s.phase = SubPhase::kUpgrading;
  s.handshake.reset();
  conn.write(plan_.upgrade.request);
  conn.set_timeout(plan_.opt.timeout_ms);
}

void StreamShard::on_connect_failed(engine::Connection& conn, int error) {
  const bool handshake = transport_ && (error == EPROTO || error == ECONNRESET ||
                                        error == ETIMEDOUT || error == ECONNABORTED);
  if (!(stage_ == Stage::kStopping && error == ECONNABORTED)) {
    ++(handshake ? result.errors.tls : result.errors.connect);
    ++setup_failures_in_row_;
  }
  if (conn.context() == &poster_) {
    poster_gone(conn);
  } else if (Subscriber& s = sub(conn); s.conn == &conn) {
    forget(s);
  }
}

void StreamShard::on_data(engine::Connection& conn, std::span<const char> data) {
  read_ns_ = now_ns();
  result.bytes_in += data.size();
  if (conn.context() == &poster_) {
    poster_data(conn, std::string_view(data.data(), data.size()));
    return;
  }
  Subscriber& s = sub(conn);
  // Server frames are not masked: the reader never writes into the buffer.
  std::span<char> in(const_cast<char*>(data.data()), data.size());
  if (s.phase == SubPhase::kUpgrading) {
    const auto o = s.handshake.feed(std::string_view(in.data(), in.size()), plan_.upgrade, false, scratch_);
    if (o.status == WsHandshakeReader::Status::kNeedMore) return;
    if (o.status == WsHandshakeReader::Status::kError) {
      ++result.errors.ws;
      ++setup_failures_in_row_;
      refusal_ = std::string(o.error);
      if (o.consumed > 0) refusal_ += " (" + std::to_string(scratch_.status) + ")";
      drop(s);
      return;
    }
    upgraded(s);
    in = in.subspan(o.consumed);
  }
  cur_ = &s;
  while (!in.empty() && s.conn == &conn) {
    const size_t used = s.reader.feed(in, *this);
    if (s.reader.failed()) {
      ++result.errors.ws;
      drop(s);
      return;
    }
    in = in.subspan(used);
  }
}

void StreamShard::on_peer_closed(engine::Connection& conn) {
  read_ns_ = now_ns();
  if (conn.context() == &poster_) {
    const ResponseReader::Outcome o = poster_.reader.finish_at_eof();
    if (o.status == ResponseReader::kComplete) answered(o);
    if (poster_.conn == &conn) {
      if (event_.active && !event_.answered) ++result.errors.read;  // hung up on a create
      engine::Connection* c = poster_.conn;
      poster_gone(conn);
      c->close();
    }
    return;
  }
  Subscriber& s = sub(conn);
  if (s.conn != &conn) return;
  // After our close frame this is the expected end; otherwise the server
  // hung up on a subscriber.
  if (s.phase != SubPhase::kClosing) ++result.errors.read;
  drop(s);
}

void StreamShard::on_timeout(engine::Connection& conn) {
  if (conn.context() == &poster_) {
    if (poster_.conn != &conn) return;
    ++result.errors.timeout;  // the create's answer is late
    poster_gone(conn);
    conn.close();
    return;
  }
  Subscriber& s = sub(conn);
  if (s.conn != &conn) return;
  ++result.errors.timeout;  // an upgrade or a close reply is late
  if (s.phase == SubPhase::kUpgrading) ++setup_failures_in_row_;
  drop(s);
}

void StreamShard::on_close(engine::Connection& conn) {
  if (conn.context() == &poster_) {
    if (poster_.conn == &conn) {
      ++result.errors.read;  // reset under us
      poster_gone(conn);
    }
  } else if (Subscriber& s = sub(conn); s.conn == &conn) {
    if (s.phase != SubPhase::kClosing) ++result.errors.read;
    forget(s);
  }
  check_done();
}

bool StreamShard::on_message_begin(ws::Opcode op, bool /*compressed*/) {
  cur_->skip = op != ws::Opcode::kText;
  cur_->msg.clear();
  return true;
}

bool StreamShard::on_message_data(std::span<char> data) {
  if (!cur_->skip) cur_->msg.append(data.data(), data.size());
  return true;
}

bool StreamShard::on_message_end() {
  if (cur_->skip) {
    ++result.stream.other_messages;
  } else {
    message(*cur_, cur_->msg);
  }
  return cur_->conn != nullptr;
}

bool StreamShard::on_control(ws::Opcode op, std::span<char> payload) {
  Subscriber& s = *cur_;
  if (op == ws::Opcode::kPing) {
    s.conn->write(framer_.frame(ws::Opcode::kPong, std::string_view(payload.data(), payload.size())));
  } else if (op == ws::Opcode::kClose && s.phase != SubPhase::kClosing) {
    // The server closed a subscriber: answer (its code), then its FIN.
    ++result.errors.ws;
    const size_t code = payload.size() >= 2 ? 2 : 0;
    s.conn->write(framer_.frame(ws::Opcode::kClose, std::string_view(payload.data(), code)));
    lose(s);
    if (s.phase == SubPhase::kOpen) --open_;
    s.phase = SubPhase::kClosing;
    s.conn->set_timeout(std::max(plan_.opt.timeout_ms, kMinCloseTimeoutMs));
  }
  return true;
}

void StreamShard::open_some() {
  if (stage_ != Stage::kSetup) return;
  while (pending_ < kMaxPendingUpgrades && next_open_ < subs_.size()) open(subs_[next_open_++]);
  if (!reopen_ || next_open_ < subs_.size()) return;
  reopen_ = false;
  for (Subscriber& s : subs_) {
    if (s.conn != nullptr) continue;
    if (pending_ >= kMaxPendingUpgrades) {
      reopen_ = true;
      return;
    }
    open(s);
  }
}

void StreamShard::open(Subscriber& s) {
  s.phase = SubPhase::kIdle;
  engine::Connection* conn = shard_.connect(reinterpret_cast<const sockaddr*>(&plan_.addr),
                                            plan_.addr_len, this, &s, transport_.get());
  if (conn == nullptr) {
    ++result.errors.connect;
    ++setup_failures_in_row_;
    reopen_ = true;
    return;
  }
  s.conn = conn;
  s.pending = true;
  ++pending_;
  ++result.connections;
}

void StreamShard::upgraded(Subscriber& s) {
  s.reader.reset();
  s.phase = SubPhase::kOpen;
  s.conn->clear_timeout();
  settled(s);
  ++open_;
  setup_failures_in_row_ = 0;
}

void StreamShard::settled(Subscriber& s) {
  if (!s.pending) return;
  s.pending = false;
  --pending_;
}

void StreamShard::forget(Subscriber& s) {
  settled(s);
  if (s.phase == SubPhase::kOpen) --open_;
  lose(s);
  s.conn = nullptr;
  s.phase = SubPhase::kIdle;
  reopen_ = true;
}

void StreamShard::lose(Subscriber& s) {
  if (stage_ == Stage::kSetup || stage_ == Stage::kStopping || s.lost) return;
  s.lost = true;
  if (event_.active && s.last_event != event_.index && event_.waiting > 0) --event_.waiting;
}

void StreamShard::drop(Subscriber& s) {
  engine::Connection* conn = s.conn;
  forget(s);
  if (conn != nullptr) conn->close();
}

bool StreamShard::gave_up() const {
  const size_t n = std::min<size_t>(subs_.size(), kMaxPendingUpgrades);
  return setup_failures_in_row_ >= 3 * std::max<size_t>(n, 1);
}

void StreamShard::open_poster() {
  poster_.open = false;
  poster_.reader.reset(false);
  poster_.conn = shard_.connect(reinterpret_cast<const sockaddr*>(&plan_.addr), plan_.addr_len,
                                this, &poster_, transport_.get());
  if (poster_.conn == nullptr) ++result.errors.connect;
}

void StreamShard::poster_gone(engine::Connection& conn) {
  if (poster_.conn != &conn) return;
  poster_.conn = nullptr;
  poster_.open = false;
  if ((event_.active && !event_.answered) || poster_.send_on_open) create_failed(0);
}

void StreamShard::send_create() {
  if (poster_.conn == nullptr) open_poster();
  if (poster_.conn == nullptr) {
    stop("cannot open a connection for the creates");
    return;
  }
  if (!poster_.open) {
    poster_.send_on_open = true;  // the clock starts at the send, not the connect
    due_ns_ = now_ns();
    return;
  }
  poster_.send_on_open = false;
  event_ = Event{};
  event_.active = true;
  event_.index = sent_++;
  for (const Subscriber& s : subs_) event_.waiting += s.phase == SubPhase::kOpen && !s.lost ? 1 : 0;
  unclaimed_.clear();
  event_.sent_ns = now_ns();
  poster_.conn->write_borrowed(plan_.create, nullptr, nullptr);
  poster_.conn->set_timeout(plan_.opt.timeout_ms);
}

void StreamShard::poster_data(engine::Connection& conn, std::string_view in) {
  while (poster_.conn == &conn && !in.empty()) {
    const ResponseReader::Outcome o = poster_.reader.feed(in, scratch_);
    in = in.substr(o.consumed);
    if (o.status == ResponseReader::kNeedMore) return;
    if (o.status == ResponseReader::kError) {
      ++result.errors.parse;
      poster_gone(conn);
      conn.close();
      return;
    }
    answered(o);
  }
}

void StreamShard::answered(const ResponseReader::Outcome& o) {
  if (poster_.conn != nullptr) poster_.conn->clear_timeout();
  if (o.closes && poster_.conn != nullptr) {
    // The next create needs a new connection; this one ends here.
    engine::Connection* c = poster_.conn;
    poster_.conn = nullptr;
    poster_.open = false;
    c->close();
  }
  if (!event_.active || event_.answered) {
    ++result.errors.parse;  // an answer nobody asked for
    return;
  }
  result.stream.create_latency.record(read_ns_ - event_.sent_ns);
  if (o.http_status != plan_.opt.expect_status) {
    ++result.errors.status;
    failed_answer_ = poster_.body.substr(0, 200);
    create_failed(o.http_status);
    return;
  }
  const std::optional<json::Value> v = json::parse(poster_.body);
  const json::Value* id = v ? v->find("id") : nullptr;
  if (id == nullptr || !id->is_string() || id->as_string().empty()) {
    ++result.errors.parse;
    failed_answer_ = "no \"id\" in " + poster_.body.substr(0, 200);
    create_failed(o.http_status);
    return;
  }
  event_.id = std::string(id->as_string());
  failed_in_row_ = 0;
  failed_answer_.clear();
  // Events that came before the answer (arrived() does not finish the
  // event while it is unanswered, so unclaimed_ is not touched meanwhile).
  if (auto it = unclaimed_.find(event_.id); it != unclaimed_.end()) {
    for (const auto& [index, at] : it->second) {
      if (arrived(subs_[index], at)) ++result.stream.before_answer;
    }
  }
  unclaimed_.clear();
  unclaimed_count_ = 0;
  event_.answered = true;
  if (event_.waiting == 0) finish_event();
}

void StreamShard::create_failed(int status) {
  if (status == 0) failed_answer_.clear();  // no answer at all
  event_.active = false;
  poster_.send_on_open = false;
  unclaimed_.clear();
  unclaimed_count_ = 0;
  ++result.stream.creates_failed;
  if (++failed_in_row_ >= kGiveUpInRow) {
    stop(std::to_string(kGiveUpInRow) + " creates in a row failed (last status " +
         (status ? std::to_string(status) : std::string("none")) + ", expected " +
         std::to_string(plan_.opt.expect_status) + ")" +
         (failed_answer_.empty() ? std::string() : ": " + failed_answer_));
  } else {
    next_create();
  }
}

void StreamShard::message(Subscriber& s, std::string_view m) {
  if (json_string_member(m, "type") != plan_.opt.stream_event_type ||
      json_string_member(m, "status") != plan_.opt.stream_event_status) {
    ++result.stream.other_messages;
    return;
  }
  const std::string_view id = json_string_member(m, "deployment_id");
  const bool timing = stage_ == Stage::kTiming && event_.active;
  if (id.empty()) {
    ++result.stream.other_messages;
  } else if (timing && event_.answered && id == event_.id) {
    arrived(s, read_ns_);
  } else if (finished_ids_.contains(std::string(id))) {
    ++result.stream.late;
  } else if (timing && !event_.answered && unclaimed_count_ < 4 * subs_.size() + 1024) {
    // Perhaps ours, before its answer: held until the answer names it.
    unclaimed_[std::string(id)].push_back({s.index, read_ns_});
    ++unclaimed_count_;
  } else {
    ++result.stream.other_messages;  // another deployment's
  }
}

bool StreamShard::arrived(Subscriber& s, uint64_t at) {
  if (s.last_event == event_.index) {
    ++result.stream.duplicates;
    return false;
  }
  s.last_event = event_.index;
  ++event_.got;
  ++result.stream.samples;
  result.latency.record(at > event_.sent_ns ? at - event_.sent_ns : 0);
  if (!s.lost && event_.waiting > 0) --event_.waiting;
  if (event_.answered && event_.waiting == 0) finish_event();
  return true;
}

void StreamShard::finish_event() {
  last_event_ns_ = now_ns();
  event_.active = false;
  ++result.stream.creates;
  finished_ids_.insert(event_.id);
  silent_in_row_ = event_.got == 0 ? silent_in_row_ + 1 : 0;
  if (silent_in_row_ >= kGiveUpInRow) {
    stop(std::to_string(kGiveUpInRow) + " events in a row reached no subscriber within --timeout"
         " (is the stream publishing \"" + plan_.opt.stream_event_status + "\" events?)");
    return;
  }
  next_create();
}

void StreamShard::next_create() {
  if (stage_ != Stage::kTiming) return;
  if (sent_ >= plan_.opt.requests) {
    stop("");
    return;
  }
  // From a completion callback: the send leaves with this turn's submit.
  send_create();
}

void StreamShard::stop(std::string why) {
  if (stage_ == Stage::kStopping) return;
  if (stage_ == Stage::kTiming) {
    result.duration_s = static_cast<double>((last_event_ns_ ? last_event_ns_ : now_ns()) - timing_ns_) / 1e9;
    if (cpu_start_ >= 0) {
      const double end = process_cpu_seconds(plan_.opt.server_pid);
      if (end >= 0) result.stream.server_cpu_s = end - cpu_start_;
    }
  }
  if (!why.empty()) result.stream.stopped = std::move(why);
  stage_ = Stage::kStopping;
  for (Subscriber& s : subs_) {
    if (s.conn == nullptr || s.phase == SubPhase::kClosing) continue;
    if (s.phase == SubPhase::kOpen) {
      static constexpr char kNormal[2] = {0x03, static_cast<char>(0xE8)};
      s.conn->write(framer_.frame(ws::Opcode::kClose, std::string_view(kNormal, 2)));
      s.phase = SubPhase::kClosing;
      s.conn->set_timeout(std::max(plan_.opt.timeout_ms, kMinCloseTimeoutMs));
    } else {
      drop(s);
    }
  }
  if (poster_.conn != nullptr) {
    engine::Connection* c = poster_.conn;
    poster_.conn = nullptr;
    c->close();
  }
}

uint64_t StreamShard::tick() {
  const uint64_t t = now_ns();
  uint64_t wake = 0;
  switch (stage_) {
    case Stage::kSetup:
      if (gave_up()) {
        result.fatal = "the subscribers could not be opened: " +
                       (refusal_.empty() ? std::string("see the errors") : refusal_);
        stop("");
        break;
      }
      open_some();
      if (open_ == subs_.size() && pending_ == 0) {
        result.stream.setup_s = static_cast<double>(t - start_ns_) / 1e9;
        stage_ = Stage::kSettling;
        settle_until_ = t + plan_.opt.stream_settle_ms * 1'000'000;
        open_poster();
        wake = settle_until_;
      }
      break;
    case Stage::kSettling:
      if (t < settle_until_) return settle_until_;
      // What the subscribers got so far (a replay, a greeting) is not timed.
      stage_ = Stage::kTiming;
      timing_ns_ = t;
      for (const Subscriber& s : subs_) result.stream.subscribers += s.phase == SubPhase::kOpen ? 1 : 0;
      cpu_start_ = process_cpu_seconds(plan_.opt.server_pid);
      send_create();
      break;
    case Stage::kTiming:
      wake = timing_tick(t);
      break;
    case Stage::kStopping:
      break;
  }
  if (stage_ == Stage::kStopping) {
    check_done();
    wake = done_ ? 0 : t + 1'000'000;
  }
  return wake;
}

uint64_t StreamShard::timing_tick(uint64_t t) {
  const uint64_t timeout = plan_.opt.timeout_ms * 1'000'000;
  if (poster_.send_on_open) {
    if (t - due_ns_ < timeout) return due_ns_ + timeout;
    ++result.errors.timeout;  // the connection for the creates does not open
    engine::Connection* c = poster_.conn;
    if (c != nullptr) {
      poster_gone(*c);
      c->close();
    } else {
      create_failed(0);
    }
    return 0;
  }
  if (!event_.active) return 0;
  if (event_.answered && event_.waiting == 0) {  // the last waiting subscriber was lost
    finish_event();
    return 0;
  }
  const uint64_t deadline = event_.sent_ns + timeout;
  if (t < deadline) return deadline;
  if (event_.answered) {
    finish_event();  // what has not arrived is missed
  } else {
    ++result.errors.timeout;  // no answer: the connection is given up too
    engine::Connection* c = poster_.conn;
    if (c != nullptr) {
      poster_gone(*c);
      c->close();
    } else {
      create_failed(0);
    }
  }
  return 0;
}

void StreamShard::check_done() {
  if (stage_ != Stage::kStopping || done_ || shard_.open_connections() != 0) return;
  done_ = true;
  StreamResult& r = result.stream;
  r.expected = static_cast<uint64_t>(subs_.size()) * r.creates;
  r.missed = r.expected > r.samples ? r.expected - r.samples : 0;
  result.errors.stream = r.missed + r.duplicates;
  result.requests = r.creates;
  std::lock_guard lock(plan_.mu);
  plan_.done = true;
  plan_.cv.notify_all();
}

}  // namespace ringshard::load
