// Tests for WsServer::add_topic_listener over a live two-shard server:
// every shard's listener gets every message of its topic, exactly once, in
// publish order per publishing shard, on that shard's thread, with and
// without WebSocket subscribers there; subscribers and listeners both
// receive, the subscribers first; a throwing listener is counted and does
// not keep the next one from running.
#include <pthread.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/shard.h"
#include "tests/support/test_server.h"
#include "tests/support/ws_client.h"
#include "ws/driver.h"
#include "ws/server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

constexpr unsigned kShards = 2;
constexpr int kPerPublisher = 200;
constexpr std::string_view kTopic = "chat:room";  // what /ws/chat's join_channel "room" subscribes

// What one shard's listener saw. Written only on that shard's thread; the
// test reads it once `count` says everything arrived (release/acquire).
struct Seen {
  std::vector<std::string> payloads;
  std::vector<uint64_t> delivered_before;  // the shard's WsMetrics::delivered at the call
  std::vector<size_t> subscribers;         // the shard's subscribers of kTopic at the call
  bool wrong_thread = false;
  std::atomic<size_t> count{0};
};

struct Listened {
  Seen shard[kShards];
  std::atomic<size_t> other_topic{0};  // calls of a listener on another topic
};

bool on_shard_thread(const engine::Shard& shard) {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return std::string(name) == "shard-" + std::to_string(shard.index());
}

TestServerOptions with_listeners(Listened& l) {
  TestServerOptions opts;
  opts.shards = kShards;
  opts.setup = [&l](server::ServerApp& app) {
    ws::WsServer& wss = app.ws();
    wss.add_topic_listener(std::string(kTopic), [&l, &wss](engine::Shard& shard, std::string_view p) {
      Seen& s = l.shard[shard.index()];
      s.wrong_thread |= !on_shard_thread(shard);
      s.payloads.emplace_back(p);
      s.delivered_before.push_back(wss.metrics(shard.index()).delivered.get());
      s.subscribers.push_back(wss.subscribers(shard.index(), kTopic));
      s.count.fetch_add(1, std::memory_order_release);
    });
    wss.add_topic_listener("chat:other", [&l](engine::Shard&, std::string_view) {
      l.other_topic.fetch_add(1, std::memory_order_relaxed);
    });
  };
  return opts;
}

// Both shards publish kPerPublisher messages "shard:seq" at the same time
// (each from its own thread, interleaved through the mailboxes).
void publish_from_both_shards(TestServer& s) {
  for (unsigned from = 0; from < kShards; ++from) {
    s.engine().execute(from, [&s](engine::Shard& shard) {
      for (int i = 0; i < kPerPublisher; ++i) {
        s.app().ws().publish(shard, kTopic, std::to_string(shard.index()) + ":" + std::to_string(i));
      }
    });
  }
}

// Every publisher's sequence, once each, in order.
void expect_in_order_once(const std::vector<std::string>& got, const std::string& who) {
  ASSERT_EQ(got.size(), size_t{kShards} * kPerPublisher) << who;
  int next[kShards] = {};
  for (const std::string& m : got) {
    unsigned p = 0;
    int seq = 0;
    ASSERT_EQ(std::sscanf(m.c_str(), "%u:%d", &p, &seq), 2) << who << ": " << m;
    ASSERT_LT(p, kShards) << who;
    EXPECT_EQ(seq, next[p]) << who << ": publisher " << p << " out of order or duplicated";
    next[p] = seq + 1;
  }
}

bool all_arrived(Listened& l) {
  return TestServer::wait_until([&] {
    for (Seen& s : l.shard) {
      if (s.count.load(std::memory_order_acquire) < size_t{kShards} * kPerPublisher) return false;
    }
    return true;
  });
}

