// plugins/deployments/sqlite_store.h: the Store of store.h on SQLite; the
// class behind make_sqlite_store(). Store-internal: the plugin knows only
// store.h; tests include this header to reach nothing more than what
// store.h promises.
//
// One store thread owns the connection. It takes every waiting request
// (up to max_batch) from the queue, runs them all in one transaction
// (BEGIN IMMEDIATE ... COMMIT, WAL, synchronous=FULL), and only after
// COMMIT returns calls the change listener, advances committed_version()
// and last_seq(), then calls each request's done() in submission order.
// While it is in COMMIT (the fsync), new requests pile up in the queue and
// become the next transaction: the batch grows with the load by itself.
//
// What a transaction changes in memory (the newest seq, the oldest kept
// seq, the ChangeSet) is kept aside in Txn and only becomes the store's
// after COMMIT: a rolled-back transaction leaves no trace, and its seqs are
// used again by the next one (gap-free).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugins/deployments/sqlite_connection.h"
#include "plugins/deployments/store.h"
#include "plugins/deployments/store_queue.h"

namespace ringshard::deployments {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreOptions& options);
  ~SqliteStore() override;  // close()

  bool open(std::string& error) override;
  void close() override;
  void submit(std::unique_ptr<StoreRequest> request) override;
  void set_change_listener(std::function<void(const ChangeSet&)> listener) override;
  uint64_t committed_version() const override;
  uint64_t last_seq() const override;
  StoreStats stats() const override;
  std::string describe() const override;

 private:
  // What the transaction in progress has done so far (store thread).
  struct Txn {
    int64_t now_ms = 0;
    uint64_t last_seq = 0;        // newest seq, committed or appended by this transaction
    uint64_t first_kept_seq = 1;  // oldest seq still stored (last_seq + 1: none)
    int64_t keys_pruned_at_ms = 0;
    std::unordered_set<std::string> keys;                // idempotency keys it stored
    std::unordered_map<std::string, size_t> changed_at;  // id -> index in change_.deployments
  };

  void run();
  void run_transaction(std::vector<std::unique_ptr<StoreRequest>>& batch);
  bool run_request(StoreRequest& request);
  bool run_op(const StoreOp& op, StoreOpResult& result);
  bool create(const StoreOp& op, StoreOpResult& result);
  bool remove(const StoreOp& op, StoreOpResult& result);
  bool transition(const StoreOp& op, StoreOpResult& result);
  bool list(const StoreOp& op, StoreOpResult& result);
  bool events_since(const StoreOp& op, StoreOpResult& result);
  bool append_event(const Deployment& d, int64_t timestamp_ms, StoreOpResult& result);
  void record_change(const Deployment& d);
  bool prune();
  void fail(StoreRequest& request, const std::string& error);
  static void deliver(std::unique_ptr<StoreRequest> request);

  const StoreOptions options_;
  SqliteConnection db_;
  StoreQueue queue_;
  std::thread thread_;
  std::function<void(const ChangeSet&)> listener_;
  bool opened_ = false;
  bool closed_ = false;

  // Store thread only (and open() before the thread starts): the state as
  // of the last COMMIT, and the transaction being built on it.
  uint64_t committed_last_seq_ = 0;
  uint64_t committed_first_kept_seq_ = 1;
  int64_t keys_pruned_at_ms_ = 0;
  uint64_t version_value_ = 0;
  Txn txn_;
  ChangeSet change_;

  // Any thread.
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> max_batch_seen_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace ringshard::deployments
