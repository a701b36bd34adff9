// plugins/deployments/sqlite_store.cc: the store thread, group commit, and
// what each operation means. The SQL is in sqlite_connection.cc.
#include "plugins/deployments/sqlite_store.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace ringshard::deployments {
namespace {

// Expired idempotency keys are deleted at most this often (a range delete
// on an index); between prunes an expired key is treated as absent anyway.
constexpr int64_t kKeyPruneIntervalMs = 60'000;

int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t ttl_ms(const StoreOptions& options) {
  return static_cast<int64_t>(std::min<uint64_t>(options.idempotency_ttl_ms,
                                                 std::numeric_limits<int64_t>::max() / 4));
}

void raise_max(std::atomic<uint64_t>& max, uint64_t value) {
  uint64_t seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::unique_ptr<Store> make_sqlite_store(const StoreOptions& options) {
  return std::make_unique<SqliteStore>(options);
}

SqliteStore::SqliteStore(const StoreOptions& options) : options_(options) {}

SqliteStore::~SqliteStore() { close(); }

bool SqliteStore::open(std::string& error) {
  if (opened_ || closed_) {
    error = "deployment store: open() may be called once";
    return false;
  }
  if (!db_.open(options_.data_dir)) {
    error = db_.error();
    return false;
  }
  uint64_t lowest = 0, highest = 0;
  if (!db_.event_seq_range(lowest, highest)) {
    error = db_.error();
    db_.close();
    return false;
  }
  // Seqs continue from the newest stored one: gap-free across restarts.
  // Pruning always keeps the newest event, so it is never lost.
  committed_last_seq_ = highest;
  committed_first_kept_seq_ = lowest != 0 ? lowest : highest + 1;
  last_seq_.store(highest, std::memory_order_release);
  opened_ = true;
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "rs-deploy-store");
  return true;
}

void SqliteStore::close() {
  if (closed_) return;
  closed_ = true;
  queue_.close();
  if (thread_.joinable()) {
    thread_.join();  // the thread finishes every queued request first
  } else {
    // Never opened: nobody will run what was queued.
    std::vector<std::unique_ptr<StoreRequest>> left;
    while (queue_.take(left, std::numeric_limits<size_t>::max())) {
    }
    for (auto& request : left) {
      fail(*request, "deployment store was never opened");
      errors_.fetch_add(1, std::memory_order_relaxed);
      deliver(std::move(request));
    }
  }
  db_.close();
}

void SqliteStore::submit(std::unique_ptr<StoreRequest> request) {
  auto refused = queue_.push(std::move(request));
  if (!refused) return;
  fail(*refused, "deployment store is closed");
  errors_.fetch_add(1, std::memory_order_relaxed);
  deliver(std::move(refused));  // on the caller's thread (store.h)
}

void SqliteStore::set_change_listener(std::function<void(const ChangeSet&)> listener) {
  listener_ = std::move(listener);
}

uint64_t SqliteStore::committed_version() const {
  return version_.load(std::memory_order_acquire);
}

uint64_t SqliteStore::last_seq() const { return last_seq_.load(std::memory_order_acquire); }

StoreStats SqliteStore::stats() const {
  StoreStats s;
  s.transactions = transactions_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.max_batch_seen = max_batch_seen_.load(std::memory_order_relaxed);
  s.queue_depth = queue_.depth();
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

std::string SqliteStore::describe() const {
  return std::string("sqlite ") + sqlite3_libversion() + ", WAL, synchronous=FULL";
}

void SqliteStore::run() {
  std::vector<std::unique_ptr<StoreRequest>> batch;
  const size_t max_batch = std::max<uint32_t>(options_.max_batch, 1);
  batch.reserve(std::min<size_t>(max_batch, 4096));
  while (queue_.take(batch, max_batch)) {
    run_transaction(batch);
    batch.clear();
  }
}

void SqliteStore::run_transaction(std::vector<std::unique_ptr<StoreRequest>>& batch) {
  txn_.now_ms = options_.clock_ms ? options_.clock_ms() : system_clock_ms();
  txn_.last_seq = committed_last_seq_;
  txn_.first_kept_seq = committed_first_kept_seq_;
  txn_.keys_pruned_at_ms = keys_pruned_at_ms_;
  txn_.keys.clear();
  txn_.changed_at.clear();
  change_.deployments.clear();
  change_.events.clear();

  bool ok = db_.begin();
  for (size_t i = 0; ok && i < batch.size(); ++i) ok = run_request(*batch[i]);
  if (ok) ok = prune();
  if (ok) ok = db_.commit();

  transactions_.fetch_add(1, std::memory_order_relaxed);
  requests_.fetch_add(batch.size(), std::memory_order_relaxed);
  raise_max(max_batch_seen_, batch.size());

  if (!ok) {
    // Nothing of this transaction is visible, in the file or in memory
    // (txn_ is dropped; its seqs will be handed out again).
    const std::string error = db_.error();
    db_.rollback();
    for (auto& request : batch) fail(*request, error);
    errors_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    committed_last_seq_ = txn_.last_seq;
    committed_first_kept_seq_ = txn_.first_kept_seq;
    keys_pruned_at_ms_ = txn_.keys_pruned_at_ms;
    // A transaction that only read (or only stored idempotency keys) makes
    // no cache stale: no version, no listener call.
    if (!change_.deployments.empty() || !change_.events.empty()) {
      change_.version = ++version_value_;
      if (listener_) listener_(change_);
      version_.store(version_value_, std::memory_order_release);
      last_seq_.store(committed_last_seq_, std::memory_order_release);
    }
  }
  for (auto& request : batch) deliver(std::move(request));
}

bool SqliteStore::run_request(StoreRequest& request) {
  request.outcome = StoreRequest::Outcome::kDone;
  request.results.clear();
  const std::string& key = request.idempotency_key;
  if (!key.empty()) {
    // A retry racing its original into the same transaction: the original
    // has not committed, so there is no response to replay yet.
    if (txn_.keys.contains(key)) {
      request.outcome = StoreRequest::Outcome::kKeyInFlight;
      return true;
    }
    std::optional<StoredResponse> stored;
    if (!db_.find_response(key, stored)) return false;
    if (stored && txn_.now_ms - stored->created_at_ms < ttl_ms(options_)) {
      if (stored->body_hash == request.body_hash) {
        request.outcome = StoreRequest::Outcome::kReplayed;
        request.status = stored->status;
        request.body = std::move(stored->body);
      } else {
        request.outcome = StoreRequest::Outcome::kKeyMismatch;
      }
      return true;
    }
    txn_.keys.insert(key);
  }
  request.results.resize(request.ops.size());
  for (size_t i = 0; i < request.ops.size(); ++i) {
    if (!run_op(request.ops[i], request.results[i])) return false;
  }
  if (key.empty()) return true;
  if (request.render) request.render(request);
  return db_.store_response(key, request.body_hash, request.status, request.body, txn_.now_ms);
}

bool SqliteStore::run_op(const StoreOp& op, StoreOpResult& result) {
  switch (op.kind) {
    case StoreOp::Kind::kGet:
      if (!db_.find_deployment(op.id, result.deployment)) return false;
      if (!result.deployment) result.code = StoreOpResult::Code::kNotFound;
      return true;
    case StoreOp::Kind::kList:
      return list(op, result);
    case StoreOp::Kind::kCreate:
      return create(op, result);
    case StoreOp::Kind::kDelete:
      return remove(op, result);
    case StoreOp::Kind::kTransition:
      return transition(op, result);
    case StoreOp::Kind::kEventsSince:
      return events_since(op, result);
    case StoreOp::Kind::kUnfinished:
      return db_.deployments_in({Status::kPending, Status::kRunning, Status::kTerminating},
                                result.deployments);
  }
  return true;
}

bool SqliteStore::create(const StoreOp& op, StoreOpResult& result) {
  Deployment d = op.deployment;
  d.status = Status::kPending;  // every lifecycle starts there
  d.position = 0;
  bool inserted = false;
  if (!db_.insert_deployment(d, inserted)) return false;
  if (!inserted) {
    result.code = StoreOpResult::Code::kConflict;
    return db_.find_deployment(d.id, result.deployment);
  }
  if (!append_event(d, d.created_at_ms, result)) return false;
  record_change(d);
  result.deployment = std::move(d);
  result.changed = true;
  return true;
}

bool SqliteStore::remove(const StoreOp& op, StoreOpResult& result) {
  std::optional<Deployment> current;
  if (!db_.find_deployment(op.id, current)) return false;
  if (!current) {
    result.code = StoreOpResult::Code::kNotFound;
    return true;
  }
  if (current->status == Status::kTerminating || current->status == Status::kTerminated) {
    result.deployment = std::move(current);  // already on its way: nothing to do
    return true;
  }
  if (!db_.update_status_if(op.id, current->status, Status::kTerminating, txn_.now_ms,
                            result.deployment)) {
    return false;
  }
  // The row was read a moment ago by this thread in this transaction, so
  // the conditional update cannot miss.
  if (!result.deployment) {
    result.code = StoreOpResult::Code::kConflict;
    result.deployment = std::move(current);
    return true;
  }
  if (!append_event(*result.deployment, txn_.now_ms, result)) return false;
  record_change(*result.deployment);
  result.changed = true;
  return true;
}

bool SqliteStore::transition(const StoreOp& op, StoreOpResult& result) {
  if (!db_.update_status_if(op.id, op.from, op.to, txn_.now_ms, result.deployment)) {
    return false;
  }
  if (!result.deployment) {
    // Absent, or no longer `from`: say which, with the current record.
    if (!db_.find_deployment(op.id, result.deployment)) return false;
    result.code = result.deployment ? StoreOpResult::Code::kConflict
                                    : StoreOpResult::Code::kNotFound;
    return true;
  }
  if (!append_event(*result.deployment, txn_.now_ms, result)) return false;
  record_change(*result.deployment);
  result.changed = true;
  return true;
}

bool SqliteStore::list(const StoreOp& op, StoreOpResult& result) {
  const uint32_t limit = std::clamp<uint32_t>(op.limit, 1, kStoreMaxListLimit);
  // One row more than asked says whether there is a next page.
  if (!db_.list_deployments(op.after_position, op.status_filter, limit + 1,
                            result.deployments)) {
    return false;
  }
  result.next_position = 0;
  if (result.deployments.size() > limit) {
    result.deployments.pop_back();
    result.next_position = result.deployments.back().position;
  }
  return true;
}

bool SqliteStore::events_since(const StoreOp& op, StoreOpResult& result) {
  // Events after after_seq start at after_seq + 1; if that one was pruned,
  // the caller would miss events without knowing: refuse.
  if (op.after_seq < txn_.last_seq && op.after_seq + 1 < txn_.first_kept_seq) {
    result.code = StoreOpResult::Code::kHistoryGone;
    return true;
  }
  const uint32_t limit = std::clamp<uint32_t>(op.limit, 1, kStoreMaxEventsLimit);
  return db_.events_after(op.after_seq, limit, result.events);
}

bool SqliteStore::append_event(const Deployment& d, int64_t timestamp_ms,
                               StoreOpResult& result) {
  const Event event{txn_.last_seq + 1, d.id, d.status, timestamp_ms};
  if (!db_.insert_event(event)) return false;
  txn_.last_seq = event.seq;
  change_.events.push_back(event);
  result.events.push_back(event);
  return true;
}

void SqliteStore::record_change(const Deployment& d) {
  const auto [it, inserted] = txn_.changed_at.try_emplace(d.id, change_.deployments.size());
  if (inserted) {
    change_.deployments.push_back(d);
  } else {
    change_.deployments[it->second] = d;  // changed twice: its state after the commit
  }
}

bool SqliteStore::prune() {
  // Keep the newest history_events events (at least one: the newest seq
  // is what numbering resumes from at the next open).
  const uint64_t keep = std::max<uint64_t>(options_.history_events, 1);
  if (txn_.last_seq > keep && txn_.last_seq - keep >= txn_.first_kept_seq) {
    if (!db_.delete_events_through(txn_.last_seq - keep)) return false;
    txn_.first_kept_seq = txn_.last_seq - keep + 1;
  }
  if (txn_.now_ms - txn_.keys_pruned_at_ms >= kKeyPruneIntervalMs) {
    if (!db_.delete_responses_before(txn_.now_ms - ttl_ms(options_))) return false;
    txn_.keys_pruned_at_ms = txn_.now_ms;
  }
  return true;
}

void SqliteStore::fail(StoreRequest& request, const std::string& error) {
  request.outcome = StoreRequest::Outcome::kError;
  request.error = error;
  request.results.clear();
  request.status = 0;
  request.body.clear();
}

void SqliteStore::deliver(std::unique_ptr<StoreRequest> request) {
  auto done = std::move(request->done);
  if (done) done(std::move(request));
}

}  // namespace ringshard::deployments
