// plugins/deployments/store.h: the deployment store, as the plugin sees it.
// Nothing outside the store's own files knows that it is SQLite (the
// factory below is the only place that names it): a PostgreSQL store would
// implement the same interface.
//
// Every operation is asynchronous: submit() queues a StoreRequest and
// returns at once (no I/O on the caller's thread: shards call it; the cost
// is a short mutex hold and maybe a futex wake). The store's own thread
// runs the request and then calls request->done on THAT thread; the
// caller's done() typically posts the result back to the shard that asked
// (api->post). done(), render() and the change listener run on the store
// thread: they must not block (every request behind them waits) and must
// not throw. One exception: a request submitted after close() gets kError
// and its done() is called at once, on the submitting thread, inside
// submit().
//
// WRITES AND GROUP COMMIT. All requests waiting when the store thread
// starts a transaction go into it (up to max_batch); their writes commit
// together (WAL, synchronous=FULL), and only then is any done() of that
// transaction called. So a done() that reports a write reports a durable
// one: a 201/202 sent from it survives SIGKILL. If the commit fails, every
// request of the transaction gets error set and nothing of it is visible.
//
// A transaction fails as a whole when a statement or the COMMIT fails (a
// disk error, a full disk, a value over 16 MiB): it is rolled back, every
// request in it gets outcome kError, and the store goes on with the next.
//
// CHANGES. After each commit that changed a deployment, and before the
// done() calls of that transaction, the store calls the change listener
// (set_change_listener) once with every deployment the transaction changed
// and every event it appended, in seq order, then advances
// committed_version() and last_seq(). A transaction that only read (or
// only replayed) calls no listener and leaves the version alone. The plugin
// uses it to keep per-shard caches coherent and to publish events: a
// reader that sees committed_version() > the version its cache has applied
// knows its cache may be stale. The version counts changing commits since
// open() (starts at 0; not stored).
//
// IDEMPOTENCY. A request may carry an idempotency key (scoped by the
// caller: principal, method and path are part of `key`) and a hash of its
// body. Inside the transaction, before the ops run:
//   - key stored and committed, same hash  -> outcome kReplayed with the
//     stored status and body; no op runs.
//   - key stored and committed, other hash -> kKeyMismatch (422); no op runs.
//   - key used by a request still in this uncommitted transaction (a
//     concurrent retry)                    -> kKeyInFlight (409).
//   - otherwise the ops run, then render() builds the response, and the
//     key, hash, status and body are stored in the same transaction.
// Keys are kept idempotency_ttl (24 h by default): an older key is treated
// as absent (its request runs again and the key is stored anew), and pruned.
// Replays, mismatches and in-flight answers are delivered after the
// transaction commits too, and fail with it.
//
// ONE PROCESS. The store holds its file with an exclusive lock from open()
// to close(): a second store on the same data_dir (in this process or
// another) fails to open ("database is locked").
//
// Thread: submit(), committed_version(), last_seq() and stats() from any
// thread; the rest (open, close, set_change_listener) control plane.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugins/deployments/deployment.h"

