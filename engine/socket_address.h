// engine/socket_address.h: "HOST:PORT" text and IP-literal socket addresses.
//
// The one parser of host and port in ringshard. The server's --listen and
// --tls-listen (server/options.h), ringshard-load's URL authority, the floor
// server's --listen and the engine's listeners (engine/listener.h) all use
// it, so they accept the same hosts. There is no name lookup: a host is an
// IP literal, "localhost" or the wildcard, never a DNS name, so nothing here
// blocks.
//
// Pure functions with no global state: any thread may call them.
// parse_host_port() allocates the host string it returns; resolve_literal()
// allocates nothing.
//
// Example:
//   auto hp = engine::parse_host_port("[::1]:8080");  // {"::1", 8080, kIpv6}
//   auto sa = engine::resolve_literal(hp->host, hp->port);
//   if (sa) ::bind(fd, sa->address(), sa->length);
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::engine {

// What a parsed HOST was, and the canonical text HostPort::host holds for it.
enum class HostKind {
  kAny,        // "" or "*": every IPv4 address; host "0.0.0.0"
  kLocalhost,  // "localhost" in any case; host "localhost" (127.0.0.1)
  kIpv4,       // a dotted quad: four decimal parts 0..255, no leading zeros
  kIpv6,       // a bracketed IPv6 literal, no zone id; host without brackets
};

struct HostPort {
  std::string host;  // canonical, see HostKind
  uint16_t port = 0;
  HostKind kind = HostKind::kAny;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "HOST:PORT", "[V6]:PORT" or ":PORT". PORT is decimal digits only,
// 0..65535 (leading zeros allowed; no sign, no spaces). With `default_port`
// the ":PORT" may be left out ("127.0.0.1", "[::1]", "localhost"), as in a
// URL authority. Anything else is nullopt: a DNS name, an unbracketed IPv6
// literal ("::1:80" is ambiguous), a zone id, a NUL byte, a bare "8080".
std::optional<HostPort> parse_host_port(
    std::string_view text, std::optional<uint16_t> default_port = std::nullopt);

// An IPv4 or IPv6 socket address with its length, ready for bind/connect.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// The socket address of `host` and `port`. `host` is any HOST that
// parse_host_port() accepts ("", "*", "localhost" in any case -> 127.0.0.1,
// a dotted quad, "[v6]") or an unbracketed IPv6 literal ("::1", as
// HostPort::host holds it). Anything else is nullopt: no DNS.
std::optional<SocketAddress> resolve_literal(std::string_view host, uint16_t port);

// The IP address of `sa` as text ("192.0.2.1", "2001:db8::1"; no port, no
// brackets) in `buf`, or "" for another family or too small a buffer.
// IPv4 is formatted here, without inet_ntop's sprintf (the reverse proxy
// writes one per request); IPv6 by inet_ntop. kAddressTextMax fits both.
inline constexpr size_t kAddressTextMax = 46;  // INET6_ADDRSTRLEN
std::string_view address_text(const sockaddr* sa, char* buf, size_t size);

}  // namespace ringshard::engine
