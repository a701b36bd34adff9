// Durability: a done() that reports a create reports a durable one. A
// child process creates deployments and writes each id to a pipe only
// from the done() that reports it; the parent SIGKILLs the child at a
// random point, reopens the store and finds every id it was told about.
//
// SIGKILL loses the process, not the kernel's page cache, so this checks
// the store's side of the promise (nothing acknowledged before COMMIT
// returned; the WAL recovers), not the disk's fsync.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <semaphore>
#include <set>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

constexpr int kRounds = 5;
constexpr int kMaxAcknowledgedBeforeKill = 300;
constexpr int kIdsPerRound = 1'000'000;  // id ranges of the rounds never meet
constexpr int kPollTimeoutMs = 30'000;

// The child: never returns. Up to 16 creates in flight; each done() writes
// "<id>\n" (one write(2) of less than PIPE_BUF bytes, so lines never
// interleave). Runs until killed, or exits after kIdsPerRound creates.
[[noreturn]] void create_until_killed(const std::string& data_dir, int first, int out_fd) {
  auto store = make_sqlite_store({.data_dir = data_dir});
  std::string error;
  if (!store->open(error)) {
    const std::string line = "E " + error + "\n";
    (void)!::write(out_fd, line.data(), line.size());
    ::_exit(1);
  }
  std::counting_semaphore<16> slots(16);
  for (int n = first; n < first + kIdsPerRound; ++n) {
    slots.acquire();
    auto r = request_of(create_op(test_deployment(n)));
    r->done = [&slots, out_fd](std::unique_ptr<StoreRequest> done) {
      if (done->outcome == StoreRequest::Outcome::kDone) {
        const std::string line = done->ops[0].deployment.id + "\n";
        (void)!::write(out_fd, line.data(), line.size());
      }
      slots.release();
    };
    store->submit(std::move(r));
  }
  store->close();
  ::_exit(0);
}

// Reads lines from fd until `count` were read (count < 0: until EOF).
// False on a timeout or a read error.
bool read_lines(int fd, int count, std::string& pending, std::vector<std::string>& lines) {
  while (count < 0 || static_cast<int>(lines.size()) < count) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kPollTimeoutMs) != 1) return false;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return count < 0;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
      lines.push_back(pending.substr(0, end));
      pending.erase(0, end + 1);
    }
  }
  return true;
}

TEST_F(StoreTest, EveryAcknowledgedCreateSurvivesSigkill) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> kill_after(1, kMaxAcknowledgedBeforeKill);
  std::set<std::string> acknowledged;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      create_until_killed(data_dir(), round * kIdsPerRound, fds[1]);
    }
    ::close(fds[1]);
    std::string pending;
    std::vector<std::string> lines;
    const bool got = read_lines(fds[0], kill_after(rng), pending, lines);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // What the child wrote before it died was acknowledged too.
    const bool drained = read_lines(fds[0], -1, pending, lines);
    ::close(fds[0]);
    ASSERT_TRUE(got) << "the child acknowledged nothing for " << kPollTimeoutMs << " ms";
    ASSERT_TRUE(drained);
    ASSERT_FALSE(lines.empty());
    ASSERT_NE(lines[0].substr(0, 2), "E ") << lines[0];
    acknowledged.insert(lines.begin(), lines.end());

    auto store = open_store();
    const std::vector<Deployment> all = all_deployments(*store);
    std::set<std::string> stored;
    for (const Deployment& d : all) stored.insert(d.id);
    for (const std::string& id : acknowledged) {
      EXPECT_TRUE(stored.contains(id)) << id << " was acknowledged, then lost";
    }
    // One event per create, numbered 1..N without a gap, across every kill.
    EXPECT_EQ(store->last_seq(), all.size());
    uint64_t expected = 1;
    for (uint64_t after = 0;;) {
      StoreOpResult page = run_op(*store, events_op(after, kStoreMaxEventsLimit));
      if (page.events.empty()) break;
      for (const Event& e : page.events) EXPECT_EQ(e.seq, expected++);
      after = page.events.back().seq;
    }
    EXPECT_EQ(expected - 1, all.size());
  }
}

}  // namespace
}  // namespace ringshard::deployments::testing
