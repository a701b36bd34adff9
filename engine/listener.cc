#include "engine/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/socket_address.h"

namespace ringshard::engine {

ListenResult open_listener(const std::string& host, uint16_t port, int backlog,
                           bool defer_accept) {
  ListenResult r;
  const std::optional<SocketAddress> addr = resolve_literal(host, port);
  if (!addr) {
    r.error = "invalid listen address '" + host + "' (want an IPv4 or IPv6 literal)";
    return r;
  }

  const int fd = ::socket(addr->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
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
  if (::bind(fd, addr->address(), addr->length) != 0) {
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
