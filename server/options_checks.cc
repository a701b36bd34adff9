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
namespace {

// "<name> address A is the same as <other_name>" or "... overlaps
// <other_name> (B)" when `a` would take connections meant for `b`.
std::optional<std::string> conflict(const ListenAddress& a, std::string_view name,
                                    const ListenAddress& b, std::string_view other_name) {
  if (a.port == 0 || a.port != b.port) return std::nullopt;
  Binary other = binary(b.host);
  Binary self = binary(a.host);
  std::string text = std::string(name) + " address " + format_listen_address(a);
  if (other.family == self.family &&
      std::equal(std::begin(other.bytes), std::end(other.bytes), self.bytes)) {
    return text + " is the same as " + std::string(other_name);
  }
  // 0.0.0.0 covers every IPv4 address; :: (dual-stack) covers everything.
  bool overlap = (is_any(other) && (other.family == AF_INET6 || self.family == AF_INET)) ||
                 (is_any(self) && (self.family == AF_INET6 || other.family == AF_INET));
  if (!overlap) return std::nullopt;
  return text + " overlaps " + std::string(other_name) + " (" + format_listen_address(b) + ")";
}

}  // namespace

std::optional<std::string> tls_listen_conflict(const Options& o) {
  if (!o.tls_listen) return std::nullopt;
  return conflict(*o.tls_listen, "tls listen", o.listen, "listen");
}

// The same reasoning as for tls listen: SO_REUSEPORT would let the admin
// listener and a public one split each other's connections.
std::optional<AdminConflict> admin_listen_conflict(const Options& o) {
  if (!o.admin_listen) return std::nullopt;
  if (auto message = conflict(*o.admin_listen, "admin listen", o.listen, "listen")) {
    return AdminConflict{std::move(*message), false};
  }
  if (!o.tls_listen) return std::nullopt;
  if (auto message = conflict(*o.admin_listen, "admin listen", *o.tls_listen, "tls listen")) {
    return AdminConflict{std::move(*message), true};
  }
  return std::nullopt;
}

std::optional<std::string> tls_pair_counts(const Options& o) {
  size_t certs = o.tls_certs.size();
  size_t keys = o.tls_keys.size();
  if (certs == keys) return std::nullopt;
  return "(" + std::to_string(certs) + (certs == 1 ? " certificate, " : " certificates, ") +
         std::to_string(keys) + (keys == 1 ? " key)" : " keys)");
}

}  // namespace ringshard::server::options_detail
