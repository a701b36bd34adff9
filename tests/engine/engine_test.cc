// Integration tests for engine/engine.h over real loopback sockets: port 0
// shared by every shard, drain, echo through short sends, backpressure,
// connections closed while operations are in flight, and timeouts driven by
// a ManualClock.
#include "engine/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/ring_setup.h"

namespace ringshard::engine {
namespace RS_UNITY_ID {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

// Probed once, on a throwaway thread: a ring torn down on the test's own
// thread leaves task-work notifications that interrupt its blocking socket
// calls with EINTR.
int io_uring_probe_result() {
  static const int rc = [] {
    int r = 0;
    std::thread([&r] { r = probe_io_uring(); }).join();
    return r;
  }();
  return rc;
}

#define SKIP_WITHOUT_IO_URING()                            \
  if (const int rc = io_uring_probe_result(); rc < 0) {    \
    GTEST_SKIP() << describe_ring_failure(rc);             \
  }

// --- client side ------------------------------------------------------------

// A blocking client socket that fails instead of hanging: every receive and
// send gives up after 10 s. `rcvbuf` > 0 shrinks the receive buffer before
// connecting (so the window stays small).
int connect_to(uint16_t port, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{};
  tv.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads exactly n bytes; returns fewer on EOF, error or the 10 s timeout.
std::string recv_exactly(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// Waits for the peer to close: true on a clean EOF (any bytes before it are
// discarded), false on a reset or the receive timeout.
bool wait_for_eof(int fd) {
  char buf[4096];
  while (true) {
    const ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r == 0) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
  }
}

// Polls `pred` until it holds or 10 s pass: a synchronisation point with
// the shard threads (which update the metrics), not a timing assumption.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = steady_clock::now() + limit;
  while (!pred()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

uint64_t sum(Engine& engine, uint64_t (*get)(ShardMetrics&)) {
  uint64_t total = 0;
  for (unsigned i = 0; i < engine.shard_count(); ++i) total += get(engine.shard(i).metrics());
  return total;
}
uint64_t accepted(ShardMetrics& m) { return m.accepted.get(); }
uint64_t open_now(ShardMetrics& m) { return m.open.get(); }
uint64_t bytes_in(ShardMetrics& m) { return m.bytes_in.get(); }
uint64_t pauses(ShardMetrics& m) { return m.backpressure_pauses.get(); }
uint64_t timeouts(ShardMetrics& m) { return m.timeouts.get(); }

// Runs a loop turn on every shard whose clock reading is at least `now_ms`,
// and returns once each has. Timers fire before Engine::execute work in a
// turn, so afterwards every timer due by `now_ms` has fired.
void sync_shards_at(Engine& engine, uint64_t now_ms) {
  struct Turn {
    std::mutex mu;
    std::condition_variable cv;
    bool ran = false;
    uint64_t seen = 0;
  };
  for (unsigned i = 0; i < engine.shard_count(); ++i) {
    bool reached = false;
    const auto deadline = steady_clock::now() + 10s;
    while (!reached && steady_clock::now() < deadline) {
      // Shared: on a timeout the shard may still run it after we return.
      auto turn = std::make_shared<Turn>();
      engine.execute(i, [turn](Shard& s) {
        std::lock_guard lock(turn->mu);
        turn->seen = s.now_ms();
        turn->ran = true;
        turn->cv.notify_all();
      });
      std::unique_lock lock(turn->mu);
      ASSERT_TRUE(turn->cv.wait_for(lock, 10s, [&] { return turn->ran; }));
      reached = turn->seen >= now_ms;
    }
    ASSERT_TRUE(reached) << "shard " << i << " never saw the advanced clock";
  }
}

// --- server side ------------------------------------------------------------

class EchoHandler final : public ConnectionHandler {
 public:
  void on_data(Connection& conn, std::span<const char> data) override {
    conn.write(std::string_view(data.data(), data.size()));
  }
};

EngineConfig base_config(unsigned shards) {
  EngineConfig cfg;
  cfg.shards = shards;
  cfg.pin_threads = false;
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = 0;
  cfg.max_connections = 1024;
  cfg.recv_buffer_count = 256;
  cfg.make_handler = [](Shard&) { return std::make_unique<EchoHandler>(); };
  return cfg;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 977) & 0xFF);
  return s;
}

// --- tests ------------------------------------------------------------------

TEST(Engine, PortZeroIsSharedByEveryShard) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(base_config(2));
  ASSERT_TRUE(engine.start().ok());
  EXPECT_TRUE(engine.running());
  ASSERT_EQ(engine.shard_count(), 2u);
  const uint16_t port = engine.port();
  ASSERT_GT(port, 0);

