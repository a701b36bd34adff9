// ws/server.h: WebSocket service of a server: configuration, endpoints on
// the HTTP router, the per-shard connection drivers, topics and metrics.
//
//   ws::WsServer wss(shard_count, ws::WsConfig{});
//   wss.add_endpoint(router, "/ws/echo", std::make_shared<Echo>());
//   ... engine runs; later, from a shard:
//   wss.publish(shard, "deployments", json, /*text=*/true);
//
// add_endpoint() registers a GET route that checks the opening handshake
// (ws/handshake.h: 400 or 426 with the reason), lets the endpoint refuse it
// (401, 403...), negotiates the subprotocol and permessage-deflate, writes
// the 101 and hands the same engine connection to this shard's Driver
// (http::Response::upgrade): no new socket, and bytes that came with the
// upgrade request are read in place.
//
// Topics: publish() from any shard reaches every subscriber on every shard
// through the shard mailboxes, in publish order per publishing shard. Each
// shard encodes a published message once (one frame shared by all its
// subscribers), uncompressed: RFC 7692 lets a sender leave any message
// uncompressed, and a per-subscriber compression would cost more CPU than
// the bytes it saves on a fan-out.
//
// Topic listeners: add_topic_listener() lets code (a plugin filtering or
// buffering per subscriber) receive a topic's messages on every shard,
// beside or instead of WebSocket subscribers.
//
// Graceful shutdown: when a shard drains, each WebSocket gets close 1001
// and the shard waits (within the engine's drain deadline) for the replies.
//
// Control plane: construct and add endpoints before the engine starts; the
// WsServer must outlive the engine. The data-path members run on shards.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/metrics.h"
#include "http/router.h"
#include "ws/deflate.h"
#include "ws/topics.h"
#include "ws/websocket.h"

namespace ringshard::engine {
class Shard;
}

namespace ringshard::ws {

struct WsConfig {
  uint64_t max_frame_bytes = 16u << 20;     // larger frame -> close 1009
  uint64_t max_message_bytes = 16u << 20;   // larger message -> close 1009
  // Queue cap per connection: a send that would pass it closes the
  // connection with 1008 (a consumer that stopped reading).
  uint64_t max_send_queue = 16u << 20;
  uint32_t ping_interval_ms = 30'000;   // server pings an idle-looking peer; 0: never
  uint32_t pong_timeout_ms = 10'000;    // no pong (or any byte) within it: close
  uint32_t idle_timeout_ms = 0;         // no message from the peer: close 1000; 0: off
  uint32_t close_timeout_ms = 5'000;    // wait for the peer's close reply
  DeflateConfig deflate;                // permessage-deflate (RFC 7692)
};

struct WsMetrics {
  engine::Counter upgrades;          // 101s sent
  engine::Counter refused;           // handshakes answered 4xx
  engine::Counter messages_in, messages_out;
  engine::Counter bytes_in, bytes_out;   // payload bytes (before compression)
  engine::Counter pings_sent;
  engine::Counter protocol_errors;   // closed 1002
  engine::Counter invalid_utf8;      // closed 1007
  engine::Counter too_big;           // closed 1009
  engine::Counter slow_consumers;    // closed 1008 at the queue cap
  engine::Counter pong_timeouts;
  engine::Counter idle_closes;
  engine::Counter published;         // publish() calls
  engine::Counter delivered;         // topic frames queued to subscribers
  engine::Counter listener_errors;   // topic listeners that threw
  engine::Counter open;              // WebSockets open on the shard now (a gauge)
};

class WsServer {
 public:
  WsServer(unsigned shards, const WsConfig& config);
  ~WsServer();
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  const WsConfig& config() const { return config_; }

  // Registers `endpoint` at GET `path` (a router pattern; {params} work).
  // `options` are the route's (route middleware, e.g. authentication, runs
  // before the handshake is even checked). Throws std::invalid_argument as
  // Router::add does.
  void add_endpoint(http::Router& router, std::string_view path,
                    std::shared_ptr<const Endpoint> endpoint, http::RouteOptions options = {});

  // From any shard's thread: delivers `message` to every subscriber of
  // `topic` on every shard (including `from`), then to the topic's
  // listeners there. Allocates one Publication (topic and payload copied);
  // one lookup of the listeners when any are registered at all.
  void publish(engine::Shard& from, std::string_view topic, std::string_view message,
               bool text = true);

  // Control plane, before the engine starts (throws nothing, allocates):
  // `fn` runs on every shard's thread for each message published to exactly
  // `topic`, in the same per-publisher order as that shard's subscribers
  // get it, after they were written, whether the shard has subscribers or
  // not. `payload` is valid during the call (copy what must outlive it).
  // Several listeners of one topic run in the order they were added. `fn`
  // must not block the shard; it may send, publish or post. A listener that
  // throws is counted (WsMetrics::listener_errors) and the next one runs.
  //
  //   wss.add_topic_listener("deployments", [&](engine::Shard& shard, std::string_view p) {
  //     per_shard_buffers[shard.index()].append(p);
  //   });
  void add_topic_listener(std::string topic,
                          std::function<void(engine::Shard& shard, std::string_view payload)> fn);

  // The open WebSocket behind `h` on `shard` (its own thread), or null.
  WebSocket* find(engine::Shard& shard, WebSocketHandle h);

  // Subscribers of `topic` on shard i (that shard's thread, or tests once
  // the engine stopped).
  size_t subscribers(unsigned shard, std::string_view topic) const;
  const WsMetrics& metrics(unsigned shard) const;
  unsigned shard_count() const { return static_cast<unsigned>(drivers_.size()); }
  Driver& driver(unsigned shard) { return *drivers_[shard]; }

 private:
  WsConfig config_;
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::vector<std::shared_ptr<const Endpoint>> endpoints_;
  // topic -> its listeners; fixed once the engine runs (nodes never move,
  // so a Publication may point at a list).
  std::unordered_map<std::string, TopicListeners, TopicTable::Hash, std::equal_to<>> listeners_;
};

}  // namespace ringshard::ws
