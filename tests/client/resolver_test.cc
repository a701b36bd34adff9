// Tests for client/resolver.h: the Resolver (c-ares on its thread) and the
// per-shard ShardResolver cache, against a DNS responder on 127.0.0.1
// (tests/client/dns_responder.h) and an engine with one shard and a
// ManualClock, so TTLs expire when the test says so. c-ares's own per-try
// timeout is real time: the timeout tests use a short one (the event they
// wait for, not a sleep).
#include "client/resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/ring_setup.h"
#include "tests/client/dns_responder.h"

namespace ringshard::client {
namespace RS_UNITY_ID {

using std::chrono::steady_clock;
using test::DnsResponder;
constexpr auto kDeadline = std::chrono::seconds(20);  // a safety net only

int io_uring_probe_result() {
  static const int rc = [] {
    int r = 0;
    std::thread([&r] { r = engine::probe_io_uring(); }).join();
    return r;
  }();
  return rc;
}

class NullHandler final : public engine::ConnectionHandler {
 public:
  void on_data(engine::Connection&, std::span<const char>) override {}
};

std::string text_of(const engine::SocketAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    port = ntohs(in6->sin6_port);
  }
  return std::string(buf) + "/" + std::to_string(port);
}

std::vector<std::string> texts(const Resolution& r) {
  std::vector<std::string> out;
  for (const engine::SocketAddress& a : r.addresses) out.push_back(text_of(a));
  return out;
}

// Answers delivered to callbacks, from the shard's thread; wait() is the
// test's synchronisation point.
class Answers {
 public:
  Resolver::Callback callback() {
    return [this](Resolution&& r) {
      std::lock_guard lock(mu_);
      got_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  bool wait(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, steady_clock::now() + kDeadline, [&] { return got_.size() >= n; });
  }
  Resolution at(size_t i) {
    std::lock_guard lock(mu_);
    return i < got_.size() ? got_[i] : Resolution{};
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Resolution> got_;
};

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const int rc = io_uring_probe_result(); rc < 0) {
      GTEST_SKIP() << engine::describe_ring_failure(rc);
    }
    ASSERT_TRUE(dns_.ok());
    engine::EngineConfig cfg;
    cfg.shards = 1;
    cfg.pin_threads = false;
    cfg.listen = false;
    cfg.recv_buffer_count = 16;
    cfg.clock = &clock_;
    cfg.make_handler = [](engine::Shard&) { return std::make_unique<NullHandler>(); };
    engine_ = std::make_unique<engine::Engine>(cfg);
    ASSERT_TRUE(engine_->start().ok());
  }

  void TearDown() override {
    if (engine_ == nullptr) return;
    if (cache_ != nullptr) on_shard([this](engine::Shard&) { cache_.reset(); });
    resolver_.reset();
    engine_->drain();
    engine_->wait();
  }

  Resolver::Options options() {
    Resolver::Options o;
    o.servers = {dns_.server()};
    o.use_hosts_file = false;
    o.timeout_ms = 5'000;
    o.tries = 1;
    return o;
  }

  void start(const Resolver::Options& o) {
    std::string error;
    resolver_ = Resolver::create(o, error);
    ASSERT_NE(resolver_, nullptr) << error;
    on_shard([this](engine::Shard& s) { cache_ = std::make_unique<ShardResolver>(s, *resolver_); });
  }

  engine::Shard& shard() { return engine_->shard(0); }

  // Runs fn on the shard's thread and returns once it has run.
  template <class Fn>
  void on_shard(Fn fn) {
    struct Done {
      std::mutex mu;
      std::condition_variable cv;
      bool ran = false;
    };
    auto done = std::make_shared<Done>();
    engine_->execute(0, [done, &fn](engine::Shard& s) {
      fn(s);
      std::lock_guard lock(done->mu);
      done->ran = true;
      done->cv.notify_all();
    });
    std::unique_lock lock(done->mu);
    ASSERT_TRUE(done->cv.wait_until(lock, steady_clock::now() + kDeadline, [&] { return done->ran; }));
  }

  // Advances the clock and returns once the shard's loop has seen it.
  void advance(uint64_t ms) {
    clock_.advance(ms);
    const uint64_t target = clock_.now_ms();
    const auto deadline = steady_clock::now() + kDeadline;
    uint64_t seen = 0;
    while (seen < target && steady_clock::now() < deadline) {
      engine_->wake_all();
      on_shard([&seen](engine::Shard& s) { seen = s.now_ms(); });
    }
    ASSERT_GE(seen, target);
  }

  // One resolve through the cache; waits for its answer.
  Resolution resolve(const std::string& host, uint16_t port) {
    Answers answers;
    on_shard([&](engine::Shard&) { cache_->resolve(host, port, answers.callback()); });
    EXPECT_TRUE(answers.wait(1)) << "no answer for " << host;
    return answers.at(0);
  }

