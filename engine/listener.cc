#include "engine/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringshard::engine {

ListenResult open_listener(const std::string& host, uint16_t port, int backlog,
                           bool defer_accept) {
  ListenResult r;
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string h = host;
  if (h.empty() || h == "*") h = "0.0.0.0";
  if (h == "localhost") h = "127.0.0.1";
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    r.error = "invalid listen address '" + host + "' (want an IPv4 or IPv6 literal)";
    return r;
  }

  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r.error = std::string("socket(): ") + std::strerror(errno);
    return r;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  // Accepted sockets inherit TCP_NODELAY from the listener, which saves a
  // setsockopt per connection. Responses are corked by the engine already,
  // so Nagle has nothing left to coalesce.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (defer_accept) {
    const int defer_s = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    r.error = "bind " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return r;
  }
  if (::listen(fd, backlog) != 0) {
    r.error = std::string("listen(): ") + std::strerror(errno);
    ::close(fd);
    return r;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  r.port = ntohs(bound.ss_family == AF_INET
                     ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                     : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  r.fd = fd;
  return r;
}

}  // namespace ringshard::engine
