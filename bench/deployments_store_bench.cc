// Deployment creates per second through the SQLite store (WAL,
// synchronous=FULL: one fsync per transaction), by requests per
// transaction. The database lives in a fresh directory under $TMPDIR (or
// /tmp): on a tmpfs there an fsync costs nothing and these numbers say
// nothing about a disk.
//
//   BM_StoreCreatesPerTransaction/N  exactly N creates per transaction: the
//       store thread is held (inside a done(), as the store tests do) while
//       N requests queue, then released; the holding read is a transaction
//       with nothing to sync. N=1 is the cost of a commit per request.
//   BM_StoreCreatesInFlight/N  N creates kept in flight by one submitter
//       and no holding: the batches group commit makes by itself.
//
// items_per_second: creates committed per second (wall clock: the work is
// on the store thread). Counters: creates per transaction, as measured.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <memory>
#include <semaphore>
#include <string>

#include "plugins/deployments/store.h"

namespace ringshard::deployments {
namespace {

class BenchDir {
 public:
  BenchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/deployments_bench_XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<StoreRequest> create_request(int64_t n) {
  auto r = std::make_unique<StoreRequest>();
  StoreOp op;
  op.kind = StoreOp::Kind::kCreate;
  const std::string digits = std::to_string(n);
  op.deployment.id = "deploy_" + std::string(20 - digits.size(), 'a') + digits;
  op.deployment.name = "bench-" + digits;
  op.deployment.image = "registry.example/bench:1.0";
  op.deployment.resources = {2, 512};
  op.deployment.created_at_ms = op.deployment.updated_at_ms = 1'700'000'000'000;
  r->ops.push_back(std::move(op));
  return r;
}

std::unique_ptr<Store> open_store(benchmark::State& state, const BenchDir& dir,
                                  uint32_t max_batch) {
  StoreOptions options;
  options.data_dir = dir.path() + "/data";
  options.max_batch = max_batch;
  auto store = make_sqlite_store(options);
  std::string error;
  if (dir.path().empty() || !store->open(error)) {
    state.SkipWithError(("cannot open the store: " + error).c_str());
    return nullptr;
  }
  return store;
}

void report(benchmark::State& state, const Store& store, int64_t creates,
            uint64_t holding_transactions) {
  const StoreStats stats = store.stats();
  state.SetItemsProcessed(creates);
  const uint64_t create_transactions = stats.transactions - holding_transactions;
  state.counters["creates_per_txn"] =
      create_transactions ? static_cast<double>(creates) / static_cast<double>(create_transactions)
                          : 0;
}

void BM_StoreCreatesPerTransaction(benchmark::State& state) {
  const auto per_txn = static_cast<int>(state.range(0));
  BenchDir dir;
  auto store = open_store(state, dir, static_cast<uint32_t>(per_txn));
  if (!store) return;
  int64_t next = 0;
  uint64_t holds = 0;
  for (auto _ : state) {
    std::latch held(1), go(1), committed(per_txn);
    auto hold = std::make_unique<StoreRequest>();
    hold->ops.emplace_back().kind = StoreOp::Kind::kGet;
    hold->done = [&](std::unique_ptr<StoreRequest>) {
      held.count_down();
      go.wait();
    };
    store->submit(std::move(hold));
    ++holds;
    held.wait();
    for (int i = 0; i < per_txn; ++i) {
      auto r = create_request(next++);
      r->done = [&](std::unique_ptr<StoreRequest>) { committed.count_down(); };
      store->submit(std::move(r));
    }
    go.count_down();
    committed.wait();
  }
  store->close();
  report(state, *store, next, holds);
}
BENCHMARK(BM_StoreCreatesPerTransaction)->Arg(1)->Arg(8)->Arg(64)->Arg(512)->UseRealTime();

void BM_StoreCreatesInFlight(benchmark::State& state) {
  const auto in_flight = static_cast<int>(state.range(0));
  BenchDir dir;
  auto store = open_store(state, dir, 512);
  if (!store) return;
  std::counting_semaphore<1024> slots(in_flight);
  int64_t next = 0;
  for (auto _ : state) {
    slots.acquire();
    auto r = create_request(next++);
    r->done = [&](std::unique_ptr<StoreRequest>) { slots.release(); };
    store->submit(std::move(r));
  }
  // The clock stopped with up to in_flight creates not yet committed: they
  // are not counted.
  store->close();
  report(state, *store, std::max<int64_t>(next - in_flight, 0), 0);
}
BENCHMARK(BM_StoreCreatesInFlight)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace ringshard::deployments