  // SO_REUSEPORT spreads connections over the shards' listeners by a hash
  // of the address pair: 64 connections reach both shards unless one of
  // them is not listening on the port (a 2^-63 chance otherwise).
  constexpr int kConnections = 64;
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    const int fd = connect_to(port);
    ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
    fds.push_back(fd);
  }
  ASSERT_TRUE(wait_until([&] { return sum(engine, accepted) == kConnections; }))
      << "accepted " << sum(engine, accepted);
  for (unsigned i = 0; i < engine.shard_count(); ++i) {
    EXPECT_GT(engine.shard(i).metrics().accepted.get(), 0u) << "shard " << i;
  }
  EXPECT_EQ(sum(engine, open_now), uint64_t{kConnections});
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(wait_until([&] { return sum(engine, open_now) == 0; }));
  engine.drain();
  engine.wait();
  EXPECT_FALSE(engine.running());
  EXPECT_TRUE(engine.finished());
}

TEST(Engine, TwoEnginesInOneProcessGetDifferentPorts) {
  SKIP_WITHOUT_IO_URING();
  Engine a(base_config(1));
  Engine b(base_config(1));
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  EXPECT_NE(a.port(), b.port());
  a.drain();
  b.drain();
  a.wait();
  b.wait();
}

TEST(Engine, BadListenAddressFailsToStart) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(1);
  cfg.listen_host = "not-an-address";
  Engine engine(cfg);
  const StartError err = engine.start();
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(err.exit_code, 71);
  EXPECT_FALSE(err.message.empty());
  EXPECT_FALSE(engine.running());
}

TEST(Engine, DrainWithNoConnectionsExitsPromptly) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(2);
  cfg.drain_timeout_ms = 60'000;  // exiting promptly must not depend on it
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const auto start = steady_clock::now();
  engine.drain();
  engine.wait();
  EXPECT_LT(steady_clock::now() - start, 5s);
  EXPECT_TRUE(engine.finished());
}

// A shard whose ring fails used to leave its loop without passing the
// exit barrier: the other shards and wait() hung until a second signal.
TEST(Engine, RingFailureOnOneShardStopsTheEngineInsteadOfHanging) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(base_config(3));
  ASSERT_TRUE(engine.start().ok());
  const int fd = connect_to(engine.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(wait_until([&] { return sum(engine, open_now) == 1; }));
  // Fail the shard that holds the client's connection: its socket must
  // still reach the client as EOF although the ring that armed its receive
  // is dead.
  unsigned failing = 0;
  for (unsigned i = 0; i < engine.shard_count(); ++i) {
    if (engine.shard(i).metrics().open.get() == 1) failing = i;
  }
  engine.shard(failing).inject_ring_failure();
  engine.shard(failing).wake();
  // wait() on a helper thread, so a hang fails the test instead of CI.
  std::promise<void> joined;
  auto done = joined.get_future();
  std::thread waiter([&] {
    engine.wait();
    joined.set_value();
  });
  const bool returned = done.wait_for(10s) == std::future_status::ready;
  if (!returned) {
    for (unsigned i = 0; i < engine.shard_count(); ++i) {
      engine.shard(i).inject_ring_failure();  // unblock the waiter to fail cleanly
    }
    engine.wake_all();
  }
  waiter.join();
  ASSERT_TRUE(returned) << "Engine::wait() hung after a ring failure";
  EXPECT_TRUE(engine.shard(failing).ring_failed());
  EXPECT_NE(engine.failure().find("shard " + std::to_string(failing)), std::string::npos)
      << engine.failure();
  EXPECT_EQ(engine.shard(failing).metrics().ring_failures.get(), 1u);
  // The client's connection did not stay open in silence.
  EXPECT_TRUE(wait_for_eof(fd));
  ::close(fd);
}

