// tls/session.h: one TLS connection's state machine, independent of sockets.
//
// A Session wraps a BoringSSL SSL object whose BIO reads from the bytes
// handed to receive() (a view into the engine's receive buffer: nothing is
// copied before BoringSSL assembles its record) and writes through a sink
// (the engine connection's wire queue). It runs the handshake, opens
// records into a caller's scratch buffer and seals plaintext into records.
// The engine adapter (tls/transport.h) drives it; tests, the fuzz target and
// benchmarks drive it directly over memory.
//
// Record sizing (seal()): the first bytes of a burst go out in records that
// fit one TCP segment, so a browser can start parsing after one packet;
// once a burst has carried kWarmBytes the records grow to the 16 KiB
// maximum (fewer AEAD calls and headers per byte). A burst ends after
// kBurstIdleMs without output.
//
// Thread: a Session belongs to one shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;
struct bio_st;

namespace ringshard::tls {

// Where a session's wire bytes go.
class WireSink {
 public:
  virtual ~WireSink() = default;
  virtual void wire(std::string_view bytes) = 0;
};

class Session {
 public:
  static constexpr size_t kSmallRecord = 1360;      // one segment on a 1500 MTU path
  static constexpr size_t kLargeRecord = 16 * 1024;  // the TLS maximum
  static constexpr uint64_t kWarmBytes = 64 * 1024;
  static constexpr uint64_t kBurstIdleMs = 1000;

  enum class Role : uint8_t { kServer, kClient };

  enum class Status : uint8_t {
    kHandshaking,   // more input needed
    kEstablished,   // plaintext flows
    kPeerClosed,    // the peer sent close_notify
    kFailed,        // fatal error; an alert may have been queued to the sink
  };

  // What receive() did.
  struct Received {
    Status status = Status::kHandshaking;
    bool handshake_completed = false;  // during this call
  };

  Session() = default;
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts a session on `ctx` (a server or client SSL_CTX). `app` is
  // attached as the SSL's app data for the context's callbacks. False when
  // BoringSSL could not allocate.
  bool start(ssl_ctx_st* ctx, Role role, WireSink* sink, void* app);
  // Client: the ClientHello goes to the sink. Returns false on failure.
  bool begin_handshake();
  void reset();  // frees the SSL; start() may be called again
  bool started() const { return ssl_ != nullptr; }

  // What receive() calls. Each returns false to stop (the connection went
  // away); input not yet used is then dropped.
  struct Events {
    bool (*established)(void* ctx);  // the handshake just completed
    bool (*plaintext)(void* ctx, std::span<const char> bytes);
    void* ctx;
  };
  // Feeds ciphertext: advances the handshake (its replies go to the sink),
  // then opens every complete record into `scratch` and hands the plaintext
  // on. A partial record stays buffered inside BoringSSL.
  Received receive(std::span<const char> ciphertext, std::span<char> scratch,
                   const Events& events);

  // Seals `plaintext` into records written to the sink; `now_ms` drives
  // record sizing. Returns false if the session cannot write.
  bool seal(std::string_view plaintext, uint64_t now_ms);
  // Seals several pieces, coalescing small ones into shared records via
  // `staging` (at least kLargeRecord bytes).
  bool seal(std::span<const std::string_view> pieces, std::span<char> staging, uint64_t now_ms);
  // Queues close_notify (once).
  void close_notify();
  // Ends the session on our side with a fatal internal_error alert queued
  // to the sink (when BoringSSL can still write one); status kFailed.
  void fail_with_alert();

  Status status() const { return status_; }
  bool established() const { return status_ == Status::kEstablished; }
  // The alert we sent or received that ended the session (0: none).
  uint8_t alert_sent() const { return alert_sent_; }
  uint8_t alert_received() const { return alert_received_; }
  // A short reason for a failure, for counters and logs.
  const char* failure() const { return failure_; }
  bool resumed() const;
  const char* version() const;  // "TLSv1.3"
  std::string_view alpn() const;
  ssl_st* ssl() const { return ssl_; }
  void* app() const { return app_; }
  // The clock the session's callbacks see (ticket key periods), in the
  // engine's milliseconds; the driver sets it before each receive().
  uint64_t now_ms() const { return now_ms_; }
  void set_now_ms(uint64_t ms) { now_ms_ = ms; }

  // For the BIO and info callbacks (tls/session.cc).
  size_t read_input(char* out, size_t n);
  void write_output(const char* data, size_t n) { sink_->wire(std::string_view(data, n)); }
  void note_alert(bool sent, uint8_t code);

 private:
  size_t record_size(uint64_t now_ms);
  bool write_record(const char* data, size_t n);

  ssl_st* ssl_ = nullptr;
  WireSink* sink_ = nullptr;
  void* app_ = nullptr;
  std::span<const char> input_;
  const char* failure_ = nullptr;
  uint64_t burst_bytes_ = 0;
  uint64_t last_seal_ms_ = 0;
  uint64_t now_ms_ = 0;
  Status status_ = Status::kHandshaking;
  uint8_t alert_sent_ = 0;
  uint8_t alert_received_ = 0;
  bool close_notify_sent_ = false;
};

}  // namespace ringshard::tls
