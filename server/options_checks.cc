// server/options_checks.cc: the checks that involve two settings.
#include "server/options_checks.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "engine/socket_address.h"

namespace ringshard::server::options_detail {
namespace {

// A listen host as address family and bytes; family AF_UNSPEC and all zero
// bytes for a host that is no IP literal.
struct Binary {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
};

Binary binary(const std::string& host) {
  Binary b;
  std::optional<engine::SocketAddress> a = engine::resolve_literal(host, 0);
  if (!a) return b;
  b.family = a->family();
  if (b.family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(a->address());
    std::memcpy(b.bytes, &v4->sin_addr, sizeof v4->sin_addr);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a->address());
    std::memcpy(b.bytes, &v6->sin6_addr, sizeof v6->sin6_addr);
  }
  return b;
}

bool is_any(const Binary& b) {
  return std::all_of(std::begin(b.bytes), std::end(b.bytes),
                     [](unsigned char c) { return c == 0; });
}

}  // namespace

// The engine binds every listener with SO_REUSEPORT, so the kernel would
// accept the same address twice and split its connections between HTTP and
// HTTPS, and a wildcard beside a specific address would lose that address's
// clients to the other protocol; hence an error here rather than a quiet
// bind. Port 0 (a free port each) never collides.
std::optional<std::string> tls_listen_conflict(const Options& o) {
  if (!o.tls_listen || o.tls_listen->port == 0 ||
      o.tls_listen->port != o.listen.port) {
    return std::nullopt;
  }
  Binary http = binary(o.listen.host);
  Binary https = binary(o.tls_listen->host);
  std::string tls_text = format_listen_address(*o.tls_listen);
  if (http.family == https.family &&
      std::equal(std::begin(http.bytes), std::end(http.bytes), https.bytes)) {
    return "tls listen address " + tls_text + " is the same as listen";
  }
  // 0.0.0.0 covers every IPv4 address; :: (dual-stack) covers everything.
  bool overlap = (is_any(http) && (http.family == AF_INET6 || https.family == AF_INET)) ||
                 (is_any(https) && (https.family == AF_INET6 || http.family == AF_INET));
  if (!overlap) return std::nullopt;
  return "tls listen address " + tls_text + " overlaps listen (" +
         format_listen_address(o.listen) + ")";
}

std::optional<std::string> tls_pair_counts(const Options& o) {
  size_t certs = o.tls_certs.size();
  size_t keys = o.tls_keys.size();
  if (certs == keys) return std::nullopt;
  return "(" + std::to_string(certs) + (certs == 1 ? " certificate, " : " certificates, ") +
         std::to_string(keys) + (keys == 1 ? " key)" : " keys)");
}

}  // namespace ringshard::server::options_detail