TEST(Engine, DestructorDrainsARunningEngine) {
  SKIP_WITHOUT_IO_URING();
  auto engine = std::make_unique<Engine>(base_config(2));
  ASSERT_TRUE(engine->start().ok());
  engine.reset();  // must not hang or crash
}

TEST(Engine, DrainClosesAnIdleConnection) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(2);
  cfg.drain_timeout_ms = 60'000;
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const int fd = connect_to(engine.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(wait_until([&] { return sum(engine, accepted) == 1; }));
  const auto start = steady_clock::now();
  engine.drain();
  EXPECT_TRUE(wait_for_eof(fd)) << "the client should see a clean EOF";
  engine.wait();
  EXPECT_LT(steady_clock::now() - start, 5s);
  EXPECT_EQ(sum(engine, open_now), 0u);
  ::close(fd);
}

TEST(Engine, EchoesOneMebibyte) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(base_config(2));
  ASSERT_TRUE(engine.start().ok());
  const int fd = connect_to(engine.port());
  ASSERT_GE(fd, 0);
  const std::string data = pattern(1 << 20);
  // Write from another thread: the echo comes back while we are sending.
  std::thread writer([&] {
    for (size_t off = 0; off < data.size(); off += 7001) {
      if (!send_all(fd, std::string_view(data).substr(off, 7001))) return;
    }
  });
  const std::string echoed = recv_exactly(fd, data.size());
  writer.join();
  ASSERT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data) << "echoed bytes differ";
  EXPECT_EQ(sum(engine, bytes_in), data.size());
  ::shutdown(fd, SHUT_WR);
  EXPECT_TRUE(wait_for_eof(fd)) << "the default on_peer_closed closes";
  ::close(fd);
  engine.drain();
  engine.wait();
}

TEST(Engine, EchoesOnManyConnectionsAtOnce) {
  SKIP_WITHOUT_IO_URING();
  Engine engine(base_config(2));
  ASSERT_TRUE(engine.start().ok());
  constexpr int kClients = 16;
  const std::string data = pattern(256 * 1024);
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      const int fd = connect_to(engine.port());
      if (fd < 0) return;
      std::thread writer([&] { send_all(fd, data); });
      const std::string echoed = recv_exactly(fd, data.size());
      writer.join();
      if (echoed == data) good.fetch_add(1);
      ::close(fd);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kClients);
  engine.drain();
  engine.wait();
}

// Writes 64 KiB for every byte received, to a client that does not read:
// the engine must stop reading once the queue passes send_queue_limit, and
// serve everything once the client reads.
class AmplifyHandler final : public ConnectionHandler {
 public:
  static constexpr size_t kPerByte = 64 * 1024;

  explicit AmplifyHandler(std::atomic<uint64_t>& max_queued) : max_queued_(max_queued) {}

