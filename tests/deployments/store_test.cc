// The store's operations, one behaviour per test, through store.h only.
#include <gtest/gtest.h>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

using Code = StoreOpResult::Code;

class StoreOpsTest : public StoreTest {
 protected:
  void SetUp() override { store_ = open_store(); }
  Deployment create(int n) {
    StoreOpResult r = run_op(*store_, create_op(test_deployment(n)));
    EXPECT_EQ(r.code, Code::kOk);
    return r.deployment.value_or(Deployment{});
  }
  Status status_of(const std::string& id) {
    return run_op(*store_, get_op(id)).deployment.value_or(Deployment{}).status;
  }

  std::unique_ptr<Store> store_;
};

TEST_F(StoreOpsTest, CreateStoresPendingWithPositionAndEvent) {
  Deployment d = test_deployment(1);
  d.status = Status::kRunning;  // ignored: every lifecycle starts pending
  StoreOpResult r = run_op(*store_, create_op(d));
  ASSERT_EQ(r.code, Code::kOk);
  ASSERT_TRUE(r.deployment);
  EXPECT_TRUE(r.changed);
  EXPECT_GT(r.deployment->position, 0);
  EXPECT_EQ(r.deployment->status, Status::kPending);
  EXPECT_EQ(r.deployment->name, d.name);
  EXPECT_EQ(r.deployment->image, d.image);
  EXPECT_EQ(r.deployment->resources.cpu, d.resources.cpu);
  EXPECT_EQ(r.deployment->resources.memory_mib, d.resources.memory_mib);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].seq, 1u);
  EXPECT_EQ(r.events[0].deployment_id, d.id);
  EXPECT_EQ(r.events[0].status, Status::kPending);
  EXPECT_EQ(r.events[0].timestamp_ms, d.created_at_ms);
  EXPECT_EQ(store_->last_seq(), 1u);
}

TEST_F(StoreOpsTest, PositionsFollowCreationOrder) {
  const int64_t first = create(1).position;
  const int64_t second = create(2).position;
  EXPECT_GT(second, first);
}

TEST_F(StoreOpsTest, CreateOfAnExistingIdConflictsAndWritesNothing) {
  const Deployment stored = create(1);
  Deployment again = test_deployment(1);
  again.name = "other-name";
  StoreOpResult r = run_op(*store_, create_op(again));
  EXPECT_EQ(r.code, Code::kConflict);
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.events.empty());
  ASSERT_TRUE(r.deployment);
  EXPECT_EQ(r.deployment->name, stored.name);
  EXPECT_EQ(store_->last_seq(), 1u);
}

TEST_F(StoreOpsTest, GetFindsTheRecord) {
  const Deployment stored = create(7);
  StoreOpResult r = run_op(*store_, get_op(stored.id));
  EXPECT_EQ(r.code, Code::kOk);
  ASSERT_TRUE(r.deployment);
  EXPECT_EQ(r.deployment->id, stored.id);
  EXPECT_EQ(r.deployment->position, stored.position);
  EXPECT_EQ(r.deployment->created_at_ms, stored.created_at_ms);
}

TEST_F(StoreOpsTest, GetOfAnUnknownIdIsNotFound) {
  StoreOpResult r = run_op(*store_, get_op(test_id(404)));
  EXPECT_EQ(r.code, Code::kNotFound);
  EXPECT_FALSE(r.deployment);
}

TEST_F(StoreOpsTest, DeleteMovesPendingRunningAndFailedToTerminating) {
  create(1);
  create(2);
  create(3);
  run_op(*store_, transition_op(test_id(2), Status::kPending, Status::kRunning));
  run_op(*store_, transition_op(test_id(3), Status::kPending, Status::kFailed));
  clock_.advance(5000);
  for (int n : {1, 2, 3}) {
    StoreOpResult r = run_op(*store_, delete_op(test_id(n)));
    EXPECT_EQ(r.code, Code::kOk);
    EXPECT_TRUE(r.changed);
    ASSERT_TRUE(r.deployment);
    EXPECT_EQ(r.deployment->status, Status::kTerminating);
    EXPECT_EQ(r.deployment->updated_at_ms, clock_.now());
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].status, Status::kTerminating);
    EXPECT_EQ(r.events[0].timestamp_ms, clock_.now());
    EXPECT_EQ(r.events[0].seq, store_->last_seq());
    EXPECT_EQ(status_of(test_id(n)), Status::kTerminating);
  }
}

TEST_F(StoreOpsTest, DeleteOfTerminatingOrTerminatedChangesNothing) {
  create(1);
  create(2);
  run_op(*store_, delete_op(test_id(1)));
  run_op(*store_, delete_op(test_id(2)));
  run_op(*store_, transition_op(test_id(2), Status::kTerminating, Status::kTerminated));
  const uint64_t seq = store_->last_seq();
  for (auto [n, status] : {std::pair{1, Status::kTerminating}, {2, Status::kTerminated}}) {
    StoreOpResult r = run_op(*store_, delete_op(test_id(n)));
    EXPECT_EQ(r.code, Code::kOk);
    EXPECT_FALSE(r.changed);
    EXPECT_TRUE(r.events.empty());
    ASSERT_TRUE(r.deployment);
    EXPECT_EQ(r.deployment->status, status);
  }
  EXPECT_EQ(store_->last_seq(), seq);
}

