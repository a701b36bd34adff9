#include "tests/support/nginx_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ringshard::test {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

NginxBackend::NginxBackend() {
  char tmpl[] = "/tmp/ringshard-nginx-XXXXXX";
  if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
}

NginxBackend::~NginxBackend() {
  child_.reset();  // SIGKILL and reap, if still running
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool NginxBackend::is_available() { return access(kNginx, X_OK) == 0; }

pid_t NginxBackend::pid() const { return child_ != nullptr ? child_->pid() : -1; }

std::string NginxBackend::log() { return child_ != nullptr ? child_->output() : std::string(); }

bool NginxBackend::start(const std::string& server_directives,
                         const std::string& http_directives) {
  server_directives_ = server_directives;
  http_directives_ = http_directives;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (port_ != 0 && launch()) return true;
  }
  return false;
}

bool NginxBackend::start_again() { return launch(); }

bool NginxBackend::launch() {
  if (dir_.empty()) {
    error_ = "no temporary directory";
    return false;
  }
  const std::string conf = dir_ + "/nginx.conf";
  {
    std::ofstream out(conf);
    out << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        << "error_log stderr warn;\npid " << dir_ << "/nginx.pid;\n"
        << "events { worker_connections 1024; }\n"
        << "http {\n  access_log off;\n"
        << "  client_body_temp_path " << dir_ << "/body;\n"
        << "  proxy_temp_path " << dir_ << "/proxy;\n"
        << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n"
        << "  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
        << "  scgi_temp_path " << dir_ << "/scgi;\n"
        << http_directives_ << "\n"
        << "  server {\n    listen 127.0.0.1:" << port_ << ";\n"
        << server_directives_ << "\n  }\n}\n";
  }
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kNginx, "-p", dir_, "-c", conf});
  // Ready once the port accepts; a child that exits first failed (the port
  // was taken, or the configuration is bad: its stderr says which).
  for (int i = 0; i < 5'000; ++i) {
    if (accepts(port_)) return true;
    if (child_->wait_exit(0).has_value()) {  // reaped, stderr read to its end
      error_ = "nginx exited: " + child_->output();
      child_.reset();
      return false;
    }
    usleep(1000);
  }
  error_ = "nginx did not accept on port " + std::to_string(port_) + " within 5 s";
  child_.reset();
  return false;
}

void NginxBackend::stop() {
  if (child_ == nullptr) return;
  child_->signal(SIGTERM);
  child_->wait_exit(10'000);
  child_.reset();
}

void NginxBackend::kill() {
  if (child_ == nullptr) return;
  child_->signal(SIGKILL);
  child_->wait_exit(10'000);
  child_.reset();
}

}  // namespace ringshard::test