  void on_open(Connection& conn) override {
    // A small kernel send buffer, so the engine's own queue has to grow.
    const int sndbuf = 4096;
    setsockopt(conn.fd(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  }
  void on_data(Connection& conn, std::span<const char> data) override {
    for (char c : data) {
      note(conn.queued_bytes());
      const std::string block(kPerByte, c);
      conn.write(block);
    }
    note(conn.queued_bytes());
  }

 private:
  void note(uint64_t queued) {
    if (queued > max_queued_.load(std::memory_order_relaxed)) {
      max_queued_.store(queued, std::memory_order_relaxed);
    }
  }
  std::atomic<uint64_t>& max_queued_;
};

TEST(Engine, BackpressurePausesReadingAndServesEverythingLater) {
  SKIP_WITHOUT_IO_URING();
  constexpr uint32_t kLimit = 256 * 1024;
  std::atomic<uint64_t> max_queued{0};
  EngineConfig cfg = base_config(1);
  cfg.send_queue_limit = kLimit;
  cfg.make_handler = [&max_queued](Shard&) {
    return std::make_unique<AmplifyHandler>(max_queued);
  };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const int fd = connect_to(engine.port(), /*rcvbuf=*/4096);
  ASSERT_GE(fd, 0);

  // One byte at a time, each only once the server has read the previous
  // one, until the server stops reading. Without backpressure the server
  // would read all 256 (16 MiB of output).
  std::string sent;
  for (int i = 0; i < 256 && sum(engine, pauses) == 0; ++i) {
    const char c = static_cast<char>('A' + i % 26);
    ASSERT_TRUE(send_all(fd, std::string_view(&c, 1)));
    sent.push_back(c);
    ASSERT_TRUE(wait_until([&] {
      return sum(engine, bytes_in) == sent.size() || sum(engine, pauses) > 0;
    }));
  }
  ASSERT_GT(sum(engine, pauses), 0u) << "the server never paused reading";
  EXPECT_LT(sent.size(), 256u);
  // Bounded: the limit, plus what one byte in flight can add at most once
  // reading has been paused.
  EXPECT_LE(max_queued.load(), kLimit + 2 * AmplifyHandler::kPerByte);

  // Now read: every byte sent is answered, in order, in full.
  for (size_t i = 0; i < sent.size(); ++i) {
    const std::string block = recv_exactly(fd, AmplifyHandler::kPerByte);
    ASSERT_EQ(block.size(), AmplifyHandler::kPerByte) << "block " << i;
    ASSERT_EQ(block.find_first_not_of(sent[i]), std::string::npos) << "block " << i;
  }
  EXPECT_EQ(sum(engine, bytes_in), sent.size());
  EXPECT_LE(max_queued.load(), kLimit + 2 * AmplifyHandler::kPerByte);
  ::close(fd);
  engine.drain();
  engine.wait();
}

// Echoes, but on 'X' writes a large answer and closes at once, with the
// send still to come or in flight.
class CloseMidFlightHandler final : public ConnectionHandler {
 public:
  void on_data(Connection& conn, std::span<const char> data) override {
    conn.write(std::string_view(data.data(), data.size()));
    if (std::find(data.begin(), data.end(), 'X') != data.end()) {
      conn.write(std::string(256 * 1024, 'x'));
      conn.close();
    }
  }
};

TEST(Engine, ClosingWithOperationsInFlightIsSafe) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(2);
  cfg.make_handler = [](Shard&) { return std::make_unique<CloseMidFlightHandler>(); };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const std::string payload = pattern(64 * 1024);
  constexpr int kRounds = 300;
  for (int i = 0; i < kRounds; ++i) {
    const int fd = connect_to(engine.port());
    ASSERT_GE(fd, 0) << "round " << i;
    switch (i % 3) {
      case 0:  // client sends and resets while the echo is being sent
        send_all(fd, payload);
        {
          linger lg{1, 0};
          setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        break;
      case 1:  // client sends and closes normally without reading
        send_all(fd, payload);
        break;
      case 2:  // server closes while its answer is queued
        send_all(fd, payload.substr(0, 1000) + "X");
        break;
    }
    ::close(fd);
  }
  ASSERT_TRUE(wait_until([&] { return sum(engine, accepted) == kRounds; }));
  ASSERT_TRUE(wait_until([&] { return sum(engine, open_now) == 0; }))
      << "open " << sum(engine, open_now);

  // The engine still serves.
  const int fd = connect_to(engine.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "still alive"));
  EXPECT_EQ(recv_exactly(fd, 11), "still alive");
  ::close(fd);
  engine.drain();
  engine.wait();
}

// On '!': close, then try to produce output anyway, through every output
// call (reserve is refused once closed; the handler commits regardless).
// Otherwise echo.
class ReserveAfterCloseHandler final : public ConnectionHandler {
 public:
  void on_data(Connection& conn, std::span<const char> data) override {
    if (data[0] == '!') {
      conn.close();
      size_t got = 0;
      if (char* p = conn.reserve(5, got); p != nullptr) {
        std::memcpy(p, "LEAK!", std::min<size_t>(got, 5));
        conn.commit(std::min<size_t>(got, 5));
      }
      if (char* p = conn.reserve_contiguous(5); p != nullptr) {
        std::memcpy(p, "LEAK2", 5);
        conn.commit(5);
      }
      conn.write("LEAK3");
      static const char kBorrowed[] = "LEAK4";
      conn.write_borrowed(kBorrowed, nullptr, nullptr);
      return;
    }
    conn.write(std::string_view(data.data(), data.size()));
  }
};

// Output produced after close() must be dropped, not left in the slot for
// the next connection that reuses it.
TEST(Engine, OutputAfterCloseDoesNotReachTheNextConnection) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(1);
  cfg.make_handler = [](Shard&) { return std::make_unique<ReserveAfterCloseHandler>(); };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  for (int i = 0; i < 5; ++i) {
    const int first = connect_to(engine.port());
    ASSERT_GE(first, 0);
    ASSERT_TRUE(send_all(first, "!"));
    EXPECT_TRUE(wait_for_eof(first));
    ::close(first);
    ASSERT_TRUE(wait_until([&] { return sum(engine, open_now) == 0; }));

    const int second = connect_to(engine.port());  // reuses the slot
    ASSERT_GE(second, 0);
    ASSERT_TRUE(send_all(second, "ping"));
    EXPECT_EQ(recv_exactly(second, 4), "ping") << "round " << i;
    ::close(second);
    ASSERT_TRUE(wait_until([&] { return sum(engine, open_now) == 0; }));
  }
  engine.drain();
  engine.wait();
}

