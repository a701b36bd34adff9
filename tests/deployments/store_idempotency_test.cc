// Idempotency keys: replay, mismatch, a retry in the same transaction, and
// expiry.
#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <vector>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

using Outcome = StoreRequest::Outcome;

// A keyed create whose render() answers 201 with the id (and counts its
// calls: a replay must not render).
std::unique_ptr<StoreRequest> keyed_create(int n, const std::string& key,
                                           const std::string& hash, int* renders) {
  auto r = request_of(create_op(test_deployment(n)));
  r->idempotency_key = key;
  r->body_hash = hash;
  r->render = [renders](StoreRequest& self) {
    ++*renders;
    self.status = 201;
    self.body = "{\"id\":\"" + self.results[0].deployment->id + "\"}";
  };
  return r;
}

class StoreIdempotencyTest : public StoreTest {
 protected:
  void SetUp() override { store_ = open_store(options_); }
  size_t count() { return all_deployments(*store_).size(); }

  StoreOptions options_;
  std::unique_ptr<Store> store_;
  int renders_ = 0;
};

TEST_F(StoreIdempotencyTest, FirstRequestRunsRendersAndStoresTheResponse) {
  auto done = run(*store_, keyed_create(1, "k1", "h1", &renders_));
  EXPECT_EQ(done->outcome, Outcome::kDone);
  EXPECT_EQ(done->status, 201);
  EXPECT_EQ(done->body, "{\"id\":\"" + test_id(1) + "\"}");
  EXPECT_EQ(renders_, 1);
  EXPECT_EQ(count(), 1u);
}

TEST_F(StoreIdempotencyTest, SameKeySameBodyReplaysWithoutRunningTheOps) {
  run(*store_, keyed_create(1, "k1", "h1", &renders_));
  // A different deployment under the same key and hash: if the ops ran,
  // deployment 2 would exist.
  auto replay = run(*store_, keyed_create(2, "k1", "h1", &renders_));
  EXPECT_EQ(replay->outcome, Outcome::kReplayed);
  EXPECT_EQ(replay->status, 201);
  EXPECT_EQ(replay->body, "{\"id\":\"" + test_id(1) + "\"}");
  EXPECT_TRUE(replay->results.empty());
  EXPECT_EQ(renders_, 1);
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(store_->last_seq(), 1u);
}

TEST_F(StoreIdempotencyTest, SameKeyOtherBodyIsAMismatch) {
  run(*store_, keyed_create(1, "k1", "h1", &renders_));
  auto other = run(*store_, keyed_create(2, "k1", "h2", &renders_));
  EXPECT_EQ(other->outcome, Outcome::kKeyMismatch);
  EXPECT_TRUE(other->results.empty());
  EXPECT_EQ(count(), 1u);
}

TEST_F(StoreIdempotencyTest, OtherKeysAreIndependent) {
  run(*store_, keyed_create(1, "k1", "h1", &renders_));
  auto second = run(*store_, keyed_create(2, "k2", "h1", &renders_));
  EXPECT_EQ(second->outcome, Outcome::kDone);
  EXPECT_EQ(count(), 2u);
}

// Both requests are queued while the store thread is held, so they land in
// the same transaction: the second finds the first's key uncommitted.
TEST_F(StoreIdempotencyTest, SameKeyInTheSameTransactionIsInFlight) {
  StoreThreadGate gate;
  gate.hold(*store_);
  std::mutex mutex;
  std::vector<std::unique_ptr<StoreRequest>> done;
  std::latch both(2);
  for (int n : {1, 2}) {
    auto r = keyed_create(n, "k1", "h1", &renders_);
    r->done = [&](std::unique_ptr<StoreRequest> req) {
      std::lock_guard lock(mutex);
      done.push_back(std::move(req));
      both.count_down();
    };
    store_->submit(std::move(r));
  }
  gate.release();
  both.wait();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0]->outcome, Outcome::kDone);
  EXPECT_EQ(done[1]->outcome, Outcome::kKeyInFlight);
  EXPECT_TRUE(done[1]->results.empty());
  EXPECT_EQ(renders_, 1);
  EXPECT_EQ(store_->stats().transactions, 2u);  // the gate's, then both
  EXPECT_EQ(count(), 1u);
  // Once committed, the same retry replays.
  EXPECT_EQ(run(*store_, keyed_create(2, "k1", "h1", &renders_))->outcome, Outcome::kReplayed);
}

TEST_F(StoreIdempotencyTest, AnExpiredKeyRunsAgain) {
  run(*store_, keyed_create(1, "k1", "h1", &renders_));
  clock_.advance(static_cast<int64_t>(options_.idempotency_ttl_ms) - 1);
  EXPECT_EQ(run(*store_, keyed_create(2, "k1", "h1", &renders_))->outcome, Outcome::kReplayed);
  clock_.advance(1);
  auto again = run(*store_, keyed_create(2, "k1", "h2", &renders_));
  EXPECT_EQ(again->outcome, Outcome::kDone);  // neither a replay nor a mismatch
  EXPECT_EQ(count(), 2u);
  // Stored anew: the new body replays from now on.
  auto replay = run(*store_, keyed_create(3, "k1", "h2", &renders_));
  EXPECT_EQ(replay->outcome, Outcome::kReplayed);
  EXPECT_EQ(replay->body, "{\"id\":\"" + test_id(2) + "\"}");
}

TEST_F(StoreIdempotencyTest, ResponsesSurviveAReopen) {
  run(*store_, keyed_create(1, "k1", "h1", &renders_));
  store_->close();
  store_ = open_store(options_);
  auto replay = run(*store_, keyed_create(2, "k1", "h1", &renders_));
  EXPECT_EQ(replay->outcome, Outcome::kReplayed);
  EXPECT_EQ(replay->status, 201);
}

TEST_F(StoreIdempotencyTest, AKeyedRequestWhoseOpFailsStoresThatAnswer) {
  auto r = request_of(get_op(test_id(404)));
  r->idempotency_key = "k1";
  r->body_hash = "h1";
  r->render = [](StoreRequest& self) {
    self.status = self.results[0].code == StoreOpResult::Code::kNotFound ? 404 : 200;
  };
  EXPECT_EQ(run(*store_, std::move(r))->status, 404);
  auto again = request_of(get_op(test_id(404)));
  again->idempotency_key = "k1";
  again->body_hash = "h1";
  auto replay = run(*store_, std::move(again));
  EXPECT_EQ(replay->outcome, Outcome::kReplayed);
  EXPECT_EQ(replay->status, 404);
}

}  // namespace
}  // namespace ringshard::deployments::testing
