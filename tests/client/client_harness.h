// tests/client/client_harness.h: what the HTTP client tests share.
//
//   RawServer: a blocking loopback server (127.0.0.1, port 0) whose
//   connections each run a test-written session on their own thread, for
//   backends that misbehave on purpose (never answer, reset, send garbage).
//   The destructor shuts every socket down and joins.
//
//   ClientHost: a one-shard TestServer whose shard hosts an HttpClient
//   (optionally on a ManualClock, so timeouts and backoff are driven by
//   advance()). Calls run on the shard through its mailbox; results come
//   back through a Pending the test waits on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/http_client.h"
#include "client/pool.h"
#include "tests/support/test_server.h"

namespace ringshard::test {

class RawConn {
 public:
  explicit RawConn(int fd, int index) : fd_(fd), index_(index) {}
  int index() const { return index_; }  // 0 for the first accepted
  int fd() const { return fd_; }
  // Bytes read past the last request (a tunnel's first bytes).
  std::string take_buffered() { return std::move(buffered_); }
  // One request: head, plus a Content-Length body. Empty at EOF.
  std::string read_request();
  // Reads whatever comes until `n` bytes in total or EOF.
  std::string read_bytes(size_t n);
  bool send(std::string_view bytes);
  // Closes with an RST (SO_LINGER 0).
  void reset();
  void close();
  // Blocks until the peer closes (true) or an error.
  bool wait_eof();

 private:
  friend class RawServer;
  std::string buffered_;
  int fd_;
  int index_;
};

class RawServer {
 public:
  using Session = std::function<void(RawConn&)>;
  explicit RawServer(Session session, int backlog = 64);
  ~RawServer();
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop();
  Session session_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::unique_ptr<RawConn>> conns_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// 127.0.0.1:port bound but not listening: a connect is refused at once.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A listener whose accept queue is full (backlog 0, filled, never
// accepted): the kernel drops further SYNs, so a connect hangs until its
// deadline.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

// The outcome of a request() started from the test thread.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  client::ClientResult result;
  // Waits (up to timeout_ms) and returns the result; a timeout fails the test.
  client::ClientResult wait(int timeout_ms = 10'000);
  bool ready();
};

// A ResponseSink that records what it got, for tests that stream. Its
// callbacks run on the client's shard; the test reads under `mu` (or
// through wait()).
struct RecordingSink : client::ResponseSink {
  std::mutex mu;
  std::condition_variable cv;
  uint16_t status = 0;
  client::Framing framing = client::Framing::kNone;
  std::string body;
  int chunks = 0;
  bool ended = false;
  bool failed = false;
  client::ClientError error = client::ClientError::kNone;
  bool upgraded = false;
  std::string upgrade_rest;
  bool pause_each = false;  // on_body returns false every time
  client::ExchangeHandle handle;
  // Streamed upload: written from on_body_writable, `piece` bytes a write.
  std::string upload;
  size_t upload_pos = 0;
  size_t piece = 64 * 1024;
  int writable_calls = 0;
  int refused_writes = 0;

  void on_head(const client::ResponseHeadView& head) override;
  bool on_body(std::string_view chunk) override;
  void on_end() override;
  void on_error(client::ClientError e, std::string_view detail) override;
  void on_body_writable() override;
  void on_upgrade(engine::Connection& conn, std::string_view rest) override;
  bool wait(const std::function<bool(RecordingSink&)>& pred, int timeout_ms = 10'000);
  bool done() { return ended || failed || upgraded; }
};

class ClientHost {
 public:
  explicit ClientHost(bool manual_clock = false, client::HttpClient::Options options = {});
  ~ClientHost();

  TestServer& server() { return *server_; }
  // Runs fn(client) on the client's shard and returns its result.
  template <class Fn>
  auto on_client(Fn fn) {
    return server_->on_shard(0, [&](engine::Shard&) { return fn(*client_); });
  }
  client::Upstream* upstream(const client::UpstreamOptions& options);
  std::shared_ptr<Pending> start(client::Upstream* up, client::ClientRequest req);
  // Starts a streamed exchange into `sink` (sink.handle is set).
  void stream(client::Upstream* up, client::ClientRequest req, RecordingSink& sink);
  client::ClientResult fetch(client::Upstream* up, client::ClientRequest req,
                             int timeout_ms = 10'000);
  void advance(uint64_t ms) { server_->advance(ms); }
  // A round trip through the shard's loop: everything it had to do for the
  // I/O that already arrived has been done.
  void sync();

 private:
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<client::HttpClient> client_;
};

client::UpstreamOptions local_upstream(uint16_t port);
client::ClientRequest get(std::string target);

}  // namespace ringshard::test
