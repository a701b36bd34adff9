// plugins/hello: the smallest plugin that shows each part of the API.
//
//   GET /hello/{name}   "<greeting>, <name>!" (text/plain); the greeting
//                       comes from [plugins.hello] greeting (default "Hello")
//   metrics             hello_greetings_total (counter), and
//                       hello_greetings_last_interval (gauge: greetings in
//                       the last `interval_ms` (default 10000), per shard,
//                       summed), updated by a per-shard timer
//   middleware          X-Hello: <plugin version> on the answers of /hello/
//
//   [plugins.hello]
//   greeting = "Hi"
//   interval_ms = 5000
//
// Per-shard state (the count since the last tick and the timer) lives in
// Shard::user(), made in shard_start and freed in shard_stop: handlers on
// different shards run at once and share nothing.
//
// Built twice from this file: plugins/hello.so (RINGSHARD_PLUGIN, loaded
// with --plugin ./build/plugins/hello.so, or out of tree against an
// installed ringshard) and, with RINGSHARD_HELLO_BUILTIN, into the binary
// (--plugin hello).
#include <memory>
#include <string>

#include "ringshard/plugin.hpp"

namespace {

using ringshard::plugin::Config;
using ringshard::plugin::Host;
using ringshard::plugin::Request;
using ringshard::plugin::Response;
using ringshard::plugin::Shard;

constexpr const char* kVersion = "1.0.0";

class HelloHeader final : public ringshard::plugin::Middleware {
 public:
  void on_response(Request* req, Response& res, uint16_t /*status*/) override {
    if (req != nullptr && req->path().starts_with("/hello/")) res.header("X-Hello", kVersion);
  }
};

class Hello final : public ringshard::plugin::Plugin {
 public:
  void validate(const Config& cfg) override {
    for (std::string_view key : cfg.keys()) {
      if (key != "greeting" && key != "interval_ms") {
        throw std::invalid_argument("unknown key '" + std::string(key) +
                                    "' (greeting, interval_ms)");
      }
    }
    if (auto g = cfg.string("greeting"); g && (g->empty() || g->size() > 200)) {
      throw std::invalid_argument("greeting must be 1..200 bytes");
    }
    if (auto ms = cfg.integer("interval_ms"); ms && (*ms < 10 || *ms > 3'600'000)) {
      throw std::invalid_argument("interval_ms must be 10..3600000");
    }
  }

  void init(Host& host, const Config& cfg) override {
    greeting_ = std::string(cfg.string("greeting").value_or("Hello"));
    interval_ms_ = static_cast<uint64_t>(cfg.integer("interval_ms").value_or(10'000));
    greetings_ = host.metric("hello_greetings_total", "greetings served by the hello plugin");
    last_interval_ = host.metric("hello_greetings_last_interval",
                                 "greetings in the last interval (hello plugin)", RS_METRIC_GAUGE);
    host.middleware(std::make_shared<HelloHeader>());
    host.route("GET", "/hello/{name}", [this](Request& req, Response& res) {
      Shard shard = req.shard();
      shard.metric_add(greetings_, 1);
      ++shard.user_as<PerShard>()->since_tick;
      res.send(200, "text/plain", greeting_ + ", " + std::string(req.param("name")) + "!\n");
    });
  }

  void shard_start(Shard& shard) override {
    shard.set_user(new PerShard);
    tick(shard);
  }

  void shard_stop(Shard& shard) override {
    auto* state = shard.user_as<PerShard>();
    if (state->timer != nullptr) shard.cancel(state->timer);
    delete state;
    shard.set_user(nullptr);
  }

 private:
  struct PerShard {
    uint64_t since_tick = 0;
    rs_timer* timer = nullptr;
  };

  // Publishes the count and re-arms: one timer per shard, for good.
  void tick(Shard& shard) {
    auto* state = shard.user_as<PerShard>();
    shard.metric_set(last_interval_, static_cast<int64_t>(state->since_tick));
    state->since_tick = 0;
    state->timer = shard.after(interval_ms_, [this](Shard& s) {
      s.user_as<PerShard>()->timer = nullptr;
      tick(s);
    });
  }

  std::string greeting_;
  uint64_t interval_ms_ = 10'000;
  rs_metric* greetings_ = nullptr;
  rs_metric* last_interval_ = nullptr;
};

}  // namespace

#ifdef RINGSHARD_HELLO_BUILTIN
RINGSHARD_PLUGIN_AS(Hello, "hello", kVersion, ringshard_builtin_hello)
#else
RINGSHARD_PLUGIN(Hello, "hello", kVersion)
#endif
