// tls/client.h: outbound TLS for engine connections (the load generator,
// later the HTTP client and the proxy).
//
//   auto ctx = tls::make_client_context({.server_name = "localhost"}, error);
//   auto transport = tls::make_client_transport(shard, ctx);   // per shard
//   shard.connect(addr, len, &handler, nullptr, transport.get());
//
// The handler's on_open runs once the handshake is done; a failed handshake
// is on_connect_failed(conn, EPROTO) (ETIMEDOUT, ECONNRESET) and a close.
// Plaintext in on_data and write() exactly as over plain TCP.
#pragma once

#include <memory>
#include <string>

#include "tls/transport.h"

namespace ringshard::tls {

inline constexpr uint32_t kDefaultHandshakeTimeoutMs = 10'000;

inline std::shared_ptr<const ClientContext> make_client_context(const ClientOptions& options,
                                                                std::string& error) {
  return ClientContext::create(options, error);
}

inline std::unique_ptr<TlsTransport> make_client_transport(
    engine::Shard& shard, std::shared_ptr<const ClientContext> context,
    uint32_t handshake_timeout_ms = kDefaultHandshakeTimeoutMs) {
  return std::make_unique<TlsTransport>(shard, std::move(context), handshake_timeout_ms);
}

inline bool session_resumed(const engine::Connection& conn) {
  const Session* s = TlsTransport::session(conn);
  return s != nullptr && s->resumed();
}

}  // namespace ringshard::tls
