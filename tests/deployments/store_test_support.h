// tests/deployments/store_test_support.h: what the store tests share: a
// temporary data_dir, a blocking submit, request builders, a manual clock,
// and StoreThreadGate, which holds the store thread still so that a test
// decides exactly which requests share a transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "plugins/deployments/store.h"

namespace ringshard::deployments::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the test ends.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A clock the test moves (Unix ms), for StoreOptions::clock_ms.
class ManualClock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  std::function<int64_t()> function() {
    return [this] { return now_ms_.load(); };
  }
  void advance(int64_t ms) { now_ms_ += ms; }
  int64_t now() const { return now_ms_.load(); }

 private:
  std::atomic<int64_t> now_ms_;
};

// "deploy_" + 20 characters, unique per n.
std::string test_id(int n);
Deployment test_deployment(int n, int64_t created_at_ms = 1'700'000'000'000);

StoreOp create_op(const Deployment& d);
StoreOp get_op(const std::string& id);
StoreOp delete_op(const std::string& id);
StoreOp transition_op(const std::string& id, Status from, Status to);
StoreOp list_op(int64_t after_position, uint32_t limit,
                std::optional<Status> status = std::nullopt);
StoreOp events_op(uint64_t after_seq, uint32_t limit = 1000);
StoreOp unfinished_op();

std::unique_ptr<StoreRequest> request_of(StoreOp op);

// Submits and waits for done(); returns the request done() received.
std::unique_ptr<StoreRequest> run(Store& store, std::unique_ptr<StoreRequest> request);
// One op, run; its result (the request's outcome must be kDone).
StoreOpResult run_op(Store& store, StoreOp op);

// Holds the store thread inside a done() call until release(): requests
// submitted meanwhile wait in the queue and all go into the next
// transaction (up to max_batch). hold() returns once the thread is held,
// so stats().queue_depth then counts exactly what the test submitted.
// The held request is one read, its own transaction. Declare the gate
// after the store: destroying it releases the thread, so the store's
// close() cannot wait on it forever. Tests only: a real done() must not
// block.
class StoreThreadGate {
 public:
  StoreThreadGate() : state_(std::make_shared<State>()) {}
  ~StoreThreadGate() { release(); }
  StoreThreadGate(const StoreThreadGate&) = delete;
  StoreThreadGate& operator=(const StoreThreadGate&) = delete;
  void hold(Store& store);
  void release();

 private:
  // Shared with the held done(), which may wake after the gate is gone.
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    bool held = false;
    bool released = false;
  };
  std::shared_ptr<State> state_;
};

// A test with its own data_dir and manual clock. open_store() fills in both
// (unless the options already name a clock) and expects open() to succeed.
class StoreTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.path() + "/data"; }
  std::unique_ptr<Store> open_store(StoreOptions options = {});
  // Every deployment, by position (pages through kList).
  std::vector<Deployment> all_deployments(Store& store);

  TempDir dir_;
  ManualClock clock_;
};

}  // namespace ringshard::deployments::testing