TEST_F(StoreOpsTest, DeleteOfAnUnknownIdIsNotFound) {
  EXPECT_EQ(run_op(*store_, delete_op(test_id(404))).code, Code::kNotFound);
  EXPECT_EQ(store_->last_seq(), 0u);
}

TEST_F(StoreOpsTest, TransitionAppliesFromTheExpectedStatus) {
  create(1);
  clock_.advance(1000);
  StoreOpResult r = run_op(*store_, transition_op(test_id(1), Status::kPending, Status::kRunning));
  EXPECT_EQ(r.code, Code::kOk);
  EXPECT_TRUE(r.changed);
  ASSERT_TRUE(r.deployment);
  EXPECT_EQ(r.deployment->status, Status::kRunning);
  EXPECT_EQ(r.deployment->updated_at_ms, clock_.now());
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].seq, 2u);
  EXPECT_EQ(r.events[0].status, Status::kRunning);
}

TEST_F(StoreOpsTest, TransitionFromAnotherStatusConflictsWithoutAnEvent) {
  create(1);
  run_op(*store_, transition_op(test_id(1), Status::kPending, Status::kRunning));
  StoreOpResult r = run_op(*store_, transition_op(test_id(1), Status::kPending, Status::kFailed));
  EXPECT_EQ(r.code, Code::kConflict);
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.events.empty());
  ASSERT_TRUE(r.deployment);
  EXPECT_EQ(r.deployment->status, Status::kRunning);  // the current record
  EXPECT_EQ(store_->last_seq(), 2u);
  EXPECT_EQ(status_of(test_id(1)), Status::kRunning);
}

TEST_F(StoreOpsTest, TransitionOfAnUnknownIdIsNotFound) {
  StoreOpResult r =
      run_op(*store_, transition_op(test_id(404), Status::kPending, Status::kRunning));
  EXPECT_EQ(r.code, Code::kNotFound);
}

TEST_F(StoreOpsTest, ListPagesInPositionOrder) {
  for (int n = 1; n <= 5; ++n) create(n);
  StoreOpResult first = run_op(*store_, list_op(0, 2));
  ASSERT_EQ(first.deployments.size(), 2u);
  EXPECT_EQ(first.deployments[0].id, test_id(1));
  EXPECT_EQ(first.deployments[1].id, test_id(2));
  EXPECT_EQ(first.next_position, first.deployments[1].position);
  StoreOpResult second = run_op(*store_, list_op(first.next_position, 2));
  ASSERT_EQ(second.deployments.size(), 2u);
  EXPECT_EQ(second.deployments[0].id, test_id(3));
  StoreOpResult last = run_op(*store_, list_op(second.next_position, 2));
  ASSERT_EQ(last.deployments.size(), 1u);
  EXPECT_EQ(last.deployments[0].id, test_id(5));
  EXPECT_EQ(last.next_position, 0);
}

TEST_F(StoreOpsTest, ListPageThatEndsExactlyAtTheLastRowHasNoCursor) {
  for (int n = 1; n <= 4; ++n) create(n);
  StoreOpResult first = run_op(*store_, list_op(0, 2));
  StoreOpResult second = run_op(*store_, list_op(first.next_position, 2));
  EXPECT_EQ(second.deployments.size(), 2u);
  EXPECT_EQ(second.next_position, 0);
}

TEST_F(StoreOpsTest, ListFiltersByStatus) {
  for (int n = 1; n <= 6; ++n) create(n);
  for (int n : {2, 4, 5}) {
    run_op(*store_, transition_op(test_id(n), Status::kPending, Status::kRunning));
  }
  StoreOpResult page = run_op(*store_, list_op(0, 2, Status::kRunning));
  ASSERT_EQ(page.deployments.size(), 2u);
  EXPECT_EQ(page.deployments[0].id, test_id(2));
  EXPECT_EQ(page.deployments[1].id, test_id(4));
  ASSERT_NE(page.next_position, 0);
  StoreOpResult rest = run_op(*store_, list_op(page.next_position, 2, Status::kRunning));
  ASSERT_EQ(rest.deployments.size(), 1u);
  EXPECT_EQ(rest.deployments[0].id, test_id(5));
  EXPECT_EQ(rest.next_position, 0);  // 6 is pending: no more running rows
}

TEST_F(StoreOpsTest, ListLimitIsClamped) {
  for (int n = 1; n <= 3; ++n) create(n);
  StoreOpResult zero = run_op(*store_, list_op(0, 0));
  EXPECT_EQ(zero.deployments.size(), 1u);
  EXPECT_NE(zero.next_position, 0);
}

