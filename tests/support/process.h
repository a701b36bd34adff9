// tests/support/process.h: runs the ringshard binary as a child process for
// tests of its process-level behaviour (signals, exit codes), with stderr
// captured through a pipe. The destructor kills (SIGKILL) and reaps a child
// that is still running: only the child this object started.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ringshard::test {

class ChildProcess {
 public:
  // `before_exec` runs in the child between fork and exec (e.g. to install
  // a seccomp filter).
  explicit ChildProcess(const std::vector<std::string>& args,
                        std::function<void()> before_exec = nullptr);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads stderr until a line containing `needle` arrives; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle, int timeout_ms = 10'000);
  // The port from the "listening on HOST:PORT" line.
  std::optional<uint16_t> wait_for_port(int timeout_ms = 10'000);
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed), or nullopt
  // on timeout.
  std::optional<int> wait_exit(int timeout_ms = 10'000);
  const std::string& output() const { return output_; }

 private:
  bool read_some(int timeout_ms);
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  std::string output_;
  size_t scanned_ = 0;
};

// Polls until connecting to 127.0.0.1:port is refused (1 ms steps, up to
// 10 s): every shard has closed its listener.
bool refuses_connections(uint16_t port);

}  // namespace ringshard::test
