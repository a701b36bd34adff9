// Group commit, the change listener, failed transactions, close() and the
// stats: what happens around the operations.
#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

using Outcome = StoreRequest::Outcome;

// Records, on the store thread, what the listener saw and whether each
// done() came after the listener reported its request's deployment.
struct CommitLog {
  std::mutex mutex;
  std::set<std::string> announced;  // ids the listener has seen
  std::vector<ChangeSet> changes;
  int done_before_announce = 0;
  int done_ok = 0;
  std::vector<std::string> errors;

  std::function<void(const ChangeSet&)> listener() {
    return [this](const ChangeSet& change) {
      std::lock_guard lock(mutex);
      for (const Deployment& d : change.deployments) announced.insert(d.id);
      changes.push_back(change);
    };
  }
  std::function<void(std::unique_ptr<StoreRequest>)> done() {
    return [this](std::unique_ptr<StoreRequest> r) {
      std::lock_guard lock(mutex);
      if (r->outcome != Outcome::kDone) {
        errors.push_back(r->error);
        return;
      }
      const std::string& id = r->ops[0].deployment.id;
      if (!announced.contains(id)) ++done_before_announce;
      ++done_ok;
    };
  }
};

std::unique_ptr<StoreRequest> logged_create(CommitLog& log, int n) {
  auto r = request_of(create_op(test_deployment(n)));
  r->done = log.done();
  return r;
}

// 4 threads x 50 creates, submitted while the store thread is held: they
// are all waiting when it wakes, so they share ONE transaction.
TEST_F(StoreTest, WaitingRequestsShareOneTransaction) {
  CommitLog log;
  auto store = make_sqlite_store({.data_dir = data_dir()});
  store->set_change_listener(log.listener());
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;
  StoreThreadGate gate;
  gate.hold(*store);

  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) store->submit(logged_create(log, t * 50 + i));
    });
  }
  for (auto& s : submitters) s.join();
  EXPECT_EQ(store->stats().queue_depth, 200u);
  gate.release();
  store->close();  // runs what is queued

  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.requests, 201u);     // the gate's read + 200 creates
  EXPECT_EQ(stats.transactions, 2u);   // the gate's, then all 200 at once
  EXPECT_EQ(stats.max_batch_seen, 200u);
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_EQ(log.done_ok, 200);
  EXPECT_EQ(log.done_before_announce, 0);
  ASSERT_EQ(log.changes.size(), 1u);
  EXPECT_EQ(log.changes[0].deployments.size(), 200u);
  EXPECT_EQ(log.changes[0].events.size(), 200u);
  EXPECT_EQ(log.changes[0].version, 1u);
  EXPECT_EQ(store->committed_version(), 1u);
  EXPECT_EQ(store->last_seq(), 200u);
}

TEST_F(StoreTest, BatchesAreCutAtMaxBatch) {
  StoreOptions options;
  options.max_batch = 8;
  auto store = open_store(options);
  CommitLog log;
  StoreThreadGate gate;
  gate.hold(*store);
  for (int n = 0; n < 20; ++n) store->submit(logged_create(log, n));
  gate.release();
  store->close();
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.transactions, 1u + 3u);  // the gate's, then 8 + 8 + 4
  EXPECT_EQ(stats.max_batch_seen, 8u);
  EXPECT_EQ(log.done_ok, 20);
}

// Without the gate: submitters race the store thread. However the batches
// fall, every done() comes after its commit was announced and nothing is
// lost.
TEST_F(StoreTest, ConcurrentSubmittersAreAllCommittedBeforeDone) {
  CommitLog log;
  auto store = make_sqlite_store({.data_dir = data_dir()});
  store->set_change_listener(log.listener());
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;
  std::latch start(4);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 50; ++i) store->submit(logged_create(log, t * 50 + i));
    });
  }
  for (auto& s : submitters) s.join();
  store->close();
  EXPECT_EQ(log.done_ok, 200);
  EXPECT_EQ(log.done_before_announce, 0);
  EXPECT_EQ(store->stats().requests, 200u);
  EXPECT_LE(store->stats().transactions, 200u);
  EXPECT_EQ(store->last_seq(), 200u);
}

TEST_F(StoreTest, ListenerGetsEachDeploymentOnceInItsFinalStateAndEventsInSeqOrder) {
  CommitLog log;
  StoreOptions options;
  options.data_dir = data_dir();
  options.clock_ms = clock_.function();
  auto store = make_sqlite_store(options);
  store->set_change_listener(log.listener());
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;

  auto request = std::make_unique<StoreRequest>();
  request->ops.push_back(create_op(test_deployment(1)));
  request->ops.push_back(create_op(test_deployment(2)));
  request->ops.push_back(transition_op(test_id(1), Status::kPending, Status::kRunning));
  request->ops.push_back(delete_op(test_id(1)));
  run(*store, std::move(request));

  std::lock_guard lock(log.mutex);
  ASSERT_EQ(log.changes.size(), 1u);
  const ChangeSet& change = log.changes[0];
  ASSERT_EQ(change.deployments.size(), 2u);
  EXPECT_EQ(change.deployments[0].id, test_id(1));
  EXPECT_EQ(change.deployments[0].status, Status::kTerminating);
  EXPECT_EQ(change.deployments[1].id, test_id(2));
  ASSERT_EQ(change.events.size(), 4u);
  for (size_t i = 0; i < change.events.size(); ++i) EXPECT_EQ(change.events[i].seq, i + 1);
  EXPECT_EQ(change.events[3].status, Status::kTerminating);
}

