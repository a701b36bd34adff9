// tls/transport.h: TLS as an engine::Transport, so HTTP (and later
// WebSocket) run unchanged over it, inbound and outbound.
//
// One TlsTransport per shard and listener (server role) or per shard
// (client role). Per connection it keeps a TlsConnection: the Session and
// the context it started with. The handshake runs on the connection's
// receive buffers and send queue; the protocol handler is opened only once
// it completes. Records are opened into one per-shard scratch buffer and
// handed on as on_data(); the plaintext the handler queued during a loop
// turn is sealed in one pass before the send (Session::seal sizes the
// records).
//
// Failure handling, per connection and never affecting others:
//   - bad input (not TLS, a bad record, a fatal alert from the peer): the
//     alert BoringSSL chose goes out, then the connection closes;
//   - a client silent past the handshake timeout, or one that closes
//     mid-handshake: closed, counted;
//   - close: close_notify after the last response (close_after_flush);
//     the peer's close_notify reads as end of stream (on_peer_closed).
//
// Thread: the owning shard's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/connection.h"
#include "engine/metrics.h"
#include "engine/shard.h"
#include "engine/transport.h"
#include "tls/digest.h"
#include "tls/server_context.h"
#include "tls/session.h"

struct ssl_ctx_st;
struct ssl_session_st;

namespace ringshard::tls {

struct TlsMetrics {
  engine::Counter handshakes;          // completed
  engine::Counter resumed;             // of which with a session ticket
  engine::Counter handshake_failures;  // bad ClientHello, no common protocol, alert...
  engine::Counter handshake_timeouts;
  engine::Counter handshake_eof;       // the peer left mid-handshake
  engine::Counter record_errors;       // bad records after the handshake
  engine::Counter close_notify_received;
  engine::Counter truncated;           // TCP EOF without close_notify
  engine::Counter sni_unmatched;       // an SNI name no certificate has
  engine::Counter seal_failures;       // plaintext that could not be sealed: closed
  engine::Counter pin_mismatches;      // client: the server's key matched no pin (also a handshake failure)
};

// What a client connection needs (tls/client.h makes one).
struct ClientOptions {
  bool verify_peer = false;    // verify the chain and the name
  std::string ca_file;         // PEM roots when verifying; empty: system roots
  std::string server_name;     // SNI and the name verified; empty: none
  bool resume = false;         // offer the shard's last session ticket
  bool allow_tls12 = false;
  std::vector<std::string> alpn = {"http/1.1"};
  // Public-key pins, "sha256/BASE64" (tls/pinning.h): when not empty, the
  // handshake fails unless the leaf certificate's key matches one of them
  // (checked after the chain and name when verify_peer; on its own
  // otherwise). A malformed pin makes ClientContext::create fail. Resumed
  // sessions were pinned when first made (tickets are kept per context).
  std::vector<std::string> pins;
};

class ClientContext {
 public:
  ~ClientContext();
  static std::shared_ptr<const ClientContext> create(const ClientOptions& options,
                                                     std::string& error);
  ssl_ctx_st* ctx() const { return ctx_; }
  const ClientOptions& options() const { return options_; }
  // options().pins, parsed.
  const std::vector<Sha256>& pins() const { return pins_; }

 private:
  ClientContext() = default;
  ssl_ctx_st* ctx_ = nullptr;
  ClientOptions options_;
  std::vector<Sha256> pins_;
};

class TlsConnection;

class TlsTransport final : public engine::Transport {
 public:
  // Server role.
  TlsTransport(engine::Shard& shard, std::shared_ptr<const ServerContext> context,
               uint32_t handshake_timeout_ms);
  // Client role.
  TlsTransport(engine::Shard& shard, std::shared_ptr<const ClientContext> context,
               uint32_t handshake_timeout_ms);
  ~TlsTransport() override;

  // New handshakes use `context` (certificate reload); established and
  // in-progress ones keep theirs. Shard thread.
  void set_context(std::shared_ptr<const ServerContext> context);
  const TlsMetrics& metrics() const { return metrics_; }
  TlsMetrics& mutable_metrics() { return metrics_; }

  // For a connection on this transport: did it resume, what was negotiated.
  static const Session* session(const engine::Connection& conn);
  // Client role, from on_connect_failed until on_close: why the handshake
  // failed, in words ("certificate pin mismatch: ...", "certificate verify
  // failed: <X.509 reason>", BoringSSL's reason, "peer closed during the
  // handshake", "handshake timeout"); empty when it has not failed. The
  // view is valid until the connection's on_close returns.
  static std::string_view failure_reason(const engine::Connection& conn);

  // Tests only (shard thread): the next seal on this shard fails as if
  // BoringSSL had refused the write.
  void inject_seal_failure() { inject_seal_failure_ = true; }

  // Client role: the session ticket the shard received last (owned).
  void store_session(ssl_session_st* session);

  void on_open(engine::Connection& conn) override;
  void on_receive(engine::Connection& conn, std::span<const char> data) override;
  void on_flush(engine::Connection& conn, engine::OutputQueue& plain, bool closing) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_drain(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

 private:
  friend class TlsConnection;
  TlsConnection* acquire();
  void release(TlsConnection* tc);
  void fail_open(engine::Connection& conn, TlsConnection* tc, int error);
  // Fills tc.failure_reason for a failed handshake unless already set.
  void note_handshake_failure(TlsConnection& tc);

  engine::Shard& shard_;
  std::shared_ptr<const ServerContext> server_;
  std::shared_ptr<const ClientContext> client_;
  uint32_t handshake_timeout_ms_;
  ssl_session_st* last_session_ = nullptr;
  bool inject_seal_failure_ = false;
  TlsMetrics metrics_;
  std::vector<TlsConnection*> free_;
  std::vector<char> scratch_ = std::vector<char>(Session::kLargeRecord);  // opened records
  std::vector<char> staging_ = std::vector<char>(Session::kLargeRecord);  // small writes coalesced
};

}  // namespace ringshard::tls