// Arms a timeout on open; records when it fires, then closes.
class TimeoutHandler final : public ConnectionHandler {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int opened = 0;
    int timed_out = 0;
  };
  static constexpr uint64_t kTimeoutMs = 5'000;

  explicit TimeoutHandler(State& state) : state_(state) {}
  void on_open(Connection& conn) override {
    conn.set_timeout(kTimeoutMs);
    std::lock_guard lock(state_.mu);
    ++state_.opened;
    state_.cv.notify_all();
  }
  void on_data(Connection&, std::span<const char>) override {}
  void on_timeout(Connection& conn) override {
    {
      std::lock_guard lock(state_.mu);
      ++state_.timed_out;
      state_.cv.notify_all();
    }
    conn.close();
  }

 private:
  State& state_;
};

TEST(Engine, TimeoutRunsOnlyAfterTheManualClockIsAdvanced) {
  SKIP_WITHOUT_IO_URING();
  ManualClock clock;
  TimeoutHandler::State state;
  EngineConfig cfg = base_config(2);
  cfg.clock = &clock;
  cfg.make_handler = [&state](Shard&) { return std::make_unique<TimeoutHandler>(state); };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const int fd = connect_to(engine.port());
  ASSERT_GE(fd, 0);
  {
    std::unique_lock lock(state.mu);
    ASSERT_TRUE(state.cv.wait_for(lock, 10s, [&] { return state.opened == 1; }));
  }
  const uint64_t armed_at = clock.now_ms();

  clock.advance(TimeoutHandler::kTimeoutMs - 1);
  engine.wake_all();
  sync_shards_at(engine, armed_at + TimeoutHandler::kTimeoutMs - 1);
  {
    std::lock_guard lock(state.mu);
    EXPECT_EQ(state.timed_out, 0) << "fired before its deadline";
  }
  EXPECT_EQ(sum(engine, timeouts), 0u);

  clock.advance(1);
  engine.wake_all();
  {
    std::unique_lock lock(state.mu);
    EXPECT_TRUE(state.cv.wait_for(lock, 10s, [&] { return state.timed_out == 1; }));
  }
  EXPECT_TRUE(wait_for_eof(fd)) << "on_timeout closed the connection";
  EXPECT_EQ(sum(engine, timeouts), 1u);
  ::close(fd);
  engine.drain();
  engine.wait();
  std::lock_guard lock(state.mu);
  EXPECT_EQ(state.timed_out, 1);
}

