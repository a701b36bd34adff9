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
#include <openssl/err.h>
#include <openssl/ssl.h>

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
    : fd_(other.fd_), ssl_(other.ssl_), alert_(other.alert_), buf_(std::move(other.buf_)) {
  other.fd_ = -1;
  other.ssl_ = nullptr;
}

void TestConnection::close() {
  if (ssl_ != nullptr) {
    delete static_cast<std::shared_ptr<void>*>(SSL_get_ex_data(static_cast<SSL*>(ssl_), 2));
    SSL_free(static_cast<SSL*>(ssl_));
  }
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

SSL* as_ssl(void* p) { return static_cast<SSL*>(p); }

void note_alert(const SSL* ssl, int type, int value) {
  if ((type & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT) {
    auto* alert = static_cast<int*>(SSL_get_ex_data(ssl, 1));
    if (alert != nullptr && (value & 0xff) != 0) *alert = value & 0xff;
  }
}

// Client contexts keep the newest ticket per connection (ex_data 2).
int keep_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<std::shared_ptr<void>*>(SSL_get_ex_data(ssl, 2));
  if (slot == nullptr) return 0;
  *slot = std::shared_ptr<void>(session, [](void* s) { SSL_SESSION_free(static_cast<SSL_SESSION*>(s)); });
  return 1;
}

}  // namespace

bool TestConnection::start_tls(const TlsClientOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, options.tls12_only ? TLS1_2_VERSION : TLS1_3_VERSION);
  if (!options.offer_tls12 && !options.tls12_only) SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_info_callback(ctx, note_alert);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, keep_session);
  SSL* ssl = SSL_new(ctx);
  SSL_CTX_free(ctx);  // the SSL holds its own reference
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  SSL_set_ex_data(ssl, 1, &alert_);
  auto* slot = new std::shared_ptr<void>();
  SSL_set_ex_data(ssl, 2, slot);
  if (!options.server_name.empty()) SSL_set_tlsext_host_name(ssl, options.server_name.c_str());
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& p : options.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  }
  if (options.session) SSL_set_session(ssl, static_cast<SSL_SESSION*>(options.session.get()));
  if (SSL_connect(ssl) != 1) {
    const uint32_t e = ERR_get_error();
    const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
    error_ = std::string("handshake: ") + (reason != nullptr ? reason : std::strerror(errno));
    ERR_clear_error();
    return false;
  }
  return true;
}

std::string TestConnection::tls_version() const {
  return ssl_ != nullptr ? SSL_get_version(as_ssl(ssl_)) : "";
}

std::string TestConnection::tls_alpn() const {
  if (ssl_ == nullptr) return "";
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(as_ssl(ssl_), &p, &len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

std::string TestConnection::tls_cipher() const {
  const SSL_CIPHER* c = ssl_ != nullptr ? SSL_get_current_cipher(as_ssl(ssl_)) : nullptr;
  return c != nullptr ? SSL_CIPHER_get_name(c) : "";
}

std::string TestConnection::tls_group() const {
  if (ssl_ == nullptr) return "";
  const char* name = SSL_get_curve_name(SSL_get_curve_id(as_ssl(ssl_)));
  return name != nullptr ? name : "";
}

bool TestConnection::tls_resumed() const {
  return ssl_ != nullptr && SSL_session_reused(as_ssl(ssl_)) == 1;
}

std::string TestConnection::tls_peer_cn() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get_peer_certificate(as_ssl(ssl_));
  if (cert == nullptr) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return cn;
}

std::shared_ptr<void> TestConnection::tls_session() const {
  if (ssl_ == nullptr) return nullptr;
  auto* slot = static_cast<std::shared_ptr<void>*>(SSL_get_ex_data(as_ssl(ssl_), 2));
  return slot != nullptr ? *slot : nullptr;
}

void TestConnection::tls_close_notify() {
  if (ssl_ != nullptr) SSL_shutdown(as_ssl(ssl_));
}

bool TestConnection::send_raw(std::string_view bytes) {
  void* ssl = ssl_;
  ssl_ = nullptr;
  const bool ok = send(bytes);
  ssl_ = ssl;
  return ok;
}

void TestConnection::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool TestConnection::send(std::string_view bytes) {
  if (ssl_ != nullptr) {
    if (bytes.empty()) return true;
    const int n = SSL_write(as_ssl(ssl_), bytes.data(), static_cast<int>(bytes.size()));
    if (n != static_cast<int>(bytes.size())) {
      error_ = "tls write failed";
      ERR_clear_error();
      return false;
    }
    return true;
  }
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
  if (ssl_ != nullptr) {
    while (true) {
      const int n = SSL_read(as_ssl(ssl_), tmp, sizeof(tmp));
      if (n > 0) {
        buf_.append(tmp, static_cast<size_t>(n));
        return true;
      }
      const int e = SSL_get_error(as_ssl(ssl_), n);
      ERR_clear_error();
      if (e == SSL_ERROR_ZERO_RETURN) {
        error_ = "eof";  // close_notify
      } else if (e == SSL_ERROR_SYSCALL && errno == EINTR) {
        continue;
      } else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        error_ = "timeout";
      } else if (e == SSL_ERROR_SYSCALL) {
        error_ = errno == 0 ? "eof without close_notify" : std::string("recv: ") + std::strerror(errno);
      } else {
        error_ = "tls error " + std::to_string(e);
      }
      return false;
    }
  }
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

bool TestConnection::read_some(std::string& out) {
  if (buf_.empty() && !fill()) return false;
  out += buf_;
  buf_.clear();
  return true;
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