TEST(WsTopicListener, EveryShardGetsEveryMessageInOrderWithoutSubscribers) {
  Listened l;
  TestServer s(with_listeners(l));
  ASSERT_EQ(s.ws_subscribers(0, kTopic) + s.ws_subscribers(1, kTopic), 0u);
  publish_from_both_shards(s);
  ASSERT_TRUE(all_arrived(l));
  for (unsigned i = 0; i < kShards; ++i) {
    Seen& seen = l.shard[i];
    expect_in_order_once(seen.payloads, "shard " + std::to_string(i));
    EXPECT_FALSE(seen.wrong_thread) << "shard " << i;
  }
  // Asked on each shard once more: nothing arrived twice.
  for (unsigned i = 0; i < kShards; ++i) {
    EXPECT_EQ(s.on_shard(i, [&](engine::Shard&) { return l.shard[i].payloads.size(); }),
              size_t{kShards} * kPerPublisher);
  }
  EXPECT_EQ(l.other_topic.load(), 0u) << "a listener hears exactly its topic";
  EXPECT_EQ(s.ws_sum([](const ws::WsMetrics& m) { return m.delivered.get(); }), 0u);
}

TEST(WsTopicListener, ListenersAndSubscribersBothGetEveryMessageSubscribersFirst) {
  Listened l;
  TestServer s(with_listeners(l));
  std::vector<std::unique_ptr<WsTestClient>> subs;
  // Open until both shards hold subscribers (SO_REUSEPORT spreads them).
  for (int i = 0; i < 64; ++i) {
    auto c = std::make_unique<WsTestClient>(s.port(), "/ws/chat");
    ASSERT_TRUE(c->ok()) << c->error();
    ASSERT_TRUE(c->send_text(R"({"type":"join_channel","channel":"room"})"));
    ASSERT_EQ(c->read_data(), R"({"type":"joined","channel":"room"})");
    subs.push_back(std::move(c));
    if (subs.size() >= 4 && s.ws_subscribers(0, kTopic) > 0 && s.ws_subscribers(1, kTopic) > 0) {
      break;
    }
  }
  ASSERT_GT(s.ws_subscribers(0, kTopic), 0u);
  ASSERT_GT(s.ws_subscribers(1, kTopic), 0u);
  const uint64_t delivered_before[kShards] = {
      s.on_shard(0, [&](engine::Shard&) { return s.app().ws().metrics(0).delivered.get(); }),
      s.on_shard(1, [&](engine::Shard&) { return s.app().ws().metrics(1).delivered.get(); })};

  publish_from_both_shards(s);
  for (size_t c = 0; c < subs.size(); ++c) {
    std::vector<std::string> got;
    for (int k = 0; k < int{kShards} * kPerPublisher; ++k) {
      auto m = subs[c]->read_message();
      ASSERT_TRUE(m) << subs[c]->error();
      got.push_back(m->data);
    }
    expect_in_order_once(got, "subscriber " + std::to_string(c));
  }
  ASSERT_TRUE(all_arrived(l));
  for (unsigned i = 0; i < kShards; ++i) {
    Seen& seen = l.shard[i];
    expect_in_order_once(seen.payloads, "shard " + std::to_string(i));
    EXPECT_FALSE(seen.wrong_thread) << "shard " << i;
    // When the listener ran for the k-th message, the shard had already
    // queued it to each of its subscribers: delivered had counted k+1 rounds.
    for (size_t k = 0; k < seen.payloads.size(); ++k) {
      ASSERT_EQ(seen.delivered_before[k], delivered_before[i] + (k + 1) * seen.subscribers[k])
          << "shard " << i << " message " << k;
    }
  }
  EXPECT_EQ(l.other_topic.load(), 0u);
}

TEST(WsTopicListener, AThrowingListenerIsCountedAndTheNextOneStillRuns) {
  std::atomic<int> after[kShards] = {};
  TestServerOptions opts;
  opts.shards = kShards;
  opts.setup = [&after](server::ServerApp& app) {
    app.ws().add_topic_listener("t", [](engine::Shard&, std::string_view) {
      throw std::runtime_error("plugin bug");
    });
    app.ws().add_topic_listener("t", [&after](engine::Shard& shard, std::string_view p) {
      if (p == "x") after[shard.index()].fetch_add(1);
    });
  };
  TestServer s(opts);
  s.on_shard(0, [&](engine::Shard& shard) {
    s.app().ws().publish(shard, "t", "x");
    return 0;
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return after[0].load() == 1 && after[1].load() == 1; }));
  EXPECT_TRUE(TestServer::wait_until(
      [&] { return s.ws_sum([](const ws::WsMetrics& m) { return m.listener_errors.get(); }) == 2; }));
}

}  // namespace
}  // namespace ringshard::test