TEST_F(StoreOpsTest, ListOfAnEmptyStoreIsEmpty) {
  StoreOpResult r = run_op(*store_, list_op(0, 10));
  EXPECT_EQ(r.code, Code::kOk);
  EXPECT_TRUE(r.deployments.empty());
  EXPECT_EQ(r.next_position, 0);
}

TEST_F(StoreOpsTest, EventsSinceReturnsTheHistoryInSeqOrder) {
  create(1);
  create(2);
  run_op(*store_, transition_op(test_id(1), Status::kPending, Status::kRunning));
  run_op(*store_, delete_op(test_id(2)));
  StoreOpResult all = run_op(*store_, events_op(0));
  ASSERT_EQ(all.events.size(), 4u);
  for (size_t i = 0; i < all.events.size(); ++i) EXPECT_EQ(all.events[i].seq, i + 1);
  EXPECT_EQ(all.events[2].deployment_id, test_id(1));
  EXPECT_EQ(all.events[2].status, Status::kRunning);
  EXPECT_EQ(all.events[3].status, Status::kTerminating);

  StoreOpResult tail = run_op(*store_, events_op(2, 1));
  ASSERT_EQ(tail.events.size(), 1u);
  EXPECT_EQ(tail.events[0].seq, 3u);
}

TEST_F(StoreOpsTest, EventsSinceTheLastSeqOrLaterIsEmpty) {
  create(1);
  for (uint64_t after : {1u, 2u, 1000u}) {
    StoreOpResult r = run_op(*store_, events_op(after));
    EXPECT_EQ(r.code, Code::kOk);
    EXPECT_TRUE(r.events.empty());
  }
}

TEST_F(StoreOpsTest, EventsSinceZeroOnAnEmptyStoreIsEmpty) {
  StoreOpResult r = run_op(*store_, events_op(0));
  EXPECT_EQ(r.code, Code::kOk);
  EXPECT_TRUE(r.events.empty());
}

TEST_F(StoreOpsTest, UnfinishedListsPendingRunningAndTerminating) {
  for (int n = 1; n <= 5; ++n) create(n);
  run_op(*store_, transition_op(test_id(2), Status::kPending, Status::kRunning));
  run_op(*store_, transition_op(test_id(3), Status::kPending, Status::kFailed));
  run_op(*store_, delete_op(test_id(4)));
  run_op(*store_, delete_op(test_id(5)));
  run_op(*store_, transition_op(test_id(5), Status::kTerminating, Status::kTerminated));
  StoreOpResult r = run_op(*store_, unfinished_op());
  ASSERT_EQ(r.deployments.size(), 3u);
  EXPECT_EQ(r.deployments[0].id, test_id(1));
  EXPECT_EQ(r.deployments[0].status, Status::kPending);
  EXPECT_EQ(r.deployments[1].id, test_id(2));
  EXPECT_EQ(r.deployments[1].status, Status::kRunning);
  EXPECT_EQ(r.deployments[2].id, test_id(4));
  EXPECT_EQ(r.deployments[2].status, Status::kTerminating);
}

TEST_F(StoreOpsTest, OpsOfOneRequestRunInOrderAndSeeEachOther) {
  auto request = std::make_unique<StoreRequest>();
  request->ops.push_back(create_op(test_deployment(1)));
  request->ops.push_back(transition_op(test_id(1), Status::kPending, Status::kRunning));
  request->ops.push_back(get_op(test_id(1)));
  request->ops.push_back(events_op(0));
  auto done = run(*store_, std::move(request));
  ASSERT_EQ(done->outcome, StoreRequest::Outcome::kDone);
  ASSERT_EQ(done->results.size(), 4u);
  EXPECT_EQ(done->results[1].code, Code::kOk);
  EXPECT_EQ(done->results[2].deployment->status, Status::kRunning);
  EXPECT_EQ(done->results[3].events.size(), 2u);
}

TEST_F(StoreOpsTest, HistoryPastTheKeptEventsIsGone) {
  store_->close();
  StoreOptions options;
  options.history_events = 3;
  store_ = open_store(options);
  for (int n = 1; n <= 5; ++n) create(n);  // seqs 1..5; 3, 4, 5 kept
  EXPECT_EQ(run_op(*store_, events_op(0)).code, Code::kHistoryGone);
  EXPECT_EQ(run_op(*store_, events_op(1)).code, Code::kHistoryGone);
  StoreOpResult kept = run_op(*store_, events_op(2));
  EXPECT_EQ(kept.code, Code::kOk);
  ASSERT_EQ(kept.events.size(), 3u);
  EXPECT_EQ(kept.events[0].seq, 3u);
  EXPECT_EQ(kept.events[2].seq, 5u);
  StoreOpResult newest = run_op(*store_, events_op(5));
  EXPECT_EQ(newest.code, Code::kOk);
  EXPECT_TRUE(newest.events.empty());
}

}  // namespace
}  // namespace ringshard::deployments::testing
