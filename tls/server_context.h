// tls/server_context.h: the server side's BoringSSL configuration.
//
// A ServerContext is immutable: one SSL_CTX per certificate (the first is
// the default), with the protocol policy applied to each:
//   - TLS 1.3 only, or 1.2 as well with ECDHE + AEAD suites only;
//   - X25519 and P-256 key exchange; ECDSA and RSA certificates;
//   - ALPN: http/1.1, anything else refused with no_application_protocol
//     (a client that offers no ALPN is served HTTP/1.1);
//   - SNI: the first certificate whose names match the server name, exact
//     names before wildcards, else the default;
//   - session tickets under keys derived from a process-wide secret and the
//     current rotation period (TicketKeys), so every shard issues and
//     accepts the same tickets with no shared mutable state; a ticket from
//     the previous period is accepted and renewed. No session cache, no
//     0-RTT.
// Shards share it read-only (SSL_CTX is thread-safe for that); a reload
// builds a new one and swaps it in, and established connections keep the
// SSL_CTX they started with.
//
// Control plane: create() reads files and allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;

namespace ringshard::tls {

class Credential;

struct CertificateFiles {
  std::string cert;  // PEM chain, leaf first
  std::string key;   // PEM private key
};

struct ServerOptions {
  std::vector<CertificateFiles> certificates;  // the first is the default
  bool allow_tls12 = false;
  uint32_t ticket_rotation_s = 3600;  // 0: no session tickets
  std::vector<std::string> alpn = {"http/1.1"};
};

// The key material for session tickets. The secret is random per process;
// keys for rotation period e are derived from it, so any shard computes the
// same keys for the same period.
class TicketKeys {
 public:
  struct Keys {
    uint64_t period = ~uint64_t{0};
    uint8_t name[16];
    uint8_t aes[16];
    uint8_t hmac[32];
  };
  explicit TicketKeys(uint64_t rotation_ms);
  uint64_t rotation_ms() const { return rotation_ms_; }
  uint64_t period(uint64_t now_ms) const { return now_ms / rotation_ms_; }
  void derive(uint64_t period, Keys& out) const;
  // The period a key name was issued in, if it is one of ours.
  bool parse_name(const uint8_t name[16], uint64_t& period) const;

 private:
  uint64_t rotation_ms_;
  uint8_t secret_[32];
  uint8_t instance_[8];  // public prefix of every key name
};

class ServerContext {
 public:
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // Loads and checks every certificate; null with `error` naming the file
  // and cause when one fails. `now_unix` checks expiry.
  static std::shared_ptr<const ServerContext> create(const ServerOptions& options,
                                                     std::shared_ptr<const TicketKeys> tickets,
                                                     int64_t now_unix, std::string& error);

  ssl_ctx_st* default_ctx() const { return entries_.front().ctx; }
  // The context for an SNI name (lowercase); the default when none matches.
  ssl_ctx_st* select(std::string_view server_name, bool* matched = nullptr) const;
  const TicketKeys* tickets() const { return tickets_.get(); }
  const std::vector<std::string>& alpn() const { return alpn_; }
  // One line per certificate, for the log.
  std::vector<std::string> describe() const;

 private:
  struct Entry {
    ssl_ctx_st* ctx = nullptr;
    std::vector<std::string> names;
    std::string description;
  };
  ServerContext() = default;

  std::vector<Entry> entries_;
  std::shared_ptr<const TicketKeys> tickets_;
  std::vector<std::string> alpn_;
};

}  // namespace ringshard::tls
