// engine/transport.h: a byte-stream layer between the socket and the
// protocol handler (TLS), so that HTTP and WebSocket run unchanged over it.
//
// Without a transport a connection's handler sees the socket's bytes and its
// write() queue is what goes on the wire. With one, the engine routes the
// connection's events through the transport instead:
//
//   socket bytes --on_receive--> transport --deliver--> handler.on_data
//   handler.write() -> plaintext queue --on_flush--> transport -> wire queue -> socket
//
// The handler keeps writing with Connection::write/reserve/commit as before;
// once per loop turn, before the send, the shard hands the plaintext queued
// during the turn to on_flush(), which moves it (encrypted) into the wire
// queue. A whole turn's responses are therefore sealed in as few records as
// possible. The transport writes its own bytes (handshake messages, alerts)
// with Connection::write_wire().
//
// The handler is opened by the transport (on_open once the handshake is
// done), so an HTTP server never sees a connection that cannot carry
// plaintext yet. Until then the connection's timer belongs to the transport
// (handshake timeout).
//
// One transport object per shard and listener (like handlers); per-connection
// state hangs off Connection::transport_context().
//
// Thread: everything runs on the connection's shard.
#pragma once

#include <span>

namespace ringshard::engine {

class Connection;
class OutputQueue;

class Transport {
 public:
  virtual ~Transport() = default;

  // Accepted, or an outbound connect completed. Start the handshake; call
  // conn.handler()->on_open(conn) once plaintext can flow.
  virtual void on_open(Connection& conn) = 0;
  // Bytes from the socket, valid during the call. Deliver plaintext with
  // conn.handler()->on_data(); stop as soon as the connection is not open.
  virtual void on_receive(Connection& conn, std::span<const char> data) = 0;
  // Called before each send with the plaintext the handler queued (may be
  // empty); move it into the wire queue. `closing` is true once the
  // connection is flushing before a close (send close_notify after the
  // plaintext, once).
  virtual void on_flush(Connection& conn, OutputQueue& plain, bool closing) = 0;
  // The peer half-closed, the timer fired, the shard started draining:
  // during the handshake the transport decides; afterwards it forwards to
  // the handler.
  virtual void on_peer_closed(Connection& conn) = 0;
  virtual void on_timeout(Connection& conn) = 0;
  virtual void on_drain(Connection& conn) = 0;
  // The connection is going away: call the handler's on_close() if it was
  // opened, then release the per-connection state.
  virtual void on_close(Connection& conn) = 0;
};

}  // namespace ringshard::engine
