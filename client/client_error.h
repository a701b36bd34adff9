// client/client_error.h: why an outbound HTTP exchange failed, as one small
// enum the HTTP client reports (ResponseSink::on_error) and counts per
// upstream (client_metrics.h), and the reverse proxy maps to 502/504.
//
// Pure; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringshard::client {

enum class ClientError : uint8_t {
  kNone = 0,
  kResolveFailed,     // the upstream's name did not resolve
  kConnectFailed,     // every address refused or was unreachable
  kConnectTimeout,    // the connect (TLS handshake included) ran past its deadline
  kTlsFailed,         // handshake failed: verification, pin mismatch, alert
  kPoolFull,          // cap reached and the wait queue is full
  kPoolTimeout,       // waited for a pooled connection past the wait timeout
  kFirstByteTimeout,  // request sent, no response byte in time
  kIdleTimeout,       // the response stalled between body bytes
  kRequestTimeout,    // the whole exchange ran past its deadline
  kBadResponse,       // malformed or over-limit response: never passed on
  kReset,             // the connection closed before the response ended
  kCancelled,         // counted only: a cancelled exchange gets no callback
  kInvalidRequest,    // method, target or a header would not be valid HTTP
  kCount,
};

inline constexpr size_t kClientErrorCount = static_cast<size_t>(ClientError::kCount);

constexpr std::string_view client_error_name(ClientError e) {
  switch (e) {
    case ClientError::kNone: return "none";
    case ClientError::kResolveFailed: return "resolve_failed";
    case ClientError::kConnectFailed: return "connect_failed";
    case ClientError::kConnectTimeout: return "connect_timeout";
    case ClientError::kTlsFailed: return "tls_failed";
    case ClientError::kPoolFull: return "pool_full";
    case ClientError::kPoolTimeout: return "pool_timeout";
    case ClientError::kFirstByteTimeout: return "first_byte_timeout";
    case ClientError::kIdleTimeout: return "idle_timeout";
    case ClientError::kRequestTimeout: return "request_timeout";
    case ClientError::kBadResponse: return "bad_response";
    case ClientError::kReset: return "reset";
    case ClientError::kCancelled: return "cancelled";
    case ClientError::kInvalidRequest: return "invalid_request";
    case ClientError::kCount: break;
  }
  return "unknown";
}

}  // namespace ringshard::client