// --- the flush list and outbound connections ------------------------------

// Links a connection into the flush list a second time before writing, as
// on_send did on -EAGAIN/-EINTR while the connection was already linked:
// a list that links twice points the connection at itself and the turn's
// flush never ends (or skips the connections behind it).
class DoubleLinkHandler final : public ConnectionHandler {
 public:
  void on_data(Connection& conn, std::span<const char> data) override {
    conn.write(std::string_view(data.data(), data.size()));
    conn.shard().connection_dirty(conn);
    conn.shard().connection_dirty(conn);
  }
};

TEST(Engine, LinkingAConnectionTwiceForFlushIsHarmless) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(1);
  cfg.make_handler = [](Shard&) { return std::make_unique<DoubleLinkHandler>(); };
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    fds.push_back(connect_to(engine.port()));
    ASSERT_GE(fds.back(), 0);
  }
  // Several connections dirty in one turn, each linked twice.
  for (int fd : fds) ASSERT_TRUE(send_all(fd, "ping"));
  for (int fd : fds) EXPECT_EQ(recv_exactly(fd, 4), "ping");
  for (int fd : fds) ::close(fd);
}

// Records what an outbound connection saw.
class OutboundHandler final : public ConnectionHandler {
 public:
  void on_open(Connection&) override { opened++; }
  void on_connect_failed(Connection&, int error) override {
    failed_error = error;
    failed++;
  }
  void on_data(Connection&, std::span<const char>) override {}
  void on_close(Connection&) override { closed++; }
  std::atomic<int> opened{0}, failed{0}, closed{0}, failed_error{0};
};