namespace ringshard::deployments {

// One operation of a request. A batch is a request with several.
// Results (StoreOpResult) per kind:
//   kGet          deployment; kNotFound.
//   kList         deployments with position > after_position (and status ==
//                 status_filter when set), by position, at most `limit`
//                 (clamped to 1..kStoreMaxListLimit); next_position = the
//                 last one's position when more match, else 0. New
//                 deployments only ever get higher positions, so paging
//                 while others create neither repeats nor skips a row.
//   kCreate       the deployment as stored (status forced to pending,
//                 position assigned) and its pending event (timestamp:
//                 created_at_ms); changed=true. kConflict with the stored
//                 record when the id exists (nothing written).
//   kDelete       pending|running|failed -> terminating (updated_at_ms: the
//                 store's clock) and its event, changed=true; already
//                 terminating|terminated: kOk, changed=false, the record;
//                 kNotFound.
//   kTransition   applies when the status is still `from`: the record and
//                 its event, changed=true; else kConflict with the current
//                 record; kNotFound. The store does not check that from ->
//                 to is an edge of the lifecycle graph: the caller does.
//   kEventsSince  up to `limit` events (clamped to 1..kStoreMaxEventsLimit)
//                 with seq > after_seq, in seq order; kHistoryGone when
//                 after_seq + 1 was pruned (after_seq older than the kept
//                 history); empty kOk when after_seq >= last_seq().
//   kUnfinished   every pending, running or terminating deployment, by
//                 position.
// Ops of one request run in order; each sees what the previous wrote, and
// so does every later request of the same transaction.
inline constexpr uint32_t kStoreMaxListLimit = 1000;
inline constexpr uint32_t kStoreMaxEventsLimit = 10'000;

struct StoreOp {
  enum class Kind : uint8_t {
    kGet,          // id
    kList,         // limit, after_position, status_filter
    kCreate,       // deployment (id, name, image, resources, timestamps set by caller)
    kDelete,       // id: pending|running|failed -> terminating (+event)
    kTransition,   // id, from, to: applies only if the status is still `from` (+event)
    kEventsSince,  // after_seq, limit: the stored history after after_seq
    kUnfinished,   // every deployment not in a final state (recovery at start)
  };
  Kind kind = Kind::kGet;
  std::string id;
  Deployment deployment;
  Status from = Status::kPending, to = Status::kPending;
  uint32_t limit = 100;
  int64_t after_position = 0;           // kList: positions > this
  std::optional<Status> status_filter;  // kList
  uint64_t after_seq = 0;               // kEventsSince
};

struct StoreOpResult {
  enum class Code : uint8_t {
    kOk,
    kNotFound,
    kConflict,     // kTransition: the status was no longer `from`
    kHistoryGone,  // kEventsSince: after_seq is older than the kept history
  };
  Code code = Code::kOk;
  std::optional<Deployment> deployment;  // get, create, delete, transition
  std::vector<Deployment> deployments;   // list, unfinished
  int64_t next_position = 0;             // list: cursor for the next page, 0 when done
  std::vector<Event> events;             // events_since; the events this op appended
  bool changed = false;  // the op wrote; delete: false when already terminating/terminated
};

struct StoreRequest {
  std::vector<StoreOp> ops;
  // Idempotency (empty key: none).
  std::string idempotency_key;
  std::string body_hash;  // e.g. hex SHA-256 of the request body
  // Runs on the store thread inside the transaction after the ops, when a
  // key is set: fills status/body from the results (stored with the key).
  std::function<void(StoreRequest&)> render;

  // --- filled by the store
  enum class Outcome : uint8_t { kDone, kReplayed, kKeyMismatch, kKeyInFlight, kError };
  Outcome outcome = Outcome::kDone;
  std::vector<StoreOpResult> results;  // one per op (kDone only)
  uint16_t status = 0;                 // rendered or replayed response
  std::string body;
  std::string error;                   // kError: what failed (for the log)

  // Called once on the store thread, after the commit (or the failure);
  // requests of one transaction in submission order.
  std::function<void(std::unique_ptr<StoreRequest>)> done;
};

struct ChangeSet {
  uint64_t version = 0;                 // committed_version() after this commit
  std::vector<Deployment> deployments;  // their state after the commit
  std::vector<Event> events;            // appended, in seq order
};

struct StoreStats {
  uint64_t transactions = 0;    // run, committed or rolled back
  uint64_t requests = 0;        // taken into a transaction
  uint64_t max_batch_seen = 0;  // most requests in one transaction
  uint64_t queue_depth = 0;     // waiting now
  uint64_t errors = 0;          // requests answered kError (failed transactions, after close)
};

struct StoreOptions {
  std::string data_dir;             // the database is data_dir/deployments.db
  uint32_t max_batch = 512;         // requests per transaction at most
  uint64_t history_events = 100'000;  // events kept for since-replay (at least 1)
  uint64_t idempotency_ttl_ms = 24ull * 3600 * 1000;
  // Unix ms for updated_at_ms, event timestamps and key expiry; read once
  // per transaction on the store thread. Empty: the system clock. Tests
  // pass their own.
  std::function<int64_t()> clock_ms;
};

class Store {
 public:
  virtual ~Store() = default;
  // Opens (creating data_dir, mode 0700, and migrating the schema) and
  // starts the store thread. False with `error` set when it cannot (bad
  // directory, corrupt file, newer schema than this build knows, the file
  // held by another store). Once per Store object.
  virtual bool open(std::string& error) = 0;
  // Finishes every queued request, commits, joins the thread. Requests
  // submitted after close() get outcome kError at once (see above). The
  // destructor closes.
  virtual void close() = 0;
  virtual void submit(std::unique_ptr<StoreRequest> request) = 0;
  // Before open(): called on the store thread after each commit that
  // changed something (see CHANGES).
  virtual void set_change_listener(std::function<void(const ChangeSet&)> listener) = 0;
  virtual uint64_t committed_version() const = 0;
  // The seq of the newest event committed (0: none yet).
  virtual uint64_t last_seq() const = 0;
  virtual StoreStats stats() const = 0;
  // "sqlite 3.40.1, WAL, synchronous=FULL": for the startup log.
  virtual std::string describe() const = 0;
};

std::unique_ptr<Store> make_sqlite_store(const StoreOptions& options);

}  // namespace ringshard::deployments
