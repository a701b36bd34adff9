// server/systemd_notify.h: the systemd service notification protocol
// (sd_notify(3)), without libsystemd: datagrams to $NOTIFY_SOCKET telling
// the service manager that ringshard is ready, reloading, stopping or still
// alive (the watchdog).
//
// $NOTIFY_SOCKET is a filesystem path ("/run/systemd/notify") or an
// abstract socket name starting with '@' (sent with a leading NUL). When it
// is unset, empty or of another form (e.g. "vsock:"), every call is a no-op
// that returns false, so the binary behaves the same outside systemd.
//
// Messages (each one datagram, newline-separated assignments):
//   ready()      "READY=1\nMAINPID=<pid>"
//   reloading()  "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in us>"
//                (Type=notify-reload: send it when a reload starts, then
//                ready() when it is done)
//   stopping()   "STOPPING=1"
//   watchdog()   "WATCHDOG=1"
//   status(t)    "STATUS=<t>" (newlines in t become spaces)
//
// Ownership and threads: a SystemdNotifier owns one AF_UNIX datagram
// socket (close-on-exec), opened by the constructor; sends are single
// sendto() calls that never block (MSG_DONTWAIT), so a call is safe from
// the control thread; one object must not be used by two threads at once.
// It reads the environment only in from_environment() and
// watchdog_interval(), and never unsets it. Allocates only the message.
//
// Example (server/main.cc):
//   auto notify = SystemdNotifier::from_environment();
//   auto watchdog = watchdog_interval();        // ping at half of it
//   notify.ready();
//   ... on SIGHUP: notify.reloading(); reload; notify.ready();
//   ... every *watchdog / 2: notify.watchdog();
//   ... on SIGTERM: notify.stopping();
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::server {

class SystemdNotifier {
 public:
  // A notifier for $NOTIFY_SOCKET (a no-op one when it is unset).
  static SystemdNotifier from_environment();

  // A notifier for this socket address ("/path" or "@abstract"); any other
  // text (empty included) gives a no-op notifier.
  explicit SystemdNotifier(std::string_view notify_socket);
  ~SystemdNotifier();
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Whether there is a socket to notify.
  bool enabled() const { return fd_ >= 0; }

  // Each returns whether the datagram was sent (false when disabled or when
  // sendto failed, e.g. nobody listens; the caller carries on either way).
  bool ready();
  bool reloading();
  bool stopping();
  bool watchdog();
  bool status(std::string_view text);
  // Any message (for tests and for fields not covered above).
  bool send(std::string_view message);

 private:
  int fd_ = -1;
  std::string address_;  // sun_path bytes; a leading '\0' for an abstract name
};

// The watchdog interval from $WATCHDOG_USEC, or nothing: unset, not a
// positive number, or $WATCHDOG_PID set to another process than this one.
// Ping at about half of it.
std::optional<std::chrono::microseconds> watchdog_interval();

// The same from given values (nullptr = unset), for tests.
std::optional<std::chrono::microseconds> watchdog_interval(const char* watchdog_usec,
                                                           const char* watchdog_pid, pid_t self);

}  // namespace ringshard::server
