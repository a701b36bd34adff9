// tests/support/http_client.h: a small blocking HTTP/1.1 client for tests.
//
// Independent of the server's parser on purpose: it reads responses with
// its own minimal framing code (Content-Length, chunked, close-delimited),
// so a server bug cannot hide behind a shared parser bug. Every socket has
// a receive/send timeout so a hung server fails a test instead of CI.
//
// start_tls() turns a connection into a TLS client (BoringSSL, blocking,
// independent of the server's tls/ code paths) before any request.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

namespace ringshard::test {

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct TlsClientOptions {
  std::string server_name;                      // SNI; empty: none sent
  std::vector<std::string> alpn = {"http/1.1"};  // empty: no ALPN
  bool tls12_only = false;                      // offer TLS 1.2 and nothing else
  bool offer_tls12 = true;                      // also offer 1.2 (the server decides)
  std::shared_ptr<void> session;                // resume it (from tls_session())
};

class TestConnection {
 public:
  // Connects to 127.0.0.1:port; aborts the test (ADD_FAILURE + fd -1) on error.
  explicit TestConnection(uint16_t port, int timeout_ms = 10'000);
  ~TestConnection();
  TestConnection(TestConnection&& other) noexcept;
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool send(std::string_view bytes);
  // Reads one response. `head_request`: the response has no body.
  // nullopt on EOF/timeout/garbage (error() says which).
  std::optional<HttpResponse> read_response(bool head_request = false);
  // True if the server closed the connection (EOF) within the timeout,
  // after any bytes still buffered were read and discarded.
  bool wait_closed();
  // Reads whatever arrives until EOF or timeout.
  std::string read_all();
  void close();
  void shutdown_write();
  const std::string& error() const { return error_; }

  // TLS: the handshake, blocking. false: error() says why, and
  // tls_alert() is the alert the server sent (0: none).
  bool start_tls(const TlsClientOptions& options = {});
  std::string tls_version() const;  // "TLSv1.3"
  std::string tls_alpn() const;
  std::string tls_cipher() const;
  std::string tls_group() const;    // "X25519"
  bool tls_resumed() const;
  // The server certificate's subject CN.
  std::string tls_peer_cn() const;
  // The newest session (ticket) received, for a later resumption. Tickets
  // arrive after the handshake: read a response first.
  std::shared_ptr<void> tls_session() const;
  int tls_alert() const { return alert_; }
  // Sends close_notify.
  void tls_close_notify();
  // Writes raw bytes on the socket under the TLS layer (garbage tests).
  bool send_raw(std::string_view bytes);
  // Moves bytes already read (behind a response) or, if none, the next
  // bytes that arrive into `out` (appended). False on EOF/error/timeout.
  bool read_some(std::string& out);

 private:
  bool fill();  // reads more into buf_; false on EOF or error
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*, when TLS
  int alert_ = 0;
  std::string buf_;
  std::string error_;
};

// One request, one response, on a fresh connection.
std::optional<HttpResponse> get(uint16_t port, const std::string& path);

// Resident set size of this process, bytes (from /proc/self/statm).
size_t current_rss_bytes();

// False under AddressSanitizer or ThreadSanitizer: ASan keeps freed memory
// in quarantine (a streamed 64 MiB body's buffers stay resident) and TSan
// adds shadow memory, so RSS bounds say nothing there. The release stage
// checks them; the sanitizer stages check memory safety and races.
constexpr bool rss_is_meaningful() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

}  // namespace ringshard::test
