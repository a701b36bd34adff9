// tests/support/nginx_backend.h: Debian's nginx (/usr/sbin/nginx) as a real
// backend for the reverse-proxy and client tests, on 127.0.0.1.
//
// Each instance runs one single-process nginx (master_process off, daemon
// off) from a temporary prefix directory of its own, with error_log on
// stderr (captured), no access log, and a `server` block made of the
// caller's directives. nginx cannot report the port it bound, so a free
// port is picked by binding port 0 and closing it; if nginx then fails to
// bind it (another process took it in between) the start is retried with a
// new port. start() returns once the port accepts connections.
//
//   NginxBackend nginx;
//   ASSERT_TRUE(nginx.start("location / { return 200 'hi'; }")) << nginx.error();
//   ... connect to 127.0.0.1:nginx.port() ...
//   nginx.stop();            // SIGTERM (graceful), then reaps
//   nginx.start_again();     // same port, same directives: a restart
//
// Tests that need it skip when /usr/sbin/nginx is missing (is_available).
// The destructor kills (SIGKILL) and reaps the nginx it started and removes
// its directory.
//
// Thread: one test thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/process.h"

namespace ringshard::test {

class NginxBackend {
 public:
  NginxBackend();
  ~NginxBackend();
  NginxBackend(const NginxBackend&) = delete;
  NginxBackend& operator=(const NginxBackend&) = delete;

  static bool is_available();

  // `server_directives`: what goes inside `server { listen ...; HERE }`;
  // `http_directives`: extra directives of the `http` block (upstreams...).
  bool start(const std::string& server_directives, const std::string& http_directives = {});
  // Starts again on the same port with the same configuration (after stop()
  // or kill()).
  bool start_again();
  // SIGTERM and reap (nginx closes its listener and its connections).
  void stop();
  // SIGKILL and reap: a backend that dies mid-run.
  void kill();
  bool running() const { return child_ != nullptr; }

  uint16_t port() const { return port_; }
  pid_t pid() const;
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  // What nginx wrote to stderr so far (its error log).
  std::string log();

 private:
  bool launch();
  std::string dir_;
  std::string server_directives_;
  std::string http_directives_;
  std::string error_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace ringshard::test
