// proxy/tunnel.h: relays bytes both ways between two connections of one
// shard, for a WebSocket (or any upgraded protocol) through the reverse
// proxy, and for a CONNECT tunnel.
//
// After the upgrade the proxy no longer reads the protocol: whatever one
// side sends is written to the other as it is (plaintext: TLS on either
// side stays in its transport), so frames, pings and the close handshake
// pass through and the two endpoints keep talking to each other.
//
// Backpressure: while the side being written to has more queued than the
// shard's send-queue limit, the other side stops reading, and resumes once
// the queue has drained (Connection::request_writable), so a fast sender
// cannot make the proxy buffer more than about one limit per direction.
// Close: when one side closes or sends EOF, the other is flushed and
// closed; an idle timeout (no byte either way) closes both.
//
//   TunnelHandler& tunnels = ...;                 // one per shard
//   Tunnel* t = tunnels.create(idle_ms);
//   tunnels.attach(*t, upstream_conn, TunnelHandler::kUpstream, rest_from_upstream);
//   res.upgrade(head, tunnels, t);                // the client side: on_open attaches it
//
// Each side is attached once, in either order: attach() for a connection
// that is already open, or the handler's on_open() for one handed over by
// Response::upgrade (context: the Tunnel). Bytes that arrive before the
// other side is attached wait in the tunnel (bounded by the send-queue
// limit; over it the side pauses).
//
// Thread: the shard's. Allocation: one Tunnel per upgraded connection pair.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/connection.h"
#include "engine/metrics.h"
#include "engine/shard.h"

namespace ringshard::proxy {

struct TunnelMetrics {
  engine::Counter opened;        // tunnels with both sides attached
  engine::Counter closed;
  engine::Counter idle_closes;
  engine::Counter bytes_to_upstream;
  engine::Counter bytes_to_client;
};

class Tunnel;

class TunnelHandler final : public engine::ConnectionHandler {
 public:
  enum Side : uint8_t { kClient = 0, kUpstream = 1 };

  explicit TunnelHandler(engine::Shard& shard) : shard_(shard) {}
  ~TunnelHandler() override;

  // A tunnel waiting for its two sides; freed when both have closed (or
  // abandon()ed before any attached).
  Tunnel* create(uint32_t idle_timeout_ms);
  // Attaches an open connection as `side`, taking it over (handler and
  // context replaced); `pending` are bytes already read from it, to go to
  // the other side. A connection that is not open closes the tunnel.
  void attach(Tunnel& t, engine::Connection& conn, Side side, std::string_view pending);
  // Gives up on a tunnel nothing was attached to yet.
  void abandon(Tunnel* t);

  const TunnelMetrics& metrics() const { return metrics_; }

  // ConnectionHandler: on_open() is the client side handed over by
  // Response::upgrade() (its context is the Tunnel).
  void on_open(engine::Connection& conn) override;
  void on_data(engine::Connection& conn, std::span<const char> data) override;
  void on_writable(engine::Connection& conn) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_drain(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

 private:
  void forward(Tunnel& t, Side from, std::string_view data);
  void end(Tunnel& t, Side from);
  void touch(Tunnel& t);
  void release_side(Tunnel& t, Side side);

  engine::Shard& shard_;
  TunnelMetrics metrics_;
  std::vector<Tunnel*> live_;  // for the destructor (shard exit)
};

}  // namespace ringshard::proxy