// A listening socket with a backlog of 0 whose accept queue the test fills:
// further SYNs are dropped, so a connect to it stays in progress.
struct FullListener {
  int fd = -1;
  int queued = -1;
  uint16_t port = 0;
  bool make() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return false;
    if (::listen(fd, 0) != 0) return false;
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    queued = connect_to(port);  // fills the queue (backlog 0 holds one)
    return queued >= 0;
  }
  ~FullListener() {
    if (queued >= 0) ::close(queued);
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A loopback listener (its address in `a`) that never accepts: the kernel
// completes up to 16 handshakes and those connections stay open until
// their other end closes them. -1 on failure.
int unaccepting_listener(sockaddr_in& a) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a = loopback(0);
  socklen_t len = sizeof(a);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(fd, 16) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Engine, OutboundConnectPastItsDeadlineReachesOnConnectFailed) {
  SKIP_WITHOUT_IO_URING();
  FullListener target;
  ASSERT_TRUE(target.make());
  ManualClock clock;
  EngineConfig cfg = base_config(1);
  cfg.clock = &clock;
  cfg.connect_timeout_ms = 2'000;
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  OutboundHandler handler;
  std::atomic<bool> started{false};
  engine.execute(0, [&](Shard& s) {
    const sockaddr_in a = loopback(target.port);
    started = s.connect(reinterpret_cast<const sockaddr*>(&a), sizeof(a), &handler) != nullptr;
  });
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  const uint64_t armed_at = clock.now_ms();
  if (handler.opened != 0) GTEST_SKIP() << "this kernel accepted past a full backlog";
  clock.advance(1'999);
  engine.wake_all();
  sync_shards_at(engine, armed_at + 1'999);
  EXPECT_EQ(handler.failed, 0) << "failed before its deadline";
  clock.advance(1);
  engine.wake_all();
  ASSERT_TRUE(wait_until([&] { return handler.closed == 1; }));
  EXPECT_EQ(handler.failed, 1);
  EXPECT_EQ(handler.failed_error, ETIMEDOUT);
  EXPECT_EQ(handler.opened, 0);
  EXPECT_EQ(engine.shard(0).metrics().connect_timeouts.get(), 1u);
}

// An outbound connection that opens a new one when it closes, once, as a
// client retrying a request would.
class ReconnectingHandler final : public ConnectionHandler {
 public:
  explicit ReconnectingHandler(sockaddr_in target) : target_(target) {}
  void on_open(Connection&) override { opened++; }
  void on_data(Connection&, std::span<const char>) override {}
  void on_drain(Connection&) override { drained++; }
  void on_close(Connection& c) override {
    if (reconnect_errno != -1) return;
    Connection* again = c.shard().connect(reinterpret_cast<const sockaddr*>(&target_),
                                          sizeof(target_), this);
    reconnect_errno = again != nullptr ? 0 : errno;
  }
  std::atomic<int> opened{0}, drained{0}, reconnect_errno{-1};

 private:
  sockaddr_in target_;
};

TEST(Engine, NoOutboundConnectPastTheDrainDeadline) {
  SKIP_WITHOUT_IO_URING();
  sockaddr_in a{};
  const int peer = unaccepting_listener(a);
  ASSERT_GE(peer, 0);
  ManualClock clock;
  EngineConfig cfg = base_config(1);
  cfg.clock = &clock;
  cfg.drain_timeout_ms = 1'000;
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  ReconnectingHandler handler(a);
  engine.execute(0, [&](Shard& s) {
    s.connect(reinterpret_cast<const sockaddr*>(&a), sizeof(a), &handler);
  });
  ASSERT_TRUE(wait_until([&] { return handler.opened == 1; }));
  engine.drain();
  ASSERT_TRUE(wait_until([&] { return handler.drained == 1; }));
  // The deadline closes the connection; its handler's new connect is
  // refused, so nothing is left to keep the shard from exiting.
  clock.advance(1'000);
  engine.wake_all();
  ASSERT_TRUE(wait_until([&] { return handler.reconnect_errno != -1; }));
  EXPECT_EQ(handler.reconnect_errno, ESHUTDOWN);
  EXPECT_TRUE(wait_until([&] { return engine.finished(); }));
  ::close(peer);  // resets a connection the shard should not have made
  engine.wait();
}

TEST(Engine, OutboundConnectionsDoNotCountAgainstTheInboundCap) {
  SKIP_WITHOUT_IO_URING();
  EngineConfig cfg = base_config(1);
  cfg.max_connections = 1;
  Engine engine(cfg);
  ASSERT_TRUE(engine.start().ok());
  const int inbound = connect_to(engine.port());
  ASSERT_GE(inbound, 0);
  ASSERT_TRUE(send_all(inbound, "x"));
  ASSERT_EQ(recv_exactly(inbound, 1), "x");  // accepted: the inbound cap is reached
  // An outbound connection to a plain socket of the test's.
  sockaddr_in a{};
  const int peer = unaccepting_listener(a);
  ASSERT_GE(peer, 0);
  OutboundHandler handler;
  std::atomic<int> started{-1};
  engine.execute(0, [&](Shard& s) {
    started = s.connect(reinterpret_cast<const sockaddr*>(&a), sizeof(a), &handler) != nullptr;
  });
  ASSERT_TRUE(wait_until([&] { return started >= 0; }));
  EXPECT_EQ(started, 1) << "outbound connect refused by the inbound cap";
  EXPECT_TRUE(wait_until([&] { return handler.opened == 1; }));
  // A second inbound connection is still refused.
  const int second = connect_to(engine.port());
  ASSERT_GE(second, 0);
  ASSERT_TRUE(send_all(second, "y"));
  EXPECT_TRUE(wait_until([&] { return engine.shard(0).metrics().rejected.get() == 1; }));
  ::close(second);
  ::close(inbound);
  ::close(peer);
  engine.drain();
  engine.wait();
}

}  // namespace
}  // namespace ringshard::engine
