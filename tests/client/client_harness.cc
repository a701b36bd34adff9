#include "tests/client/client_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ringshard::test {

std::string RawConn::read_request() {
  while (true) {
    const size_t end = buffered_.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t body = 0;
      const size_t cl = buffered_.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) body = std::strtoull(buffered_.c_str() + cl + 16, nullptr, 10);
      const size_t total = end + 4 + body;
      if (buffered_.size() >= total) {
        std::string req = buffered_.substr(0, total);
        buffered_.erase(0, total);
        return req;
      }
    }
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return {};
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::string RawConn::read_bytes(size_t n) {
  while (buffered_.size() < n) {
    char buf[65536];
    const ssize_t got = ::recv(fd_, buf, sizeof(buf), 0);
    if (got <= 0) break;
    buffered_.append(buf, static_cast<size_t>(got));
  }
  std::string out = buffered_.substr(0, std::min(n, buffered_.size()));
  buffered_.erase(0, out.size());
  return out;
}

bool RawConn::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void RawConn::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::shutdown(fd_, SHUT_RDWR);
}

void RawConn::close() { ::shutdown(fd_, SHUT_RDWR); }

bool RawConn::wait_eof() {
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

RawServer::RawServer(Session session, int backlog) : session_(std::move(session)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::listen(listen_fd_, backlog), 0);
  socklen_t len = sizeof(a);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void RawServer::accept_loop() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;  // shut down
    std::lock_guard lock(mu_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    conns_.push_back(std::make_unique<RawConn>(fd, accepted_.load()));
    RawConn* c = conns_.back().get();
    accepted_.fetch_add(1);
    threads_.emplace_back([this, c] { session_(*c); });
  }
}

RawServer::~RawServer() {
  stopping_.store(true);
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& c : conns_) ::shutdown(c->fd_, SHUT_RDWR);
  }
  for (auto& t : threads_) t.join();
  for (auto& c : conns_) ::close(c->fd_);
  ::close(listen_fd_);
}

namespace {

int bound_socket(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

RefusingPort::RefusingPort() { fd_ = bound_socket(port_); }
RefusingPort::~RefusingPort() { ::close(fd_); }

BlackholeListener::BlackholeListener() {
  fd_ = bound_socket(port_);
  EXPECT_EQ(::listen(fd_, 0), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  // Backlog 0 holds one finished handshake; the rest of the SYNs are
  // dropped from then on.
  for (int i = 0; i < 3; ++i) {
    const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    fillers_.push_back(f);
  }
}

BlackholeListener::~BlackholeListener() {
  for (int f : fillers_) ::close(f);
  ::close(fd_);
}

client::ClientResult Pending::wait(int timeout_ms) {
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return done; })) {
    ADD_FAILURE() << "no answer within " << timeout_ms << " ms";
    client::ClientResult r;
    r.error = client::ClientError::kCancelled;
    r.detail = "test timeout";
    return r;
  }
  return result;
}

bool Pending::ready() {
  std::lock_guard lock(mu);
  return done;
}

ClientHost::ClientHost(bool manual_clock, client::HttpClient::Options options) {
  TestServerOptions o;
  o.shards = 1;
  o.manual_clock = manual_clock;
  server_ = std::make_unique<TestServer>(o);
  server_->on_shard(0, [&](engine::Shard& shard) {
    client_ = std::make_unique<client::HttpClient>(shard, options);
    return true;
  });
}

ClientHost::~ClientHost() {
  server_->on_shard(0, [&](engine::Shard&) {
    client_.reset();
    return true;
  });
}

client::Upstream* ClientHost::upstream(const client::UpstreamOptions& options) {
  return on_client([&](client::HttpClient& c) {
    std::string error;
    client::Upstream* up = c.upstream(options, error);
    EXPECT_NE(up, nullptr) << error;
    return up;
  });
}

std::shared_ptr<Pending> ClientHost::start(client::Upstream* up, client::ClientRequest req) {
  auto p = std::make_shared<Pending>();
  // The request is moved into the shard's closure: the test thread's copy
  // may be gone when it runs.
  auto shared_req = std::make_shared<client::ClientRequest>(std::move(req));
  server_->engine().execute(0, [this, up, p, shared_req](engine::Shard&) {
    client_->request(*up, std::move(*shared_req), [p](client::ClientResult&& r) {
      std::lock_guard lock(p->mu);
      p->result = std::move(r);
      p->done = true;
      p->cv.notify_all();
    });
  });
  return p;
}

client::ClientResult ClientHost::fetch(client::Upstream* up, client::ClientRequest req,
                                       int timeout_ms) {
  return start(up, std::move(req))->wait(timeout_ms);
}

void ClientHost::stream(client::Upstream* up, client::ClientRequest req, RecordingSink& sink) {
  on_client([&](client::HttpClient& c) {
    client::ExchangeHandle h = c.start(*up, std::move(req), sink);
    std::lock_guard lock(sink.mu);
    sink.handle = h;
    return true;
  });
}

void RecordingSink::on_head(const client::ResponseHeadView& head) {
  std::lock_guard lock(mu);
  status = head.status;
  framing = head.framing;
  cv.notify_all();
}

bool RecordingSink::on_body(std::string_view chunk) {
  std::lock_guard lock(mu);
  body.append(chunk);
  ++chunks;
  cv.notify_all();
  return !pause_each;
}

void RecordingSink::on_end() {
  std::lock_guard lock(mu);
  ended = true;
  cv.notify_all();
}

void RecordingSink::on_error(client::ClientError e, std::string_view) {
  std::lock_guard lock(mu);
  failed = true;
  error = e;
  cv.notify_all();
}

void RecordingSink::on_body_writable() {
  std::lock_guard lock(mu);
  ++writable_calls;
  while (upload_pos < upload.size()) {
    const std::string_view p = std::string_view(upload).substr(upload_pos, piece);
    if (!handle.write(p)) {
      ++refused_writes;
      return;
    }
    upload_pos += p.size();
  }
  handle.end();
}

void RecordingSink::on_upgrade(engine::Connection& conn, std::string_view rest) {
  std::lock_guard lock(mu);
  upgraded = true;
  upgrade_rest.assign(rest);
  conn.close();
  cv.notify_all();
}

bool RecordingSink::wait(const std::function<bool(RecordingSink&)>& pred, int timeout_ms) {
  std::unique_lock lock(mu);
  return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return pred(*this); });
}

void ClientHost::sync() {
  server_->on_shard(0, [](engine::Shard&) { return true; });
}

client::UpstreamOptions local_upstream(uint16_t port) {
  client::UpstreamOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  return o;
}

client::ClientRequest get(std::string target) {
  client::ClientRequest r;
  r.target = std::move(target);
  return r;
}

}  // namespace ringshard::test
