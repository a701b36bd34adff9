// tests/support/raw_backend.h: a backend that misbehaves on purpose, for
// the client and reverse-proxy tests: a thread serving 127.0.0.1 (port 0)
// with poll(), any number of connections, each request answered by the
// Behavior chosen (and changeable while it runs).
//
//   RawBackend bad(RawBackend::Behavior::kGarbage);
//   ... point the proxy at 127.0.0.1:bad.port() ...
//   EXPECT_EQ(bad.requests(), 1u);
//
// A request is read up to the end of its head (a body is not read). The
// destructor stops the thread (an eventfd wakes its poll) and closes every
// socket it holds.
//
// Thread: the test thread constructs, sets the behavior and destroys; the
// server thread does the rest. Counters are atomics; the last head is
// kept under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace ringshard::test {

class RawBackend {
 public:
  enum class Behavior : uint8_t {
    kOk,               // 200, "ok", keep-alive
    kGarbage,          // bytes that are not HTTP, then close
    kSilent,           // reads the request, never answers (held open)
    kTruncated,        // 200 with Content-Length 1000, 10 bytes, then close
    kCloseBeforeHead,  // reads the request, closes without a byte
    kServerError,      // 500, keep-alive
  };

  explicit RawBackend(Behavior behavior = Behavior::kOk);
  ~RawBackend();
  RawBackend(const RawBackend&) = delete;
  RawBackend& operator=(const RawBackend&) = delete;

  uint16_t port() const { return port_; }
  void set_behavior(Behavior b) { behavior_.store(b, std::memory_order_relaxed); }
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  // The head of the last request read, request line to the last field
  // ("" before the first).
  std::string last_head() const {
    std::lock_guard lock(head_mu_);
    return last_head_;
  }

 private:
  void run();
  // Answers one request on `fd`; false: close the connection.
  bool answer(int fd, bool& silent);

  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<Behavior> behavior_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_{0};
  mutable std::mutex head_mu_;
  std::string last_head_;
  std::thread thread_;
};

}  // namespace ringshard::test
