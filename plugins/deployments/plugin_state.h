// plugins/deployments/plugin_state.h: what the deployment API plugin holds,
// process-wide (App) and per shard (ShardState), and how the pieces meet.
//
// FLOW OF A WRITE. A shard's handler validates the request, defers its
// answer and submits a StoreRequest. The store thread commits it (group
// commit), hands the ChangeSet to App::on_commit (still on the store
// thread), which posts it to every shard, then calls the request's done(),
// which posts the answer back to the shard that asked. Posts from the
// store thread to one shard run in order, so a shard applies a change
// before it answers anything the change's transaction acknowledged.
//
// READS. GET /v1/deployments/{id} is served from the shard's cache when
// the cache has applied every committed change (ShardState::applied_version
// == Store::committed_version()); otherwise, or on a miss, from the store.
// A read after an acknowledged write on any shard therefore sees it.
//
// EVENTS. Every shard applies each ChangeSet to its cache and its waiters
// (long-polls). Shard 0 also publishes each event to the topic kEventTopic;
// every shard's topic listener hands it to its stream connections
// (plugin_stream.cc), in seq order (one publisher, ordered mailboxes).
//
// EXECUTOR. Shard 0 runs the executor (plugin_executor.h): it hears of
// every deployment that became pending or terminating, and of those found
// unfinished at start, and reports transitions through the store.
//
// Thread: App is built in init() and read-only after it, except the store
// (thread-safe) and the metrics (per shard). ShardState belongs to its
// shard's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/deployments/deployment.h"
#include "plugins/deployments/model_json.h"
#include "plugins/deployments/plugin_config.h"
#include "plugins/deployments/store.h"
#include "ringshard/plugin.hpp"

namespace ringshard::deployments {

namespace rp = ringshard::plugin;

inline constexpr std::string_view kEventTopic = "deployments.events";
inline constexpr const char* kScopeRead = "deployments:read";
inline constexpr const char* kScopeWrite = "deployments:write";

class Executor;
struct StreamConn;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A long-poll waiting on this shard for a deployment to reach a status.
struct Waiter {
  uint64_t token = 0;  // identifies it for the timeout
  Status target = Status::kRunning;
  std::string request_id;  // for the error bodies
  rp::Async answer;
  rs_timer* timer = nullptr;
};

struct CacheEntry {
  Deployment deployment;
  std::string json;  // render_deployment(deployment), the GET body
};

struct ShardState {
  unsigned index = 0;
  uint64_t applied_version = 0;  // the last ChangeSet this shard applied
  std::unordered_map<std::string, CacheEntry, StringHash, std::equal_to<>> cache;
  std::unordered_map<std::string, std::vector<Waiter>, StringHash, std::equal_to<>> waiters;
  uint64_t next_waiter_token = 1;
  bool draining = false;  // SIGTERM: new long-polls are answered 503 at once
  std::vector<StreamConn*> streams;  // open /v1/stream connections
  BodyParser parser;                 // request bodies, reused
};

struct Metrics {
  rs_metric* created = nullptr;
  rs_metric* deleted = nullptr;
  rs_metric* transitions = nullptr;
  rs_metric* cache_hits = nullptr;
  rs_metric* cache_misses = nullptr;
  rs_metric* store_errors = nullptr;
  rs_metric* replays = nullptr;
  rs_metric* stream_open = nullptr;     // gauge
  rs_metric* events_sent = nullptr;
};

class App {
 public:
  App(rp::Host& host, PluginConfig config);
  ~App();

  rp::Host& host() { return host_; }
  const PluginConfig& config() const { return config_; }
  Store& store() { return *store_; }
  Metrics& metrics() { return metrics_; }
  Executor& executor() { return *executor_; }
  // The name of the per-token rate limit routes refer to; null when
  // rate_limit_burst is 0 (no limit).
  const char* rate_limit() const {
    return config_.rate_limit_burst > 0 ? "deployments" : nullptr;
  }
  std::chrono::steady_clock::time_point started() const { return started_; }

  // init(): opens the store (false and `error` when it cannot), registers
  // every route, endpoint and metric.
  bool start(std::string& error);
  void shard_start(rp::Shard& shard);
  void shard_stop(rp::Shard& shard);
  void shard_drain(rp::Shard& shard);

  // Submits `req`; `on_done` runs later on `shard`'s thread with the
  // finished request (or never, if the server stopped first).
  void submit(const rp::Shard& shard, std::unique_ptr<StoreRequest> req,
              std::function<void(rp::Shard&, StoreRequest&)> on_done);

  // Store thread: a transaction committed.
  void on_commit(const ChangeSet& changes);
  // Readiness follows the store: a failed transaction makes /ready answer
  // 503 until a transaction commits again (any thread).
  void store_failed();
  // A shard's thread: apply a committed ChangeSet.
  void apply(rp::Shard& shard, const ChangeSet& changes);

  ShardState& state(const rp::Shard& shard) { return *shard.user_as<ShardState>(); }

 private:
  rp::Host& host_;
  PluginConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Executor> executor_;
  Metrics metrics_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> store_failing_{false};
};

// Route handlers (plugin_routes.cc), the batch endpoint (plugin_batch.cc),
// the stream (plugin_stream.cc), the long-poll (plugin_wait.cc).
void add_routes(App& app, rp::Host& host);
void add_batch_route(App& app, rp::Host& host);
void add_stream(App& app, rp::Host& host);
void add_wait_route(App& app, rp::Host& host);
// Called by App::apply for each changed deployment on every shard.
void wake_waiters(App& app, rp::Shard& shard, const Deployment& d);
// The shard drains (SIGTERM): answer every parked waiter 503 with
// Retry-After, so that the client asks again elsewhere instead of waiting
// for the drain deadline.
void answer_waiters_draining(rp::Shard& shard, ShardState& st);
// Shard teardown: drop what is left (its connections are gone).
void release_waiters(ShardState& st);

// Shared by the handlers.
// False after answering 400 for an API-Version this server does not know.
bool check_version(rp::Request& req, rp::Response& res);
void send_api_error(rp::Response& res, const rp::Request& req, uint16_t status,
                    std::string_view code, std::string_view message);
// The cached entry for `id` when the cache is current; null otherwise.
const CacheEntry* cached(App& app, ShardState& st, std::string_view id);
void cache_put(App& app, ShardState& st, const Deployment& d);

}  // namespace ringshard::deployments
