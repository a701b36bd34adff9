// plugins/deployments/plugin_stream.cc: /v1/stream, the WebSocket of
// lifecycle events.
//
//   /v1/stream                      every event from now on
//   /v1/stream?deployment_id=ID     only that deployment's
//   /v1/stream?since=N              first every stored event after seq N,
//                                   then the live ones: no gap, no duplicate
//
// Each event is a text message {"type":"deployment.update",
// "deployment_id","status","timestamp","seq"}; seq is the store's,
// gap-free. A `since` older than the kept history closes with 4410 and a
// reason: the client lists again, then reconnects without since.
//
// How since stays gap-free: the connection takes live events from the
// moment it opens (the topic listener), but while the store's history
// read is on its way it only buffers them. When the history arrives it is
// sent, then the buffered events newer than the last one sent; from then
// on an event is sent only if its seq is newer than the last sent. Any
// event committed after the history read is published after it too, so
// it reaches the buffer or the live path.
//
// Thread: the connection's shard. Auth: deployments:read, from the
// Authorization header or, for browsers, ?access_token=.
#include <charconv>
#include <memory>
#include <string>
#include <vector>

#include "plugins/deployments/model.h"
#include "plugins/deployments/plugin_common.h"

namespace ringshard::deployments {

struct StreamConn {
  rs_websocket* ws = nullptr;
  uint64_t handle = 0;
  std::string filter;           // deployment_id, empty: all
  bool has_since = false;
  uint64_t since = 0;
  bool replaying = false;
  uint64_t last_sent = 0;       // seq of the last event sent
  std::vector<std::pair<uint64_t, std::string>> held;  // live events during replay
  size_t index = 0;             // in ShardState::streams
};

namespace {

// Live events held while a replay is read; past it the client is too far
// behind to catch up this way.
constexpr size_t kMaxHeld = 100'000;
constexpr uint16_t kCloseHistoryGone = 4410;

// The fields the listener needs from an event it rendered itself.
bool event_fields(std::string_view json, uint64_t& seq, std::string_view& id) {
  constexpr std::string_view kId = "\"deployment_id\":\"";
  constexpr std::string_view kSeq = "\"seq\":";
  size_t p = json.find(kId);
  size_t q = json.rfind(kSeq);
  if (p == std::string_view::npos || q == std::string_view::npos) return false;
  p += kId.size();
  size_t e = json.find('"', p);
  if (e == std::string_view::npos) return false;
  id = json.substr(p, e - p);
  q += kSeq.size();
  auto r = std::from_chars(json.data() + q, json.data() + json.size(), seq);
  return r.ec == std::errc();
}

// Reads the stored events after `after_seq`, one page of the store's
// largest read at a time, sends them, and reads on until a page comes back
// short; then the live events held meanwhile follow.
void replay_page(App& app, const rp::Shard& shard, uint64_t handle, uint64_t after_seq) {
  auto sr = std::make_unique<StoreRequest>();
  StoreOp o;
  o.kind = StoreOp::Kind::kEventsSince;
  o.after_seq = after_seq;
  o.limit = kStoreMaxEventsLimit;
  sr->ops.push_back(std::move(o));
  app.submit(shard, std::move(sr), [&app, handle](rp::Shard& s, StoreRequest& done) {
    rs_websocket* raw = s.api()->ws_find(s.raw(), handle);
    if (raw == nullptr) return;  // closed meanwhile
    rp::WebSocket w(s.api(), raw);
    auto* c = w.user_as<StreamConn>();
    if (c == nullptr) return;
    if (done.outcome != StoreRequest::Outcome::kDone) {
      w.close(1011, "the event history could not be read");
      return;
    }
    const StoreOpResult& r = done.results[0];
    if (r.code == StoreOpResult::Code::kHistoryGone) {
      w.close(kCloseHistoryGone, "since is older than the kept history: list "
                                 "deployments again, then reconnect without since");
      return;
    }
    int64_t sent = 0;
    uint64_t last_read = 0;
    for (const Event& e : r.events) {
      last_read = e.seq;
      if (e.seq <= c->last_sent) continue;
      c->last_sent = e.seq;
      if (!c->filter.empty() && c->filter != e.deployment_id) continue;
      w.send(render_event(e));
      ++sent;
    }
    s.metric_add(app.metrics().events_sent, sent);
    if (r.events.size() >= kStoreMaxEventsLimit) {
      replay_page(app, s, handle, last_read);
      return;
    }
    int64_t flushed = 0;
    for (auto& [seq, json] : c->held) {
      if (seq <= c->last_sent) continue;
      c->last_sent = seq;
      w.send(json);
      ++flushed;
    }
    s.metric_add(app.metrics().events_sent, flushed);
    c->held.clear();
    c->held.shrink_to_fit();
    c->replaying = false;
  });
}

class StreamEndpoint final : public rp::WsEndpoint {
 public:
  explicit StreamEndpoint(App& app) : app_(app) {}

