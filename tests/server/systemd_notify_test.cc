// Tests for server/systemd_notify.h: the exact datagrams, received on a real
// AF_UNIX datagram socket bound by the test (a path in a temporary
// directory, and an abstract name), and the watchdog environment rules.
#include "server/systemd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace ringshard::server {
namespace RS_UNITY_ID {

// A bound datagram socket standing in for systemd's notification socket.
class Listener {
 public:
  // `name` is a path, or "@name" for an abstract socket.
  explicit Listener(std::string name) : name_(std::move(name)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name_.data(), name_.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    if (name_[0] == '@') {
      addr.sun_path[0] = '\0';
    } else {
      ++length;  // the path's NUL
    }
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), length), 0) << strerror(errno);
  }
  ~Listener() {
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }

  // The next datagram, or "<none>" after a second.
  std::string receive() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return "<none>";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
  }
  bool quiet() {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
  }

 private:
  std::string name_;
  int fd_ = -1;
};

std::string temp_socket_path() {
  std::string dir = testing::TempDir() + "ringshard_notify_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir + "/notify.sock";
}

std::string abstract_name() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return "@ringshard-test-" + std::to_string(getpid()) + "-" + std::to_string(now.tv_nsec);
}

uint64_t monotonic_usec() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
}

void expect_every_message(const std::string& address) {
  Listener listener(address);
  SystemdNotifier notify(address);
  ASSERT_TRUE(notify.enabled());

  ASSERT_TRUE(notify.ready());
  EXPECT_EQ(listener.receive(), "READY=1\nMAINPID=" + std::to_string(getpid()));

  uint64_t before = monotonic_usec();
  ASSERT_TRUE(notify.reloading());
  uint64_t after = monotonic_usec();
  std::string reloading = listener.receive();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(reloading.rfind(prefix, 0), 0u) << reloading;
  uint64_t usec = std::stoull(reloading.substr(prefix.size()));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
  EXPECT_EQ(reloading.find_first_not_of("0123456789", prefix.size()), std::string::npos);

  ASSERT_TRUE(notify.stopping());
  EXPECT_EQ(listener.receive(), "STOPPING=1");
  ASSERT_TRUE(notify.watchdog());
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
  ASSERT_TRUE(notify.status("draining 3 connections"));
  EXPECT_EQ(listener.receive(), "STATUS=draining 3 connections");
  // A newline in the text cannot add an assignment.
  ASSERT_TRUE(notify.status("ok\nREADY=1"));
  EXPECT_EQ(listener.receive(), "STATUS=ok READY=1");
  EXPECT_TRUE(listener.quiet());
}

TEST(SystemdNotify, SendsExactDatagramsToAPath) { expect_every_message(temp_socket_path()); }

TEST(SystemdNotify, SendsExactDatagramsToAnAbstractSocket) {
  expect_every_message(abstract_name());
}

TEST(SystemdNotify, ReadsNotifySocketFromTheEnvironment) {
  std::string address = abstract_name();
  Listener listener(address);
  ASSERT_EQ(setenv("NOTIFY_SOCKET", address.c_str(), 1), 0);
  SystemdNotifier notify = SystemdNotifier::from_environment();
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(notify.enabled());
  // Moved, it still owns the one socket.
  SystemdNotifier moved = std::move(notify);
  EXPECT_FALSE(notify.enabled());  // NOLINT(bugprone-use-after-move): documented state
  ASSERT_TRUE(moved.watchdog());
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
}

TEST(SystemdNotify, IsANoOpWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  SystemdNotifier notify = SystemdNotifier::from_environment();
  EXPECT_FALSE(notify.enabled());
  EXPECT_FALSE(notify.ready());
  EXPECT_FALSE(notify.reloading());
  EXPECT_FALSE(notify.stopping());
  EXPECT_FALSE(notify.watchdog());
  EXPECT_FALSE(notify.status("x"));
  for (const char* address : {"", "relative/path", "vsock:2:1234", "@", "/"}) {
    EXPECT_FALSE(SystemdNotifier(address).enabled()) << address;
  }
  EXPECT_FALSE(SystemdNotifier("/" + std::string(200, 'x')).enabled());
}

TEST(SystemdNotify, NobodyListeningIsNotAnError) {
  SystemdNotifier notify(temp_socket_path());  // nothing bound there
  EXPECT_TRUE(notify.enabled());
  EXPECT_FALSE(notify.ready());
}

TEST(SystemdNotify, WatchdogInterval) {
  using std::chrono::microseconds;
  EXPECT_EQ(watchdog_interval("30000000", nullptr, 42), microseconds(30'000'000));
  EXPECT_EQ(watchdog_interval("30000000", "", 42), microseconds(30'000'000));
  EXPECT_EQ(watchdog_interval("30000000", "42", 42), microseconds(30'000'000));
  EXPECT_EQ(watchdog_interval("30000000", "43", 42), std::nullopt);  // another process's
  EXPECT_EQ(watchdog_interval("30000000", "x", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval(nullptr, nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("0", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("-5", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("10s", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("99999999999999999999999", nullptr, 42), std::nullopt);
}

TEST(SystemdNotify, WatchdogIntervalFromTheEnvironment) {
  ASSERT_EQ(setenv("WATCHDOG_USEC", "5000000", 1), 0);
  ASSERT_EQ(setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1), 0);
  EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(5'000'000));
  ASSERT_EQ(setenv("WATCHDOG_PID", "1", 1), 0);
  EXPECT_EQ(watchdog_interval(), std::nullopt);
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(5'000'000));
  unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(watchdog_interval(), std::nullopt);
}

}  // namespace
}  // namespace ringshard::server
