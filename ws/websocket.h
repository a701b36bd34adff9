// ws/websocket.h: what an application sees of a WebSocket connection: the
// WebSocket handle it sends and subscribes through, and the Endpoint it
// implements to receive messages.
//
//   class Echo final : public ws::Endpoint {
//     void on_message(ws::WebSocket& ws, std::string_view msg, bool text) override {
//       ws.send(msg, text);
//     }
//   };
//   wsserver.add_endpoint(router, "/ws/echo", std::make_shared<Echo>());
//
// A WebSocket is the connection's own state block (nothing else is
// allocated per connection): a reference handed to a callback stays valid
// until on_close() returns, on the connection's shard only. To reach a
// connection from elsewhere (another shard, a timer), publish to a topic it
// subscribed to, or keep a handle() and look it up with WsServer::find().
//
// Sending never blocks: send() queues a frame (corked, like HTTP output)
// and says whether the connection is now backpressured (its queue is over
// the engine's send limit: stop sending to it until on_writable()) or whether
// the message was dropped (the connection is closing, or its queue passed
// WsConfig::max_send_queue: it is then closed with 1008 and the others go on).
//
// Thread: every member runs on the connection's shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/reader.h"
#include "ws/utf8.h"

namespace ringshard::engine {
class Connection;
class Shard;
}  // namespace ringshard::engine
namespace ringshard::http {
class ServerRequest;
}  // namespace ringshard::http

namespace ringshard::ws {

class Driver;
class WsServer;
class Endpoint;
struct TopicRef;

enum class SendStatus : uint8_t {
  kSent,           // queued
  kBackpressured,  // queued, and the queue is over the limit: wait for on_writable
  kDropped,        // not queued: the connection is closing or was too slow
};

// A connection handle that survives the connection (checked on use).
struct WebSocketHandle {
  uint32_t slot = 0;
  uint32_t generation = 0;
};

class WebSocket {
 public:
  SendStatus send(std::string_view message, bool text = true);
  SendStatus send_text(std::string_view m) { return send(m, true); }
  SendStatus send_binary(std::string_view m) { return send(m, false); }
  // Starts the closing handshake (code 1000..4999 except the reserved
  // ones; the reason is cut to fit 123 bytes). Later sends are dropped.
  void close(uint16_t code = close_code::kNormal, std::string_view reason = {});

  // Topics (pub/sub): a message published to a topic on any shard reaches
  // every subscriber. Subscribing twice is a no-op; false if already (for
  // subscribe) or not (for unsubscribe) subscribed.
  bool subscribe(std::string_view topic);
  bool unsubscribe(std::string_view topic);
  bool subscribed(std::string_view topic) const;
  // Publishes to every subscriber of `topic` on every shard (this
  // connection too, if it subscribed).
  void publish(std::string_view topic, std::string_view message, bool text = true);

  // Bytes queued for this connection and not yet sent.
  size_t buffered() const;
  bool closing() const { return close_sent_ || close_received_ || failed_; }
  std::string_view protocol() const { return protocol_; }  // negotiated subprotocol
  bool deflate() const { return deflater_ != nullptr; }    // permessage-deflate on
  WebSocketHandle handle() const;
  engine::Shard& shard() const;
  WsServer& server() const;
  // The endpoint serving this connection.
  const Endpoint& endpoint() const { return *endpoint_; }

  // Application data: set in on_upgrade (UpgradeDecision) or later.
  void* user_data() const { return user_data_; }
  void set_user_data(void* p) { user_data_ = p; }

  // Bytes of zlib state this connection holds now (0 without deflate or
  // while it is released).
  size_t deflate_memory() const;

 private:
  friend class Driver;
  friend class WsServer;
  friend struct TopicTable;

  enum class Timer : uint8_t { kNone, kPing, kPong, kClose };

  engine::Connection* conn_ = nullptr;
  Driver* driver_ = nullptr;
  const Endpoint* endpoint_ = nullptr;
  void* user_data_ = nullptr;
  std::string protocol_;
  FrameReader reader_;
  Utf8Validator utf8_;
  // A message that spans frames or reads is assembled here; a whole
  // message inside one read is delivered in place instead (pending_).
  std::string message_;
  const char* pending_data_ = nullptr;
  size_t pending_size_ = 0;
  std::unique_ptr<Deflater> deflater_;
  std::unique_ptr<Inflater> inflater_;
  // Topics this connection subscribed to, with its index in each topic's
  // subscriber list (for O(1) removal).
  std::vector<TopicRef> topics_;
  uint64_t last_receive_ms_ = 0;
  uint64_t last_message_ms_ = 0;
  uint64_t ping_sent_ms_ = 0;
  Timer timer_ = Timer::kNone;
  bool message_text_ = false;
  bool message_compressed_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool failed_ = false;
  bool backpressured_ = false;
  bool opened_ = false;      // the endpoint's on_open ran
  bool notified_ = false;    // the endpoint's on_close ran
};

// The server's answer to an upgrade request, filled by Endpoint::on_upgrade.
struct UpgradeDecision {
  uint16_t refuse_status = 0;   // e.g. 401, 403: refuse with this status
  std::string refuse_reason;    // the error body's message
  void* user_data = nullptr;    // becomes WebSocket::user_data()
  std::string protocol;         // the subprotocol selected (may be changed
                                // to another of Endpoint::protocols())
};

// An application's WebSocket endpoint. One object serves the endpoint on
// every shard, so its callbacks may run concurrently on several threads:
// keep per-connection state in user_data, per-shard state indexed by
// shard().index(), or use topics.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Subprotocols in the server's preference order; the first one the client
  // offers is selected. Empty: none is negotiated.
  virtual std::vector<std::string> protocols() const { return {}; }
  // Before the 101: may refuse (set refuse_status, e.g. 401 or 403), attach
  // user data, or pick another subprotocol. Runs on the connection's shard.
  virtual void on_upgrade(const http::ServerRequest& /*req*/, UpgradeDecision& /*d*/) const {}
  virtual void on_open(WebSocket& /*ws*/) const {}
  // A whole message. `message` is valid during the call only.
  virtual void on_message(WebSocket& ws, std::string_view message, bool text) const = 0;
  // The queue went back under the limit after a kBackpressured send.
  virtual void on_writable(WebSocket& /*ws*/) const {}
  // The connection is gone (after the close handshake, an error, or a
  // dropped TCP connection: code 1006). Release user_data here.
  virtual void on_close(WebSocket& /*ws*/, uint16_t /*code*/, std::string_view /*reason*/) const {}
};

}  // namespace ringshard::ws