  ShardResolver::Stats stats() {
    ShardResolver::Stats s;
    on_shard([&](engine::Shard&) { s = cache_->stats(); });
    return s;
  }

  engine::ManualClock clock_;
  DnsResponder dns_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<ShardResolver> cache_;  // shard thread only
};

// --- pure pieces ------------------------------------------------------------

TEST(ResolverOrder, InterleavesFamiliesStartingWithTheFirst) {
  std::vector<engine::SocketAddress> a;
  for (const char* h : {"fd00::1", "fd00::2", "fd00::3", "10.0.0.1", "10.0.0.2"}) {
    a.push_back(*engine::resolve_literal(h, 80));
  }
  interleave_families(a);
  Resolution r;
  r.addresses = a;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"fd00::1/80", "10.0.0.1/80", "fd00::2/80",
                                                 "10.0.0.2/80", "fd00::3/80"}));
}

TEST(ResolverLiteral, AnswersLiteralsAndLocalhostWithinTheFamily) {
  auto r = resolve_without_query("LocalHost", 8080, AddressFamily::kAny);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(texts(*r), (std::vector<std::string>{"127.0.0.1/8080", "::1/8080"}));
  r = resolve_without_query("localhost", 1, AddressFamily::kIpv6);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(texts(*r), (std::vector<std::string>{"::1/1"}));
  r = resolve_without_query("[::1]", 443, AddressFamily::kIpv4);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error, ResolveError::kNotFound);
  EXPECT_FALSE(resolve_without_query("api.internal", 80, AddressFamily::kAny).has_value());
  EXPECT_FALSE(resolve_without_query("", 80, AddressFamily::kAny).has_value());
  EXPECT_FALSE(resolve_without_query("*", 80, AddressFamily::kAny).has_value());
}

TEST(ResolverCreate, RefusesAMalformedServer) {
  Resolver::Options o;
  o.servers = {"dns.example:53"};
  std::string error;
  EXPECT_EQ(Resolver::create(o, error), nullptr);
  EXPECT_NE(error.find("dns.example:53"), std::string::npos) << error;
}

// --- through the cache ------------------------------------------------------

TEST_F(ResolverTest, LiteralsAndLocalhostAreAnsweredWithoutAQuery) {
  start(options());
  std::vector<Resolution> got;
  bool synchronous = true;
  on_shard([&](engine::Shard&) {
    for (const char* h : {"127.0.0.1", "::1", "[::1]", "localhost"}) {
      const size_t before = got.size();
      cache_->resolve(h, 80, [&](Resolution&& r) { got.push_back(std::move(r)); });
      synchronous = synchronous && got.size() == before + 1;
    }
  });
  EXPECT_TRUE(synchronous) << "a literal must be answered before resolve() returns";
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(texts(got[0]), (std::vector<std::string>{"127.0.0.1/80"}));
  EXPECT_EQ(texts(got[1]), (std::vector<std::string>{"::1/80"}));
  EXPECT_EQ(texts(got[2]), (std::vector<std::string>{"::1/80"}));
  EXPECT_EQ(texts(got[3]), (std::vector<std::string>{"127.0.0.1/80", "::1/80"}));
  EXPECT_EQ(dns_.total_queries(), 0u);
  EXPECT_EQ(stats().queries, 0u);
  EXPECT_EQ(stats().hits, 4u);
}

TEST_F(ResolverTest, ReturnsBothFamiliesInterleavedWithThePort) {
  dns_.set("dual.test", {"10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"}, 60);
  start(options());
  const Resolution r = resolve("dual.test", 8443);
  ASSERT_TRUE(r.ok()) << r.error_text;
  ASSERT_EQ(r.addresses.size(), 4u);
  for (size_t i = 1; i < r.addresses.size(); ++i) {
    EXPECT_NE(r.addresses[i].family(), r.addresses[i - 1].family()) << "position " << i;
  }
  std::vector<std::string> t = texts(r);
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"10.0.0.1/8443", "10.0.0.2/8443", "fd00::1/8443",
                                         "fd00::2/8443"}));
  // Within a family the servers' order is kept.
  std::vector<std::string> v4;
  for (const std::string& s : texts(r)) {
    if (s.find(':') == std::string::npos) v4.push_back(s);
  }
  EXPECT_EQ(v4, (std::vector<std::string>{"10.0.0.1/8443", "10.0.0.2/8443"}));
  EXPECT_EQ(r.ttl_ms, 60'000u);
  EXPECT_EQ(dns_.queries("dual.test", DnsResponder::kTypeA), 1u);
  EXPECT_EQ(dns_.queries("dual.test", DnsResponder::kTypeAaaa), 1u);
}