TEST_F(StoreTest, ReadsAndConflictsLeaveTheVersionAlone) {
  CommitLog log;
  auto store = make_sqlite_store({.data_dir = data_dir()});
  store->set_change_listener(log.listener());
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;
  EXPECT_EQ(store->committed_version(), 0u);
  run_op(*store, create_op(test_deployment(1)));
  EXPECT_EQ(store->committed_version(), 1u);
  run_op(*store, get_op(test_id(1)));
  run_op(*store, list_op(0, 10));
  run_op(*store, transition_op(test_id(1), Status::kRunning, Status::kTerminating));
  run_op(*store, create_op(test_deployment(1)));  // exists: kConflict
  EXPECT_EQ(store->committed_version(), 1u);
  run_op(*store, delete_op(test_id(1)));
  EXPECT_EQ(store->committed_version(), 2u);
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.changes.size(), 2u);
}

// A value over the store's limit makes its statement fail: the whole
// transaction rolls back, each of its requests gets kError, and the next
// transaction goes on as if it never happened (seq 1 is handed out again).
TEST_F(StoreTest, AFailedTransactionFailsEveryRequestInItAndLeavesNoTrace) {
  CommitLog log;
  auto store = make_sqlite_store({.data_dir = data_dir()});
  store->set_change_listener(log.listener());
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;
  StoreThreadGate gate;
  gate.hold(*store);
  std::vector<std::unique_ptr<StoreRequest>> results;
  std::mutex results_mutex;
  std::latch all_done(3);
  auto keep = [&](std::unique_ptr<StoreRequest> r) {
    std::lock_guard lock(results_mutex);
    results.push_back(std::move(r));
    all_done.count_down();
  };
  Deployment huge = test_deployment(2);
  huge.image.assign(17u << 20, 'x');
  for (StoreOp op : {create_op(test_deployment(1)), create_op(huge), get_op(test_id(1))}) {
    auto r = request_of(std::move(op));
    r->done = keep;
    store->submit(std::move(r));
  }
  gate.release();
  all_done.wait();  // so that the read below is a transaction of its own
  StoreOpResult after = run_op(*store, get_op(test_id(1)));

  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r->outcome, Outcome::kError);
    EXPECT_NE(r->error.find("too big"), std::string::npos) << r->error;
    EXPECT_TRUE(r->results.empty());
  }
  EXPECT_EQ(after.code, StoreOpResult::Code::kNotFound);
  EXPECT_EQ(store->last_seq(), 0u);
  EXPECT_EQ(store->committed_version(), 0u);
  EXPECT_EQ(store->stats().errors, 3u);
  {
    std::lock_guard lock(log.mutex);
    EXPECT_TRUE(log.changes.empty());
  }
  StoreOpResult created = run_op(*store, create_op(test_deployment(1)));
  ASSERT_EQ(created.events.size(), 1u);
  EXPECT_EQ(created.events[0].seq, 1u);
}

TEST_F(StoreTest, CloseFinishesEveryQueuedRequest) {
  auto store = open_store();
  CommitLog log;
  StoreThreadGate gate;
  gate.hold(*store);
  for (int n = 0; n < 10; ++n) store->submit(logged_create(log, n));
  std::thread closer([&] { store->close(); });
  gate.release();
  closer.join();
  EXPECT_EQ(log.done_ok, 10);
}

TEST_F(StoreTest, SubmitAfterCloseFailsAtOnceOnTheCallersThread) {
  auto store = open_store();
  store->close();
  bool called = false;
  std::thread::id thread;
  auto r = request_of(get_op(test_id(1)));
  r->done = [&](std::unique_ptr<StoreRequest> done) {
    called = true;
    thread = std::this_thread::get_id();
    EXPECT_EQ(done->outcome, Outcome::kError);
    EXPECT_FALSE(done->error.empty());
  };
  store->submit(std::move(r));
  EXPECT_TRUE(called);  // before submit() returned
  EXPECT_EQ(thread, std::this_thread::get_id());
  EXPECT_EQ(store->stats().errors, 1u);
}

TEST_F(StoreTest, CloseOfAStoreNeverOpenedFailsWhatWasQueued) {
  auto store = make_sqlite_store({.data_dir = data_dir()});
  auto r = request_of(get_op(test_id(1)));
  Outcome outcome = Outcome::kDone;
  r->done = [&](std::unique_ptr<StoreRequest> done) { outcome = done->outcome; };
  store->submit(std::move(r));
  store->close();
  EXPECT_EQ(outcome, Outcome::kError);
}

TEST_F(StoreTest, DescribeNamesTheEngineAndTheDurability) {
  auto store = open_store();
  const std::string text = store->describe();
  EXPECT_EQ(text.rfind("sqlite 3.", 0), 0u) << text;
  EXPECT_NE(text.find("WAL, synchronous=FULL"), std::string::npos) << text;
}

}  // namespace
}  // namespace ringshard::deployments::testing
