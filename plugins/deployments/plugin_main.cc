// plugins/deployments/plugin_main.cc: the plugin's entry point and App:
// store, executor, per-shard state, and the commit fan-out (see
// plugin_state.h for the flow).
#include <memory>
#include <string>
#include <utility>

#include "plugins/deployments/model.h"
#include "plugins/deployments/plugin_executor.h"
#include "plugins/deployments/plugin_state.h"

namespace ringshard::deployments {

App::App(rp::Host& host, PluginConfig config)
    : host_(host), config_(std::move(config)), started_(std::chrono::steady_clock::now()) {}

App::~App() {
  if (store_) store_->close();
}

bool App::start(std::string& error) {
  StoreOptions so;
  so.data_dir = std::string(host_.data_dir());
  so.max_batch = config_.store_max_batch;
  so.history_events = config_.history_events;
  so.idempotency_ttl_ms = config_.idempotency_ttl_hours * 3600 * 1000;
  store_ = make_sqlite_store(so);
  store_->set_change_listener([this](const ChangeSet& c) { on_commit(c); });
  if (!store_->open(error)) {
    error = "cannot open the deployment store under " + so.data_dir + ": " + error;
    return false;
  }

  executor_ = std::make_unique<SimulatedExecutor>(
      config_.executor, [this](const std::string& id, Status from, Status to) {
        auto req = std::make_unique<StoreRequest>();
        StoreOp op;
        op.kind = StoreOp::Kind::kTransition;
        op.id = id;
        op.from = from;
        op.to = to;
        req->ops.push_back(std::move(op));
        rp::Shard s0 = host_.shard(0);
        submit(s0, std::move(req), [this](rp::Shard& shard, StoreRequest& done) {
          if (done.outcome == StoreRequest::Outcome::kError) {
            shard.metric_add(metrics_.store_errors, 1);
            store_failed();
            host_.log(RS_LOG_ERROR, "deployments: executor transition failed: " + done.error);
          } else if (!done.results.empty() &&
                     done.results[0].code == StoreOpResult::Code::kOk) {
            shard.metric_add(metrics_.transitions, 1);
          }
        });
      });

  metrics_.created = host_.metric("ringshard_deployments_created_total",
                                  "Deployments created (acknowledged 201).");
  metrics_.deleted = host_.metric("ringshard_deployments_deleted_total",
                                  "Deployments moved to terminating by DELETE.");
  metrics_.transitions = host_.metric("ringshard_deployments_transitions_total",
                                      "Lifecycle transitions reported by the executor.");
  metrics_.cache_hits = host_.metric("ringshard_deployments_cache_hits_total",
                                     "GET by id answered from the shard's cache.");
  metrics_.cache_misses = host_.metric("ringshard_deployments_cache_misses_total",
                                       "GET by id that went to the store.");
  metrics_.store_errors = host_.metric("ringshard_deployments_store_errors_total",
                                       "Store transactions that failed (answered 503).");
  metrics_.replays = host_.metric("ringshard_deployments_idempotent_replays_total",
                                  "Requests answered from a stored Idempotency-Key.");
  metrics_.stream_open = host_.metric("ringshard_deployments_stream_connections",
                                      "Open /v1/stream connections.", RS_METRIC_GAUGE);
  metrics_.events_sent = host_.metric("ringshard_deployments_stream_events_total",
                                      "deployment.update events sent to stream clients.");

  if (rate_limit() != nullptr) {
    host_.rate_limit(rate_limit(), "bearer", config_.rate_limit_burst,
                     config_.rate_limit_per_second);
  }
  add_routes(*this, host_);
  add_wait_route(*this, host_);
  add_batch_route(*this, host_);
  add_stream(*this, host_);
  host_.log(RS_LOG_INFO, "deployments: store " + store_->describe() + ", executor " +
                             std::string(executor_->name()) + " (simulated: nothing is " +
                             "scheduled anywhere)");
  return true;
}

void App::shard_start(rp::Shard& shard) {
  auto* st = new ShardState;
  st->index = shard.index();
  shard.set_user(st);
  if (shard.index() != 0) return;
  // Resume every unfinished deployment's lifecycle from its stored state.
  auto req = std::make_unique<StoreRequest>();
  StoreOp op;
  op.kind = StoreOp::Kind::kUnfinished;
  req->ops.push_back(std::move(op));
  submit(shard, std::move(req), [this](rp::Shard& s, StoreRequest& done) {
    if (done.outcome != StoreRequest::Outcome::kDone || done.results.empty()) {
      host_.log(RS_LOG_ERROR, "deployments: recovery read failed: " + done.error);
      return;
    }
    size_t n = 0;
    for (const Deployment& d : done.results[0].deployments) {
      if (d.status == Status::kPending) executor_->start(s, d), ++n;
      if (d.status == Status::kTerminating) executor_->stop(s, d), ++n;
    }
    if (n > 0) host_.log(RS_LOG_INFO, "deployments: resumed " + std::to_string(n) +
                                          " unfinished deployment(s)");
  });
}

void App::shard_stop(rp::Shard& shard) {
  auto* st = shard.user_as<ShardState>();
  if (st == nullptr) return;
  release_waiters(*st);
  shard.set_user(nullptr);
  delete st;
}

void App::shard_drain(rp::Shard& shard) {
  if (auto* st = shard.user_as<ShardState>()) answer_waiters_draining(shard, *st);
}

void App::submit(const rp::Shard& shard, std::unique_ptr<StoreRequest> req,
                 std::function<void(rp::Shard&, StoreRequest&)> on_done) {
  rp::Shard target = shard;
  req->done = [target, on_done = std::move(on_done)](std::unique_ptr<StoreRequest> r) {
    // shared_ptr: std::function needs a copyable callable.
    std::shared_ptr<StoreRequest> finished(std::move(r));
    target.post([on_done, finished](rp::Shard* s) {
      if (s != nullptr) on_done(*s, *finished);
    });
  };
  store_->submit(std::move(req));
}

void App::store_failed() {
  if (!store_failing_.exchange(true, std::memory_order_relaxed)) {
    host_.set_ready(false);
    host_.log(RS_LOG_ERROR, "deployments: the store failed a transaction; /ready answers 503 "
                            "until one commits again");
  }
}

void App::on_commit(const ChangeSet& changes) {
  if (store_failing_.load(std::memory_order_relaxed) &&
      store_failing_.exchange(false, std::memory_order_relaxed)) {
    host_.set_ready(true);
    host_.log(RS_LOG_INFO, "deployments: the store commits again; ready");
  }
  auto shared = std::make_shared<const ChangeSet>(changes);
  for (unsigned i = 0; i < host_.shard_count(); ++i) {
    host_.shard(i).post([this, shared](rp::Shard* s) {
      if (s != nullptr) apply(*s, *shared);
    });
  }
}

void App::apply(rp::Shard& shard, const ChangeSet& changes) {
  auto* st = shard.user_as<ShardState>();
  if (st == nullptr) return;
  for (const Deployment& d : changes.deployments) {
    auto it = st->cache.find(d.id);
    if (it != st->cache.end()) cache_put(*this, *st, d);
    wake_waiters(*this, shard, d);
  }
  if (changes.version > st->applied_version) st->applied_version = changes.version;
  if (shard.index() != 0) return;
  for (const Event& e : changes.events) {
    shard.publish(kEventTopic, render_event(e));
    // The executor acts on what the store recorded, so a restart resumes
    // it from the same facts.
    if (e.status != Status::kPending && e.status != Status::kTerminating) continue;
    for (const Deployment& d : changes.deployments) {
      if (d.id != e.deployment_id) continue;
      if (e.status == Status::kPending) executor_->start(shard, d);
      else executor_->stop(shard, d);
      break;
    }
  }
}

namespace {

class DeploymentsPlugin final : public rp::Plugin {
 public:
  void validate(const rp::Config& config) override { parse_plugin_config(config); }
  void init(rp::Host& host, const rp::Config& config) override {
    app_ = std::make_unique<App>(host, parse_plugin_config(config));
    std::string error;
    if (!app_->start(error)) throw std::runtime_error(error);
  }
  void shard_start(rp::Shard& shard) override { app_->shard_start(shard); }
  void shard_stop(rp::Shard& shard) override { app_->shard_stop(shard); }
  void shard_drain(rp::Shard& shard) override { app_->shard_drain(shard); }

 private:
  std::unique_ptr<App> app_;
};

}  // namespace
}  // namespace ringshard::deployments

RINGSHARD_PLUGIN(ringshard::deployments::DeploymentsPlugin, "deployments", "1.0.0")
