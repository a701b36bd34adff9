#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

namespace ringshard::test {

TestConnection::TestConnection(uint16_t port, int timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return;
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno == EINTR) {
    // Interrupted (io_uring task-work notification on this thread counts as
    // a signal for a connect with a timeout): the connect goes on in the
    // background; wait for it and read its outcome.
    pollfd p{fd_, POLLOUT, 0};
    while ((rc = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    int err = rc == 1 ? 0 : ETIMEDOUT;
    socklen_t len = sizeof(err);
    if (rc == 1) getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    rc = err == 0 ? 0 : -1;
  }
  if (rc != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

TestConnection::~TestConnection() { close(); }

TestConnection::TestConnection(TestConnection&& other) noexcept
    : fd_(other.fd_), buf_(std::move(other.buf_)) {
  other.fd_ = -1;
}

void TestConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TestConnection::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool TestConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool TestConnection::fill() {
  char tmp[65536];
  while (true) {
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      error_ = "eof";
      return false;
    }
    if (errno == EINTR) continue;
    error_ = errno == EAGAIN ? "timeout" : std::string("recv: ") + std::strerror(errno);
    return false;
  }
}

static std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<HttpResponse> TestConnection::read_response(bool head_request) {
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  HttpResponse r;
  const std::string head = buf_.substr(0, end + 2);
  buf_.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    error_ = "bad status line: " + status_line;
    return std::nullopt;
  }
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  r.reason = status_line.size() > 13 ? status_line.substr(13) : "";
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    const size_t e = head.find("\r\n", pos);
    const std::string line = head.substr(pos, e - pos);
    pos = e + 2;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      error_ = "bad header line: " + line;
      return std::nullopt;
    }
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[lower(line.substr(0, colon))] = value;
  }
  if (head_request || r.status == 204 || r.status == 304 || r.status < 200) return r;
  const std::string te = lower(r.header("transfer-encoding"));
  if (!r.header("content-length").empty()) {
    const size_t len = std::stoull(r.header("content-length"));
    while (buf_.size() < len) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
  } else if (te == "chunked") {
    while (true) {
      size_t le;
      while ((le = buf_.find("\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
      }
      const size_t size = std::stoull(buf_.substr(0, le), nullptr, 16);
      buf_.erase(0, le + 2);
      while (buf_.size() < size + 2) {
        if (!fill()) return std::nullopt;
      }
      r.body.append(buf_, 0, size);
      if (buf_.compare(size, 2, "\r\n") != 0) {
        error_ = "bad chunk terminator";
        return std::nullopt;
      }
      buf_.erase(0, size + 2);
      if (size == 0) break;  // no trailers are sent by ringshard
    }
  } else {
    while (fill()) {
    }
    r.body = std::move(buf_);
    buf_.clear();
  }
  return r;
}

bool TestConnection::wait_closed() {
  buf_.clear();
  while (fill()) buf_.clear();
  return error_ == "eof" || error_.find("reset") != std::string::npos;
}

std::string TestConnection::read_all() {
  while (fill()) {
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::optional<HttpResponse> get(uint16_t port, const std::string& path) {
  TestConnection c(port);
  if (!c.ok()) return std::nullopt;
  if (!c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")) return std::nullopt;
  return c.read_response();
}

size_t current_rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace ringshard::test
