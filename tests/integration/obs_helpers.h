// tests/integration/obs_helpers.h: helpers for the tests that run the
// ringshard binary and check what operators see of it: the admin port from
// its log, a scratch directory, the lines of a file, one sample of a
// Prometheus exposition, and a systemd notification socket.
//
// Test code only: every call blocks, with a bound, on the calling thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ringshard::test {

// The binary with the flags every child of these tests gets (HTTP on
// 127.0.0.1:0, 2 shards, no TLS), then `extra`.
std::vector<std::string> obs_server_args(const std::vector<std::string>& extra);

// The port from the "admin on HOST:PORT (...)" line (text or JSON log).
// Call after wait_for_port(): the admin line comes after "listening on".
std::optional<uint16_t> wait_for_admin_port(ChildProcess& server, int timeout_ms = 10'000);

// A fresh directory under testing::TempDir(), removed with its contents.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The whole file ("" if it cannot be read), and its complete lines
// (a last line without '\n' is left out: it is still being written).
std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);
std::vector<std::string> split_lines(const std::string& text);
void write_file(const std::string& path, const std::string& text);

// The value of one sample in a Prometheus text exposition: `series` is the
// metric name with its labels exactly as the server writes them, e.g.
// R"(ringshard_shards)" or R"(x_total{route="/a",code="200"})".
std::optional<double> sample_value(const std::string& exposition, const std::string& series);
// Every sample line whose series starts with `prefix`.
std::vector<std::string> sample_lines(const std::string& exposition, const std::string& prefix);

// An AF_UNIX datagram socket bound in a scratch directory, standing in for
// systemd's $NOTIFY_SOCKET. receive() waits at most timeout_ms
// (SO_RCVTIMEO) and returns the datagram, or nullopt on timeout.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path, int timeout_ms = 5'000);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  std::optional<std::string> receive();
  // The next datagram that is not "WATCHDOG=1" (counted in *watchdogs).
  std::optional<std::string> receive_skipping_watchdog(int* watchdogs = nullptr);

 private:
  std::string path_;
  int fd_ = -1;
};

// CLOCK_MONOTONIC in microseconds (what MONOTONIC_USEC= carries).
uint64_t monotonic_usec();

}  // namespace ringshard::test
