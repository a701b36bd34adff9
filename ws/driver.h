// ws/driver.h: the WebSocket connection driver: the engine
// ConnectionHandler that owns a connection after the upgrade. One per
// shard (made by WsServer), serving every WebSocket of that shard.
//
// Reading: FrameReader parses frames in place in the receive buffer
// (masks removed in place); a message that arrives whole in one read is
// handed to the endpoint as a view of that buffer, anything longer is
// assembled in the connection's message buffer (released again once it
// grows past 64 KiB). Text is UTF-8 checked piece by piece as it arrives.
// Compressed messages are inflated into the message buffer.
//
// Writing: a frame is written header and payload in one reservation into
// the connection's corked output queue; the engine sends the whole loop
// turn's output in one sendmsg (under TLS, one record where it fits).
//
// The connection's single timer is the ping interval, then the pong
// deadline after a ping, or the close-handshake deadline.
//
// Internal to ws/: applications use WebSocket, Endpoint and WsServer.
// Thread: the owning shard.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/connection.h"
#include "ws/server.h"
#include "ws/topics.h"
#include "ws/websocket.h"

namespace ringshard::ws {

class Driver final : public engine::ConnectionHandler {
 public:
  Driver(WsServer& server, unsigned shard_index);
  ~Driver() override;

  // --- engine::ConnectionHandler ---
  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::span<const char> data) override;
  void on_writable(engine::Connection& conn) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_drain(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

  // A fresh WebSocket for an upgrade about to happen (pooled).
  WebSocket* make_socket(const Endpoint& endpoint, void* user_data, std::string_view protocol,
                         const DeflateParams* deflate);
  // Returns a socket whose upgrade did not happen.
  void discard_socket(WebSocket* ws);

  SendStatus send(WebSocket& ws, std::string_view message, bool text);
  void close(WebSocket& ws, uint16_t code, std::string_view reason);
  // The publishing side: runs on the target shard (from the mailbox):
  // writes to this shard's subscribers, then calls the topic's listeners.
  void deliver(engine::Shard& shard, const Publication& pub);

  WsServer& server() { return server_; }
  TopicTable& topics() { return topics_; }
  const TopicTable& topics() const { return topics_; }
  WsMetrics& metrics() { return metrics_; }
  const WsMetrics& metrics() const { return metrics_; }
  unsigned shard_index() const { return shard_index_; }

 private:
  class Sink;
  friend class Sink;

  // Queues one frame: header + payload (copied).
  void write_frame(WebSocket& ws, Opcode op, std::string_view payload, bool rsv1);
  // Protocol failure: close frame with `code`, then close the TCP
  // connection once it is sent (discarding what the peer still sends).
  void fail(WebSocket& ws, uint16_t code, std::string_view reason);
  // Queues a close frame (empty for kNoStatus) and marks it sent.
  void write_close(WebSocket& ws, uint16_t code, std::string_view reason);
  // Queues our close frame and starts the close-handshake deadline.
  void send_close(WebSocket& ws, uint16_t code, std::string_view reason);
  // False (and the connection failed with 1008) when `bytes` more would
  // take its queue past WsConfig::max_send_queue.
  bool admit(WebSocket& ws, size_t bytes);
  // True when the queue is over the engine's limit; asks once for the
  // on_writable that becomes Endpoint::on_writable.
  bool note_backpressure(WebSocket& ws);
  void deliver_message(WebSocket& ws, std::string_view message);
  void write_to_subscribers(Topic& topic, const Publication& pub);
  void call_listeners(engine::Shard& shard, const Publication& pub);
  void arm_ping(WebSocket& ws);
  void finish(WebSocket& ws, uint16_t code, std::string_view reason);
  bool on_control(WebSocket& ws, Opcode op, std::span<char> payload);

  WsServer& server_;
  const WsConfig& config_;
  const unsigned shard_index_;
  TopicTable topics_;
  WsMetrics metrics_;
  std::string scratch_;           // compressed output, reused
  std::vector<WebSocket*> free_;  // pooled WebSocket blocks
  std::vector<WebSocket*> fanout_;  // write_to_subscribers(): the topic's subscribers, copied
};

}  // namespace ringshard::ws
