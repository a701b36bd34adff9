// server/systemd_notify.cc: sd_notify's wire format over an AF_UNIX
// datagram socket (protocol: sd_notify(3), "Notification socket").
#include "server/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace ringshard::server {
namespace {

// Decimal digits only, no sign, no overflow; 0 for anything else.
uint64_t parse_positive(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  uint64_t v = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return 0;
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(*p - '0'), &v)) {
      return 0;
    }
  }
  return v;
}

}  // namespace

SystemdNotifier SystemdNotifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return SystemdNotifier(socket != nullptr ? socket : "");
}

SystemdNotifier::SystemdNotifier(std::string_view notify_socket) {
  // sun_path holds 108 bytes; a path needs its terminating NUL, an
  // abstract name does not.
  if (notify_socket.size() < 2 || notify_socket.size() >= sizeof(sockaddr_un::sun_path) ||
      (notify_socket[0] != '/' && notify_socket[0] != '@') ||
      notify_socket.find('\0') != std::string_view::npos) {
    return;
  }
  address_ = std::string(notify_socket);
  if (address_[0] == '@') address_[0] = '\0';
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), address_(std::move(other.address_)) {}

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    address_ = std::move(other.address_);
  }
  return *this;
}

bool SystemdNotifier::send(std::string_view message) {
  if (fd_ < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  // An abstract name's length is exactly its bytes; a path's includes the NUL.
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                            (address_[0] == '\0' ? 0 : 1));
  ssize_t n = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                       reinterpret_cast<const sockaddr*>(&addr), length);
  return n == static_cast<ssize_t>(message.size());
}

bool SystemdNotifier::ready() {
  return send("READY=1\nMAINPID=" + std::to_string(::getpid()));
}

bool SystemdNotifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1'000'000 +
                  static_cast<uint64_t>(now.tv_nsec) / 1000;
  return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool SystemdNotifier::stopping() { return send("STOPPING=1"); }

bool SystemdNotifier::watchdog() { return send("WATCHDOG=1"); }

bool SystemdNotifier::status(std::string_view text) {
  // A newline would start another assignment: the text could forge one.
  std::string message = "STATUS=";
  for (char c : text) message += (c == '\n' || c == '\r') ? ' ' : c;
  return send(message);
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  return watchdog_interval(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"),
                           ::getpid());
}

std::optional<std::chrono::microseconds> watchdog_interval(const char* watchdog_usec,
                                                           const char* watchdog_pid,
                                                           pid_t self) {
  // systemd sets WATCHDOG_PID so that a child that inherited the
  // environment does not answer for its parent.
  if (watchdog_pid != nullptr && *watchdog_pid != '\0' &&
      parse_positive(watchdog_pid) != static_cast<uint64_t>(self)) {
    return std::nullopt;
  }
  uint64_t usec = parse_positive(watchdog_usec);
  if (usec == 0 || usec > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return std::chrono::microseconds(static_cast<int64_t>(usec));
}

}  // namespace ringshard::server
