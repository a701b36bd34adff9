// engine/socket_address.cc: host:port parsing and IP-literal resolution.
#include "engine/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ringshard::engine {
namespace {

// Decimal digits only, at most `max`. Checking the bound digit by digit
// means no length of input can overflow.
std::optional<uint32_t> parse_bounded(std::string_view text, uint32_t max) {
  if (text.empty()) return std::nullopt;
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

// Stricter than inet_pton's own rules on purpose: inet_pton would stop at an
// embedded NUL, and a rule written here reads the same on every libc.
bool is_ipv4(std::string_view host) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t dot = host.find('.', pos);
    std::string_view part =
        host.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (part.size() > 3 || (part.size() > 1 && part[0] == '0') || !parse_bounded(part, 255)) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return parts == 4;
}

// inet_pton wants a C string; the characters are checked first so that an
// embedded NUL cannot cut the text short.
bool to_ipv6(std::string_view host, in6_addr& out) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  for (char c : host) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  host.copy(buf, host.size());
  return inet_pton(AF_INET6, buf, &out) == 1;
}

bool to_ipv4(std::string_view host, in_addr& out) {
  if (!is_ipv4(host)) return false;
  char buf[INET_ADDRSTRLEN] = {};
  host.copy(buf, host.size());
  return inet_pton(AF_INET, buf, &out) == 1;
}

bool is_localhost(std::string_view host) {
  constexpr std::string_view kName = "localhost";
  if (host.size() != kName.size()) return false;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i] >= 'A' && host[i] <= 'Z' ? static_cast<char>(host[i] - 'A' + 'a') : host[i];
    if (c != kName[i]) return false;
  }
  return true;
}

bool is_bracketed(std::string_view host) {
  return host.size() >= 2 && host.front() == '[' && host.back() == ']';
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text,
                                        std::optional<uint16_t> default_port) {
  // Split off the port: after the bracket of a "[v6]", else after the last
  // colon (a host without brackets has none of its own).
  std::string_view host = text;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }

  HostPort out;
  if (port_text) {
    std::optional<uint32_t> port = parse_bounded(*port_text, 65535);
    if (!port) return std::nullopt;
    out.port = static_cast<uint16_t>(*port);
  } else if (default_port) {
    out.port = *default_port;
  } else {
    return std::nullopt;
  }

  in6_addr v6;
  if (host.empty() || host == "*") {
    out.kind = HostKind::kAny;
    out.host = "0.0.0.0";
  } else if (is_localhost(host)) {
    out.kind = HostKind::kLocalhost;
    out.host = "localhost";
  } else if (is_bracketed(host)) {
    host = host.substr(1, host.size() - 2);
    if (!to_ipv6(host, v6)) return std::nullopt;
    out.kind = HostKind::kIpv6;
    out.host = std::string(host);
  } else if (is_ipv4(host)) {
    out.kind = HostKind::kIpv4;
    out.host = std::string(host);
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<SocketAddress> resolve_literal(std::string_view host, uint16_t port) {
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (is_localhost(host)) host = "127.0.0.1";
  const bool bracketed = is_bracketed(host);  // brackets are for IPv6 only
  if (bracketed) host = host.substr(1, host.size() - 2);
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (!bracketed && to_ipv4(host, v4->sin_addr)) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  if (to_ipv6(host, v6->sin6_addr)) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

std::string_view address_text(const sockaddr* sa, char* buf, size_t size) {
  if (sa == nullptr) return {};
  if (sa->sa_family == AF_INET) {
    if (size < 16) return {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    const uint32_t a = ntohl(in->sin_addr.s_addr);
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
      const unsigned octet = (a >> shift) & 0xFF;
      if (octet >= 100) buf[n++] = static_cast<char>('0' + octet / 100);
      if (octet >= 10) buf[n++] = static_cast<char>('0' + octet / 10 % 10);
      buf[n++] = static_cast<char>('0' + octet % 10);
      if (shift != 0) buf[n++] = '.';
    }
    buf[n] = '\0';
    return {buf, n};
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, static_cast<socklen_t>(size)) == nullptr) return {};
    return buf;
  }
  return {};
}

}  // namespace ringshard::engine
