// tests/deployments/store_test_support.cc
#include "tests/deployments/store_test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>

namespace ringshard::deployments::testing {

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/deployments_store_XXXXXX";
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  EXPECT_FALSE(path_.empty()) << "mkdtemp: " << std::strerror(errno);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string test_id(int n) {
  std::string digits = std::to_string(n);
  return "deploy_" + std::string(20 - digits.size(), 'a') + digits;
}

Deployment test_deployment(int n, int64_t created_at_ms) {
  Deployment d;
  d.id = test_id(n);
  d.name = "app-" + std::to_string(n);
  d.image = "registry.example/app:" + std::to_string(n);
  d.resources = {1 + n % 64, 64 + n};
  d.created_at_ms = created_at_ms;
  d.updated_at_ms = created_at_ms;
  return d;
}

StoreOp create_op(const Deployment& d) {
  StoreOp op;
  op.kind = StoreOp::Kind::kCreate;
  op.deployment = d;
  return op;
}

StoreOp get_op(const std::string& id) {
  StoreOp op;
  op.kind = StoreOp::Kind::kGet;
  op.id = id;
  return op;
}

StoreOp delete_op(const std::string& id) {
  StoreOp op;
  op.kind = StoreOp::Kind::kDelete;
  op.id = id;
  return op;
}

StoreOp transition_op(const std::string& id, Status from, Status to) {
  StoreOp op;
  op.kind = StoreOp::Kind::kTransition;
  op.id = id;
  op.from = from;
  op.to = to;
  return op;
}

StoreOp list_op(int64_t after_position, uint32_t limit, std::optional<Status> status) {
  StoreOp op;
  op.kind = StoreOp::Kind::kList;
  op.after_position = after_position;
  op.limit = limit;
  op.status_filter = status;
  return op;
}

StoreOp events_op(uint64_t after_seq, uint32_t limit) {
  StoreOp op;
  op.kind = StoreOp::Kind::kEventsSince;
  op.after_seq = after_seq;
  op.limit = limit;
  return op;
}

StoreOp unfinished_op() {
  StoreOp op;
  op.kind = StoreOp::Kind::kUnfinished;
  return op;
}

std::unique_ptr<StoreRequest> request_of(StoreOp op) {
  auto r = std::make_unique<StoreRequest>();
  r->ops.push_back(std::move(op));
  return r;
}

std::unique_ptr<StoreRequest> run(Store& store, std::unique_ptr<StoreRequest> request) {
  std::promise<std::unique_ptr<StoreRequest>> promise;
  auto future = promise.get_future();
  request->done = [&promise](std::unique_ptr<StoreRequest> r) { promise.set_value(std::move(r)); };
  store.submit(std::move(request));
  return future.get();
}

StoreOpResult run_op(Store& store, StoreOp op) {
  auto r = run(store, request_of(std::move(op)));
  EXPECT_EQ(r->outcome, StoreRequest::Outcome::kDone) << r->error;
  if (r->results.size() != 1) return {};
  return std::move(r->results[0]);
}

void StoreThreadGate::hold(Store& store) {
  auto r = request_of(unfinished_op());
  r->done = [state = state_](std::unique_ptr<StoreRequest>) {
    std::unique_lock lock(state->mutex);
    state->held = true;
    state->changed.notify_all();
    state->changed.wait(lock, [&] { return state->released; });
  };
  store.submit(std::move(r));
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [this] { return state_->held; });
}

void StoreThreadGate::release() {
  std::lock_guard lock(state_->mutex);
  state_->released = true;
  state_->changed.notify_all();
}

std::unique_ptr<Store> StoreTest::open_store(StoreOptions options) {
  options.data_dir = data_dir();
  if (!options.clock_ms) options.clock_ms = clock_.function();
  auto store = make_sqlite_store(options);
  std::string error;
  EXPECT_TRUE(store->open(error)) << error;
  return store;
}

std::vector<Deployment> StoreTest::all_deployments(Store& store) {
  std::vector<Deployment> all;
  int64_t after = 0;
  do {
    StoreOpResult page = run_op(store, list_op(after, kStoreMaxListLimit));
    all.insert(all.end(), page.deployments.begin(), page.deployments.end());
    after = page.next_position;
  } while (after != 0);
  return all;
}

}  // namespace ringshard::deployments::testing
