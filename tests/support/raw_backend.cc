#include "tests/support/raw_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace ringshard::test {
namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

RawBackend::RawBackend(Behavior behavior) : behavior_(behavior) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return;  // port() stays 0: the test fails on it
  }
  port_ = ntohs(addr.sin_port);
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

RawBackend::~RawBackend() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void RawBackend::run() {
  struct Conn {
    int fd;
    std::string in;
    bool silent = false;
  };
  std::vector<Conn> conns;
  char buf[4096];
  while (true) {
    std::vector<pollfd> p = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (const Conn& c : conns) p.push_back({c.fd, static_cast<short>(c.silent ? 0 : POLLIN), 0});
    if (::poll(p.data(), p.size(), -1) < 0) continue;
    if (p[1].revents != 0) break;
    for (size_t i = conns.size(); i-- > 0;) {
      if (p[i + 2].revents == 0) continue;
      Conn& c = conns[i];
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      bool keep = n > 0;
      if (keep) {
        c.in.append(buf, static_cast<size_t>(n));
        size_t end;
        while (keep && !c.silent && (end = c.in.find("\r\n\r\n")) != std::string::npos) {
          {
            std::lock_guard lock(head_mu_);
            last_head_.assign(c.in, 0, end);
          }
          c.in.erase(0, end + 4);
          requests_.fetch_add(1, std::memory_order_relaxed);
          keep = answer(c.fd, c.silent);
        }
      }
      if (!keep) {
        ::close(c.fd);
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (p[0].revents != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        connections_.fetch_add(1, std::memory_order_relaxed);
        conns.push_back({fd, {}});
      }
    }
  }
  for (const Conn& c : conns) ::close(c.fd);
}

bool RawBackend::answer(int fd, bool& silent) {
  switch (behavior_.load(std::memory_order_relaxed)) {
    case Behavior::kOk:
      return send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    case Behavior::kServerError:
      return send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    case Behavior::kGarbage:
      send_all(fd, "this is not HTTP at all\r\n\r\n");
      return false;
    case Behavior::kSilent:
      silent = true;  // held open, never answered, no longer read
      return true;
    case Behavior::kTruncated:
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
      return false;
    case Behavior::kCloseBeforeHead:
      return false;
  }
  return false;
}

}  // namespace ringshard::test
