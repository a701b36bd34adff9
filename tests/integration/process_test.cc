// The ringshard binary as users run it: signals, drain and exit codes.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

std::vector<std::string> server_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {RINGSHARD_BINARY, "--listen", "127.0.0.1:0", "--shards", "2",
                                "--tls-listen", "off", "--admin-listen", "off", "--no-plugins"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A request whose head the server has provably parsed (it answered
// 100 Continue) and whose body has not been sent: in flight.
void start_in_flight(TestConnection& c) {
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.error();
  ASSERT_EQ(r->status, 100);
}

TEST(Process, SigtermDrainsInFlightRequestsClosesIdleAndExitsZero) {
  ChildProcess server(server_args({"--drain-timeout", "10s"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();

  TestConnection idle(*port);
  ASSERT_TRUE(idle.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());

  std::vector<TestConnection> busy;
  for (int i = 0; i < 8; ++i) {
    busy.emplace_back(*port);
    start_in_flight(busy.back());
  }

  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("draining")) << server.output();
  // The main thread has asked; every shard has begun draining once no
  // listener accepts any more (each closes its own as it starts).
  ASSERT_TRUE(refuses_connections(*port));
  EXPECT_TRUE(idle.wait_closed()) << "idle keep-alive connection not closed";

  // Every in-flight request completes, with Connection: close.
  for (auto& c : busy) {
    ASSERT_TRUE(c.send("hello"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "Hello, World!");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

// What one client saw of a SIGTERM drain.
struct DrainOutcome {
  int answered = 0;        // responses read
  int lost = 0;            // requests sent and never answered
  bool ended_after_close = false;  // the last response said Connection: close
  std::string error;
};

// Sends `depth` pipelined GETs in one write, reads `depth` responses;
// repeats until a response says close or the connection ends.
DrainOutcome drain_client(uint16_t port, int depth, std::atomic<int>& progress) {
  DrainOutcome out;
  TestConnection c(port);
  std::string batch;
  for (int i = 0; i < depth; ++i) batch += "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
  while (true) {
    if (!c.send(batch)) {
      // The server closed between two batches without saying close first.
      out.error = "send failed after " + std::to_string(out.answered) + " answers";
      out.lost += depth;
      return out;
    }
    for (int i = 0; i < depth; ++i) {
      auto r = c.read_response();
      if (!r) {
        out.lost += depth - i;
        out.error = c.error();
        return out;
      }
      ++out.answered;
      ++progress;
      if (r->header("connection") == "close") {
        out.ended_after_close = true;
        out.lost += depth - 1 - i;
        if (!c.wait_closed()) out.error = "not closed after Connection: close";
        return out;
      }
    }
  }
}

void drain_under_load(int depth) {
  ChildProcess server(server_args({"--drain-timeout", "10s"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  constexpr int kClients = 32;
  std::vector<std::atomic<int>> progress(kClients);  // answers per client
  std::vector<DrainOutcome> outcomes(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { outcomes[i] = drain_client(*port, depth, progress[i]); });
  }
  // An idle keep-alive connection beside them: closed after the grace.
  TestConnection idle(*port);
  ASSERT_TRUE(idle.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  // Every client has been answered many times: all are busy.
  // Counted per client: a total could be reached while one client still
  // sits in the accept queue, and closing the listener resets it.
  ASSERT_TRUE(TestServer::wait_until([&] {
    for (const auto& p : progress) if (p < 100) return false;
    return true;
  }, 30'000));
  server.signal(SIGTERM);
  for (auto& t : clients) t.join();
  int answered = 0;
  for (int i = 0; i < kClients; ++i) {
    const DrainOutcome& o = outcomes[i];
    answered += o.answered;
    EXPECT_EQ(o.lost, 0) << "client " << i << ": " << o.error;
    EXPECT_TRUE(o.ended_after_close) << "client " << i << ": " << o.error;
  }
  EXPECT_TRUE(idle.wait_closed());
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
  EXPECT_GE(answered, kClients * 100);
}

// SIGTERM while 32 keep-alive clients send back to back: every request
// that was sent is answered, and every connection ends after a response
// that said Connection: close.
TEST(Process, SigtermUnderKeepAliveLoadLosesNoRequest) { drain_under_load(1); }

// The same with 8 requests pipelined per write: the server answers all it
// has read; only the last response says close.
TEST(Process, SigtermUnderPipelinedLoadLosesNoRequest) { drain_under_load(8); }

TEST(Process, DrainDeadlineClosesStuckRequestsAndStillExitsZero) {
  ChildProcess server(server_args({"--drain-timeout", "300ms"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  TestConnection stuck(*port);
  start_in_flight(stuck);
  server.signal(SIGTERM);
  EXPECT_TRUE(stuck.wait_closed());
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0);
}

TEST(Process, SecondSignalExitsAtOnce) {
  ChildProcess server(server_args({"--drain-timeout", "60s"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  TestConnection stuck(*port);
  start_in_flight(stuck);
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("draining"));
  server.signal(SIGINT);
  auto code = server.wait_exit(5'000);
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 128 + SIGINT);
}

// VmRSS of a process, in KiB (0 if unreadable).
size_t resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// Mailbox rings used to be allocated for every ordered shard pair up front
// (4,096 slots x 40 bytes each: ~640 MiB at 64 shards). Now a ring exists
// once a pair has exchanged a message.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

TEST(Process, SixtyFourIdleShardsStayUnder64MiB) {
  // A sanitizer's shadow memory and its own threads' stacks are not ours to
  // count (ASan: ~90 MiB for the same process).
  if (kSanitized) GTEST_SKIP() << "RSS is measured on the release build";
  ChildProcess server({RINGSHARD_BINARY, "--listen", "127.0.0.1:0", "--shards", "64",
                       "--tls-listen", "off", "--admin-listen", "off", "--no-plugins"});
  auto port = server.wait_for_port(30'000);
  ASSERT_TRUE(port) << server.output();
  for (int i = 0; i < 64; ++i) {
    auto r = get(*port, "/plaintext");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  const size_t kib = resident_kib(server.pid());
  EXPECT_GT(kib, 0u);
  EXPECT_LT(kib, 64u * 1024) << "RSS " << kib << " KiB with 64 idle shards";
  server.signal(SIGTERM);
  ASSERT_EQ(server.wait_exit(30'000), 0) << server.output();
}

TEST(Process, ServesEveryShardAndRefusesAfterExit) {
  ChildProcess server(server_args());
  auto port = server.wait_for_port();
  ASSERT_TRUE(port);
  for (int i = 0; i < 20; ++i) {
    auto r = get(*port, "/plaintext");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  server.signal(SIGTERM);
  ASSERT_EQ(server.wait_exit(), 0);
}

// io_uring_setup() answered with EPERM by a seccomp filter, as in a
// default container profile: the server must say why and exit 69.
void deny_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(120);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(121);
}

TEST(Process, NoIoUringExits69WithCauseAndFix) {
  ChildProcess server(server_args(), deny_io_uring_setup);
  auto code = server.wait_exit();
  ASSERT_TRUE(code);
  ASSERT_NE(*code, 120) << "could not set no_new_privs";
  ASSERT_NE(*code, 121) << "could not install the seccomp filter";
  EXPECT_EQ(*code, 69) << server.output();
  EXPECT_NE(server.output().find("seccomp"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("fix:"), std::string::npos) << server.output();
  // One line, not a stack of messages.
  EXPECT_EQ(std::count(server.output().begin(), server.output().end(), '\n'), 1)
      << server.output();
}

TEST(Process, BadFlagExits64) {
  ChildProcess server({RINGSHARD_BINARY, "--no-such-flag"});
  EXPECT_EQ(server.wait_exit(), 64);
  ChildProcess bad_value({RINGSHARD_BINARY, "--shards", "many"});
  EXPECT_EQ(bad_value.wait_exit(), 64);
}

TEST(Process, BadConfigExits78) {
  const std::string path = testing::TempDir() + "/bad_config.toml";
  std::ofstream(path) << "[server]\nlisten = 42\n";
  ChildProcess server({RINGSHARD_BINARY, "--config", path, "--no-plugins"});
  EXPECT_EQ(server.wait_exit(), 78);
  ChildProcess check({RINGSHARD_BINARY, "--config", path, "--check-config", "--no-plugins"});
  EXPECT_EQ(check.wait_exit(), 78);
}

// `make run` (the README's first command) starts $(BUILD)/ringshard.
TEST(Process, BinaryIsWhereMakeRunStartsIt) {
  const std::string expected = std::string(RINGSHARD_BUILD_DIR) + "/ringshard";
  EXPECT_EQ(std::string(RINGSHARD_BINARY), expected);
  std::ifstream makefile(std::string(RINGSHARD_SOURCE_DIR) + "/Makefile");
  std::string text((std::istreambuf_iterator<char>(makefile)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("./$(BUILD)/ringshard --listen"), std::string::npos);
}

TEST(Process, HelpAndVersion) {
  ChildProcess help({RINGSHARD_BINARY, "--help"});
  EXPECT_EQ(help.wait_exit(), 0);
  ChildProcess version({RINGSHARD_BINARY, "--version"});
  EXPECT_EQ(version.wait_exit(), 0);
}

TEST(Process, UnbindableAddressExits71) {
  // A TEST-NET address is on no local interface: bind() fails.
  ChildProcess second({RINGSHARD_BINARY, "--listen", "192.0.2.1:1", "--shards", "1",
                       "--tls-listen", "off", "--admin-listen", "off", "--no-plugins"});
  EXPECT_EQ(second.wait_exit(), 71) << second.output();
}

}  // namespace
}  // namespace ringshard::test
