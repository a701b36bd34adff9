// engine/connection.h: one TCP connection on one shard, and the interface a
// protocol layer implements to drive it.
//
// A Connection lives in its shard's slab and never leaves that shard. The
// protocol layer (the HTTP driver; later TLS and WebSocket) is a
// ConnectionHandler: one handler object per shard serves all its
// connections, and per-connection protocol state hangs off context(). A
// WebSocket upgrade swaps the handler on the same connection.
//
// Received bytes arrive in on_data() as a view into a provided ring buffer,
// valid only during the call: the buffer goes back to the kernel as soon as
// the handler returns. Bytes that must outlive it are copied by the handler.
//
// Output is corked: write() only queues (see output_queue.h); the shard sends
// everything queued during a loop turn in one sendmsg at the end of it.
// Backpressure: once more than the shard's send_queue_limit is queued, the
// connection stops reading until the queue falls under half of it, then
// calls on_writable() if request_writable() was called.
//
// Closing: close() cancels the connection's in-flight operations, waits for
// their last completions and only then closes the fd (never close() under a
// pending op). close_after_flush() first sends what is queued, then (with
// linger) half-closes and waits briefly for the peer's FIN so the peer reads
// the last response instead of a reset.
//
// A connection may carry a Transport (engine/transport.h, e.g. TLS): then
// on_data() sees plaintext and write() queues plaintext, which the transport
// seals into the wire queue before each send; the handler cannot tell.
//
// Thread: every member may be called only from the owning shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/output_queue.h"
#include "engine/timer_wheel.h"
#include "engine/transport.h"

namespace ringshard::engine {

class Shard;
class Connection;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // A new connection was accepted, or an outbound one connected.
  virtual void on_open(Connection&) {}
  // An outbound connect failed (`error` is an errno value). on_close()
  // follows.
  virtual void on_connect_failed(Connection&, int /*error*/) {}
  // Bytes arrived; `data` is valid only during this call.
  virtual void on_data(Connection& conn, std::span<const char> data) = 0;
  // The queue drained after request_writable() (backpressure lifted).
  virtual void on_writable(Connection&) {}
  // The peer half-closed (EOF). Default: close.
  virtual void on_peer_closed(Connection& conn);
  // The connection's timer fired. Default: close.
  virtual void on_timeout(Connection& conn);
  // The shard started draining (SIGTERM). Default: close.
  virtual void on_drain(Connection& conn);
  // The connection is going away: release per-connection state. No other
  // callback follows. Queued output has been dropped.
  virtual void on_close(Connection&) {}
};

class Connection {
 public:
  enum class State : uint8_t {
    kFree,        // slot unused
    kConnecting,  // outbound connect in flight
    kOpen,        // reading and writing
    kFlushing,  // close_after_flush(): sending the rest, input ignored
    kLinger,    // half-closed, waiting for the peer's FIN or the linger timer
    kClosing,   // cancelling in-flight operations before close(fd)
  };

  uint32_t slot() const { return slot_; }
  uint32_t generation() const { return generation_; }
  int fd() const { return fd_; }
  Shard& shard() const { return *shard_; }
  State state() const { return state_; }
  bool is_open() const { return state_ == State::kOpen; }
  bool outbound() const { return outbound_; }

  ConnectionHandler* handler() const { return handler_; }
  // The listener that accepted it (index into the engine's listeners);
  // 0 for outbound connections.
  unsigned listener() const { return listener_; }
  Transport* transport() const { return transport_; }
  void* transport_context() const { return transport_context_; }
  void set_transport_context(void* c) { transport_context_ = c; }
  void set_handler(ConnectionHandler* h) { handler_ = h; }
  void* context() const { return context_; }
  void set_context(void* c) { context_ = c; }

  // Output. All of these queue; nothing is sent before the loop turn ends.
  void write(std::string_view bytes);
  // Up to `want` writable bytes at the tail (got says how many), filled in
  // place and then commit()ed. Null (got 0) unless the connection is open.
  char* reserve(size_t want, size_t& got);
  void commit(size_t used);
  // `n` contiguous bytes to fill in place (n <= 16 KiB), then commit().
  // Null if n is larger or the connection is not open.
  char* reserve_contiguous(size_t n);
  void write_borrowed(std::string_view bytes, OutputQueue::Release release,
                      void* context);
  size_t queued_bytes() const { return out_.size() + wire_.size(); }
  // True while the queue is over the shard's send_queue_limit.
  bool over_send_limit() const;
  // Ask for one on_writable() once the queue is under half the limit.
  void request_writable();

  // For the transport: bytes that go on the wire as they are (handshake
  // messages, records), while open or flushing. reserve_wire()/commit_wire()
  // fill in place like reserve()/commit().
  void write_wire(std::string_view bytes);
  char* reserve_wire(size_t want, size_t& got);
  void commit_wire(size_t used);

  // Starts `transport` on an open connection that has none yet: TLS inside
  // an HTTP CONNECT tunnel, after the proxy's 200. From now on received
  // bytes go through the transport and what the handler writes is sealed
  // by it. transport->on_open() runs now and, once its handshake is done,
  // calls the handler's on_open() a second time (a failed handshake is
  // on_connect_failed, then a close, as for a connect). False, with nothing
  // changed, unless the connection is open, has no transport, and has no
  // plaintext queued or in flight (it would go out unsealed or be sealed
  // twice): call it from on_data, once what was written has been sent.
  bool start_transport(Transport* transport);

  // Input flow control, for protocol-level backpressure (e.g. a handler
  // that is waiting on an async response stops reading pipelined requests).
  void pause_reading();
  void resume_reading();
  bool reading_paused() const { return read_paused_; }

  // The connection's single timer (header, body, idle... one at a time).
  void set_timeout(uint64_t ms_from_now);
  void clear_timeout();

  void close();
  // `linger`: after the last byte, half-close and wait for the peer's FIN
  // (up to EngineConfig::linger_ms) instead of closing at once. Needed when
  // the peer may still be sending (an error answered mid-request); not after
  // a response to a request that asked for Connection: close.
  void close_after_flush(bool linger = true);

 private:
  friend class Shard;
  friend class ConnectionSlab;

  void mark_dirty();
  // The queue the socket sends from.
  OutputQueue& sendq() { return transport_ != nullptr ? wire_ : out_; }
  bool ops_pending() const {
    return recv_armed_ || send_in_flight_ || connect_in_flight_ || cancel_in_flight_ != 0;
  }

  Shard* shard_ = nullptr;
  ConnectionHandler* handler_ = nullptr;
  void* context_ = nullptr;
  Transport* transport_ = nullptr;
  void* transport_context_ = nullptr;
  OutputQueue out_;   // what the handler wrote (plaintext under a transport)
  OutputQueue wire_;  // under a transport: what goes on the wire
  TimerEntry timer_;
  Connection* next_dirty_ = nullptr;  // intrusive list of connections to flush
  int fd_ = -1;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint32_t next_free_ = 0;
  uint8_t cancel_in_flight_ = 0;
  uint8_t listener_ = 0;
  State state_ = State::kFree;
  bool recv_armed_ = false;
  bool connect_in_flight_ = false;
  bool send_in_flight_ = false;
  bool recv_cancel_pending_ = false;
  bool read_paused_ = false;      // the handler asked to stop reading
  bool backpressured_ = false;    // the send queue is over its limit
  bool want_writable_ = false;
  bool dirty_ = false;
  bool linger_ = true;
  bool peer_eof_ = false;
  bool outbound_ = false;         // made by Shard::connect
};

}  // namespace ringshard::engine