TEST_F(ResolverTest, FamilyOptionAsksForOneFamilyOnly) {
  dns_.set("dual.test", {"10.0.0.1", "fd00::1"}, 60);
  Resolver::Options o = options();
  o.family = AddressFamily::kIpv6;
  start(o);
  const Resolution r = resolve("dual.test", 80);
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"fd00::1/80"}));
  EXPECT_EQ(dns_.queries("dual.test", DnsResponder::kTypeA), 0u);
}

TEST_F(ResolverTest, TtlIsHonouredThenAChangedAddressIsPickedUp) {
  dns_.set("moving.test", {"10.0.0.1"}, 30);
  start(options());
  Resolution r = resolve("moving.test", 80);
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.1/80"}));
  const uint64_t asked = dns_.total_queries();
  EXPECT_EQ(asked, 2u);  // A and AAAA

  dns_.set("moving.test", {"10.0.0.9"}, 30);
  advance(29'000);
  r = resolve("moving.test", 80);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.1/80"})) << "fresh: from the cache";
  EXPECT_EQ(dns_.total_queries(), asked);
  EXPECT_EQ(stats().hits, 1u);

  advance(1'000);
  r = resolve("moving.test", 80);
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.9/80"})) << "stale: asked again";
  EXPECT_EQ(dns_.total_queries(), 2 * asked);
  EXPECT_EQ(stats().queries, 2u);
}

TEST_F(ResolverTest, TtlIsClampedToTheOptions) {
  dns_.set("zero.test", {"10.0.0.1"}, 0);
  dns_.set("long.test", {"10.0.0.2"}, 86'400);
  Resolver::Options o = options();
  o.min_ttl_ms = 2'000;
  o.max_ttl_ms = 60'000;
  start(o);
  EXPECT_EQ(resolve("zero.test", 80).ttl_ms, 2'000u);
  EXPECT_EQ(resolve("long.test", 80).ttl_ms, 60'000u);
  // A TTL of 0 still answers from the cache until the floor.
  const uint64_t asked = dns_.queries("zero.test");
  resolve("zero.test", 80);
  EXPECT_EQ(dns_.queries("zero.test"), asked);
}

TEST_F(ResolverTest, NxdomainIsNotFoundAndCachedForTheNegativeTtl) {
  Resolver::Options o = options();
  o.negative_ttl_ms = 5'000;
  start(o);
  Resolution r = resolve("missing.test", 80);
  EXPECT_EQ(r.error, ResolveError::kNotFound);
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_EQ(r.ttl_ms, 5'000u);
  EXPECT_NE(r.error_text.find("missing.test"), std::string::npos) << r.error_text;
  const uint64_t asked = dns_.queries("missing.test");
  EXPECT_GE(asked, 1u);

  r = resolve("missing.test", 80);
  EXPECT_EQ(r.error, ResolveError::kNotFound);
  EXPECT_EQ(dns_.queries("missing.test"), asked) << "the failure is cached";

  dns_.set("missing.test", {"10.0.0.3"}, 60);
  advance(5'000);
  r = resolve("missing.test", 80);
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.3/80"}));
  EXPECT_EQ(stats().failures, 2u);
}

TEST_F(ResolverTest, SilentServersAreATimeout) {
  dns_.set_silent(true);
  Resolver::Options o = options();
  o.timeout_ms = 100;
  o.tries = 1;
  start(o);
  const Resolution r = resolve("quiet.test", 80);
  EXPECT_EQ(r.error, ResolveError::kTimeout) << r.error_text;
  EXPECT_EQ(resolve_error_name(r.error), "timeout");
  EXPECT_GE(dns_.queries("quiet.test"), 1u);
}

TEST_F(ResolverTest, ServesStaleAddressesWhenTheRefreshTimesOut) {
  dns_.set("flaky.test", {"10.0.0.4"}, 10);
  Resolver::Options o = options();
  o.timeout_ms = 100;
  o.negative_ttl_ms = 3'000;
  start(o);
  ASSERT_TRUE(resolve("flaky.test", 80).ok());
  dns_.set_silent(true);
  advance(10'000);
  Resolution r = resolve("flaky.test", 80);
  ASSERT_TRUE(r.ok()) << r.error_text;
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.4/80"}));
  EXPECT_EQ(r.ttl_ms, 3'000u);
  EXPECT_EQ(stats().stale_served, 1u);
  // Within the negative TTL the stale answer is a hit; past it, the
  // servers are asked again (and answer again).
  const uint64_t asked = dns_.total_queries();
  resolve("flaky.test", 80);
  EXPECT_EQ(dns_.total_queries(), asked);
  dns_.set_silent(false);
  dns_.set("flaky.test", {"10.0.0.5"}, 10);
  advance(3'000);
  r = resolve("flaky.test", 80);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"10.0.0.5/80"}));
}

TEST_F(ResolverTest, ConcurrentResolvesOfOneNameShareOneQuery) {
  dns_.set("shared.test", {"10.0.0.6"}, 60);
  start(options());
  Answers answers;
  on_shard([&](engine::Shard&) {
    for (int i = 0; i < 5; ++i) cache_->resolve("shared.test", 80, answers.callback());
    cache_->resolve("shared.test", 81, answers.callback());  // another port, another entry
  });
  ASSERT_TRUE(answers.wait(6));
  for (size_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(answers.at(i).ok()) << answers.at(i).error_text;
  }
  EXPECT_EQ(stats().queries, 2u);
  EXPECT_EQ(dns_.queries("shared.test", DnsResponder::kTypeA), 2u);
}

TEST_F(ResolverTest, PastItsSizeTheCacheDropsExpiredEntries) {
  Resolver::Options o = options();
  o.negative_ttl_ms = 1'000;
  start(o);
  // 512 names (NXDOMAIN, cached negatively), asked 32 at a time.
  for (int batch = 0; batch < 16; ++batch) {
    Answers answers;
    on_shard([&](engine::Shard&) {
      for (int i = 0; i < 32; ++i) {
        cache_->resolve("n" + std::to_string(batch * 32 + i) + ".test", 80, answers.callback());
      }
    });
    ASSERT_TRUE(answers.wait(32));
  }
  size_t before = 0;
  on_shard([&](engine::Shard&) { before = cache_->cached_names(); });
  EXPECT_EQ(before, 512u);
  advance(1'000);
  resolve("fresh.test", 80);
  size_t after = 0;
  on_shard([&](engine::Shard&) { after = cache_->cached_names(); });
  EXPECT_EQ(after, 1u) << "the expired entries went, the new one stayed";
}

TEST_F(ResolverTest, DestroyingTheCacheAnswersItsWaitersWithShutdown) {
  dns_.set_silent(true);
  start(options());  // 5 s per try: the lookups stay pending
  Answers answers;
  bool answered_in_destructor = false;
  on_shard([&](engine::Shard&) {
    cache_->resolve("pending.test", 80, answers.callback());
    cache_->resolve("pending.test", 80, answers.callback());
    cache_->resolve("other.test", 80, answers.callback());
    cache_.reset();
    answered_in_destructor = answers.size() == 3;
  });
  EXPECT_TRUE(answered_in_destructor);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(answers.at(i).error, ResolveError::kShutdown);
  // The Resolver goes without waiting for the servers' timeout.
  const auto before = steady_clock::now();
  resolver_.reset();
  EXPECT_LT(steady_clock::now() - before, std::chrono::seconds(4));
}

TEST_F(ResolverTest, DestroyingTheResolverAnswersPendingLookupsWithShutdown) {
  dns_.set_silent(true);
  start(options());
  Answers answers;
  resolver_->lookup(shard(), "pending.test", 80, answers.callback());
  resolver_->lookup(shard(), "pending2.test", 80, answers.callback());
  // Both queries reached the servers (so c-ares holds them), then the
  // Resolver goes.
  const auto deadline = steady_clock::now() + kDeadline;
  while (dns_.total_queries() < 4 && steady_clock::now() < deadline) std::this_thread::yield();
  on_shard([&](engine::Shard&) { cache_.reset(); });
  resolver_.reset();
  ASSERT_TRUE(answers.wait(2));
  EXPECT_EQ(answers.at(0).error, ResolveError::kShutdown);
  EXPECT_EQ(answers.at(1).error, ResolveError::kShutdown);
}

TEST_F(ResolverTest, ACancelledLookupIsDroppedWithoutRunning) {
  dns_.set_silent(true);
  start(options());
  auto token = std::make_shared<int>(0);
  bool ran = false;
  const uint64_t id = resolver_->lookup(shard(), "cancel.test", 80,
                                        [token, &ran](Resolution&&) { ran = true; });
  EXPECT_NE(id, 0u);
  EXPECT_EQ(token.use_count(), 2);
  resolver_->cancel(id);
  EXPECT_EQ(token.use_count(), 1) << "cancel() destroys the callback before returning";
  resolver_->cancel(id);  // again: ignored
  on_shard([&](engine::Shard&) { cache_.reset(); });
  resolver_.reset();
  EXPECT_FALSE(ran);
}

TEST_F(ResolverTest, AnAnswerForAShardThatExitedIsDroppedNotRun) {
  start(options());
  on_shard([&](engine::Shard&) { cache_.reset(); });
  engine_->drain();
  engine_->wait();
  auto token = std::make_shared<int>(0);
  bool ran = false;
  resolver_->lookup(shard(), "127.0.0.1", 80, [token, &ran](Resolution&&) { ran = true; });
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(ran);
  resolver_.reset();
  engine_.reset();
}

}  // namespace
}  // namespace ringshard::client
