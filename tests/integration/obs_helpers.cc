#include "tests/integration/obs_helpers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringshard::test {

std::vector<std::string> obs_server_args(const std::vector<std::string>& extra) {
  std::vector<std::string> a = {RINGSHARD_BINARY, "--listen", "127.0.0.1:0", "--shards", "2",
                                "--tls-listen", "off", "--no-plugins"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::optional<uint16_t> wait_for_admin_port(ChildProcess& server, int timeout_ms) {
  auto line = server.wait_for_line("admin on ", timeout_ms);
  if (!line) return std::nullopt;
  const size_t start = line->find("admin on ") + 9;
  const size_t space = line->find(' ', start);
  const size_t colon = line->rfind(':', space);
  if (space == std::string::npos || colon == std::string::npos || colon < start) return std::nullopt;
  const int port = std::atoi(line->substr(colon + 1, space - colon - 1).c_str());
  if (port <= 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

ScratchDir::ScratchDir() {
  std::string tmpl = testing::TempDir();
  if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
  tmpl += "ringshard_obs_XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  EXPECT_FALSE(path_.empty()) << "mkdtemp: " << std::strerror(errno);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string> read_lines(const std::string& path) { return split_lines(read_file(path)); }

void write_file(const std::string& path, const std::string& text) {
  // Written beside the target and renamed over it, so that a SIGHUP never
  // finds a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

std::optional<double> sample_value(const std::string& exposition, const std::string& series) {
  for (const std::string& line : split_lines(exposition)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

std::vector<std::string> sample_lines(const std::string& exposition, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& line : split_lines(exposition)) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

NotifySocket::NotifySocket(const std::string& path, int timeout_ms) : path_(path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ADD_FAILURE() << "socket path too long: " << path;
    return;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    ADD_FAILURE() << "notify socket " << path << ": " << std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

std::optional<std::string> NotifySocket::receive() {
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n >= 0) return std::string(buf, static_cast<size_t>(n));
    if (errno != EINTR) return std::nullopt;  // EAGAIN: SO_RCVTIMEO ran out
  }
}

std::optional<std::string> NotifySocket::receive_skipping_watchdog(int* watchdogs) {
  while (true) {
    auto m = receive();
    if (!m || *m != "WATCHDOG=1") return m;
    if (watchdogs != nullptr) ++*watchdogs;
  }
}

uint64_t monotonic_usec() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace ringshard::test