  void on_upgrade(rp::Request& req, rp::Upgrade& d) override {
    StreamQuery q;
    ApiError err;
    if (!parse_stream_query(req.query(), q, err)) {
      d.refuse(err.status, err.message);
      return;
    }
    auto conn = std::make_unique<StreamConn>();
    if (q.deployment_id) conn->filter = *q.deployment_id;
    if (q.since) {
      conn->has_since = true;
      conn->since = *q.since;
    }
    std::string_view v = req.header("API-Version");
    if (!v.empty() && !check_api_version(v, err)) {
      d.refuse(400, err.message);
      return;
    }
    d.set_user(conn.release());
  }

  void on_open(rp::WebSocket& ws) override {
    auto* conn = ws.user_as<StreamConn>();
    if (conn == nullptr) return;
    rp::Shard shard = ws.shard();
    ShardState& st = app_.state(shard);
    conn->ws = ws.raw();
    conn->handle = ws.handle();
    conn->index = st.streams.size();
    st.streams.push_back(conn);
    shard.metric_set(app_.metrics().stream_open, static_cast<int64_t>(st.streams.size()));
    if (!conn->has_since) {
      // Live only: anything published from now on.
      conn->last_sent = 0;
      return;
    }
    conn->replaying = true;
    conn->last_sent = conn->since;
    replay_page(app_, shard, conn->handle, conn->since);
  }

  void on_message(rp::WebSocket&, std::string_view, bool) override {
    // The stream is one-way; what the client says is ignored (pings are
    // answered by the server itself).
  }

  void on_close(rp::WebSocket& ws, uint16_t, std::string_view) override {
    auto* conn = ws.user_as<StreamConn>();
    if (conn == nullptr) return;
    ws.set_user(nullptr);
    if (conn->ws != nullptr) {
      rp::Shard shard = ws.shard();
      ShardState& st = app_.state(shard);
      StreamConn* last = st.streams.back();
      st.streams[conn->index] = last;
      last->index = conn->index;
      st.streams.pop_back();
      shard.metric_set(app_.metrics().stream_open, static_cast<int64_t>(st.streams.size()));
    }
    delete conn;
  }

  // Every shard, every event (published by shard 0 in seq order).
  void deliver(rp::Shard& shard, std::string_view json) {
    ShardState* st = shard.user_as<ShardState>();
    if (st == nullptr || st->streams.empty()) return;
    uint64_t seq = 0;
    std::string_view id;
    if (!event_fields(json, seq, id)) return;
    int64_t sent = 0;
    for (size_t i = 0; i < st->streams.size(); ++i) {
      StreamConn* c = st->streams[i];
      if (!c->filter.empty() && c->filter != id) continue;
      if (c->replaying) {
        if (c->held.size() >= kMaxHeld) {
          rp::WebSocket(shard.api(), c->ws).close(1008, "too far behind");
          continue;
        }
        c->held.emplace_back(seq, std::string(json));
        continue;
      }
      if (seq <= c->last_sent) continue;
      c->last_sent = seq;
      rp::WebSocket(shard.api(), c->ws).send(json);
      ++sent;
    }
    if (sent > 0) shard.metric_add(app_.metrics().events_sent, sent);
  }

 private:
  App& app_;
};

}  // namespace

void add_stream(App& app, rp::Host& host) {
  auto ep = std::make_shared<StreamEndpoint>(app);
  rp::RouteOptions o;
  o.scope = kScopeRead;
  o.rate_limit = app.rate_limit();
  host.websocket("/v1/stream", ep, o);
  host.topic_listener(kEventTopic.data(),
                      [ep](rp::Shard& shard, std::string_view message) {
                        ep->deliver(shard, message);
                      });
}

}  // namespace ringshard::deployments
