// tests/plugins/good.cc: the plugin the host's integration tests drive
// ("testgood"), a route or endpoint per behaviour under test:
//
//   GET /t/ok               "ok <greeting>" ([plugins.testgood] greeting);
//                           throws if its shard's shard_start has not run
//   GET /t/throw            throws (500)
//   GET /t/fail             a raw C handler returning 7 (500)
//   GET /t/defer            answered later from the plugin's worker thread
//                           through Shard::post ("deferred ok")
//   GET /t/drop             defers, then drops the handle (500)
//   GET /t/timer            answered by a 20 ms timer ("timer fired")
//   GET /t/cancel           arms a timer, cancels it; "cancelled runs=N"
//   GET /t/prestart         what the task posted during init() saw
//   GET /t/publish?MSG      publishes MSG to topic t.topic
//   GET /t/heard            what this shard's topic listener heard, comma-joined
//   GET /t/read, /t/write   scopes t:read, t:write: "principal=P write=0|1"
//   GET /t/limited          rate limit "tl" (key ip, burst 2, 0.001/s)
//   GET /t/old              deprecated, with a sunset and a link
//   GET /t/ready/{0|1}      set_ready
//   GET /t/fetch?URL        http_fetch of URL (GET, header X-From: testgood),
//                           answered "status=S error=E x-upstream=H body=B"
//                           (X-Fetch-Timeout: MS sets the fetch's timeout_ms)
//   POST /t/fetch?URL       the same as a POST with the request's body
//   GET /t/fetch-bad        a fetch of "ftp://x": refused at once ("refused")
//   WS  /t/ws               echo; "throw" throws (1011), "close" closes 4000
//   WS  /t/wss              scope t:read; sends "hi PRINCIPAL" on open
//   middleware              X-Test-MW: 1 on /t/ answers; X-Block: 1 -> 403;
//                           X-MW-Throw: 1 -> throws (500)
//   metric                  testgood_requests_total
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ringshard/plugin.hpp"

namespace {

using namespace ringshard::plugin;

// The plugin's own thread, standing for a disk or a database.
class Worker {
 public:
  Worker() : thread_([this] { run(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void push(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

struct PerShard {
  std::vector<std::string> heard;
  int cancelled_runs = 0;
};

int fail_handler(void*, rs_request*, rs_response*) { return 7; }

class TestMiddleware final : public Middleware {
 public:
  bool before(Request& req, Response& res) override {
    if (req.header("x-mw-throw") == "1") throw std::runtime_error("middleware boom");
    if (req.header("x-block") == "1") {
      res.send_error(403, "blocked by middleware");
      return false;
    }
    return true;
  }
  void on_response(Request* req, Response& res, uint16_t) override {
    if (req != nullptr && req->path().starts_with("/t/")) res.header("X-Test-MW", "1");
  }
};

class Echo final : public WsEndpoint {
 public:
  void on_message(WebSocket& ws, std::string_view message, bool text) override {
    if (message == "throw") throw std::runtime_error("ws boom");
    if (message == "close") {
      ws.close(4000, "asked to");
      return;
    }
    ws.send(message, text);
  }
};

class Greeter final : public WsEndpoint {
 public:
  void on_upgrade(Request& req, Upgrade& decision) override {
    // The principal is only known during the upgrade request.
    decision.set_user(new std::string(req.principal()));
  }
  void on_open(WebSocket& ws) override { ws.send("hi " + *ws.user_as<std::string>()); }
  void on_message(WebSocket& ws, std::string_view message, bool text) override {
    ws.send(message, text);
  }
  void on_close(WebSocket& ws, uint16_t, std::string_view) override {
    delete ws.user_as<std::string>();
  }
};

class Good final : public Plugin {
 public:
  void validate(const Config& cfg) override {
    for (std::string_view key : cfg.keys()) {
      if (key != "greeting") throw std::invalid_argument("unknown key " + std::string(key));
    }
  }

  void init(Host& host, const Config& cfg) override {
    greeting_ = std::string(cfg.string("greeting").value_or("plain"));
    requests_ = host.metric("testgood_requests_total", "requests the test plugin served");
    host.rate_limit("tl", "ip", 2, 0.001);
    host.middleware(std::make_shared<TestMiddleware>());

    host.route("GET", "/t/ok", [this](Request& req, Response& res) {
      Shard shard = req.shard();
      if (shard.user() == nullptr) throw std::logic_error("shard_start has not run");
      shard.metric_add(requests_, 1);
      res.send(200, "text/plain", "ok " + greeting_);
    });
    host.route("GET", "/t/throw", [](Request&, Response&) { throw std::runtime_error("boom"); });
    rs_route_options plain{};
    plain.struct_size = sizeof plain;
    if (host.api()->add_route(host.raw(), "GET", "/t/fail", &fail_handler, nullptr, &plain) != 0) {
      throw std::runtime_error("/t/fail refused");
    }
    host.route("GET", "/t/defer", [this](Request& req, Response& res) {
      auto answer = std::make_shared<Async>(res.defer());
      Shard shard = req.shard();
      worker_.push([shard, answer] {
        shard.post([answer](Shard* s) {
          if (s != nullptr) answer->send(200, "text/plain", "deferred ok");
        });
      });
    });
    host.route("GET", "/t/drop", [](Request&, Response& res) { Async dropped = res.defer(); });
    auto fetch = [](Request& req, Response& res) {
      auto answer = std::make_shared<Async>(res.defer());
      HttpRequest out;
      out.method = std::string(req.method());
      out.url = std::string(req.query());
      out.headers = {{"X-From", "testgood"}};
      out.body = std::string(req.body());
      if (const std::string_view t = req.header("x-fetch-timeout"); !t.empty()) {
        out.timeout_ms = static_cast<uint32_t>(std::stoul(std::string(t)));
      }
      const bool sent = req.shard().fetch(out, [answer](Shard&, const HttpResponse& r) {
        answer->send(200, "text/plain",
                     "status=" + std::to_string(r.status) + " error=" + std::string(r.error) +
                         " x-upstream=" + std::string(r.header("x-upstream")) +
                         " body=" + std::string(r.body));
      });
      if (!sent) answer->send(502, "text/plain", "refused");
    };
    host.route("GET", "/t/fetch", fetch);
    host.route("POST", "/t/fetch", fetch);
    host.route("GET", "/t/fetch-bad", [](Request& req, Response& res) {
      HttpRequest out;
      out.url = "ftp://x";
      const bool sent = req.shard().fetch(out, [](Shard&, const HttpResponse&) {
        throw std::runtime_error("a refused fetch's callback ran");
      });
      res.send(200, "text/plain", sent ? "sent" : "refused");
    });
    host.route("GET", "/t/timer", [](Request& req, Response& res) {
      auto answer = std::make_shared<Async>(res.defer());
      req.shard().after(20, [answer](Shard&) { answer->send(200, "text/plain", "timer fired"); });
    });
    host.route("GET", "/t/cancel", [](Request& req, Response& res) {
      Shard shard = req.shard();
      rs_timer* t = shard.after(10'000, [](Shard& s) { ++s.user_as<PerShard>()->cancelled_runs; });
      shard.cancel(t);
      res.send(200, "text/plain",
               "cancelled runs=" + std::to_string(shard.user_as<PerShard>()->cancelled_runs));
    });
    // Posted before the engine runs: it must run on its shard after
    // shard_start.
    host.shard(0).post([this](Shard* s) {
      prestart_.store(s == nullptr ? 3 : s->user() != nullptr ? 1 : 2);
    });
    host.route("GET", "/t/prestart", [this](Request&, Response& res) {
      static constexpr const char* kSeen[] = {"not run", "after shard_start",
                                              "before shard_start", "cancelled"};
      res.send(200, "text/plain", kSeen[prestart_.load()]);
    });
    host.route("GET", "/t/publish", [](Request& req, Response& res) {
      req.shard().publish("t.topic", req.query());
      res.send(200, "text/plain", "published");
    });
    host.topic_listener("t.topic", [](Shard& shard, std::string_view message) {
      shard.user_as<PerShard>()->heard.emplace_back(message);
    });
    host.route("GET", "/t/heard", [](Request& req, Response& res) {
      std::string all;
      for (const std::string& m : req.shard().user_as<PerShard>()->heard) {
        all += (all.empty() ? "" : ",") + m;
      }
      res.send(200, "text/plain", all);
    });
    auto who = [](Request& req, Response& res) {
      res.send(200, "text/plain",
               "principal=" + std::string(req.principal()) +
                   " write=" + (req.has_scope("t:write") ? "1" : "0"));
    };
    RouteOptions read;
    read.scope = "t:read";
    host.route("GET", "/t/read", who, read);
    RouteOptions write;
    write.scope = "t:write";
    host.route("POST", "/t/write", who, write);
    RouteOptions limited;
    limited.rate_limit = "tl";
    host.route("GET", "/t/limited", [](Request&, Response& res) {
      res.send(200, "text/plain", "limited ok");
    }, limited);
    RouteOptions old;
    old.deprecated_at = 1'700'000'000;
    old.sunset_at = 1'800'000'000;
    old.deprecation_link = "https://example.com/deprecations/old";
    host.route("GET", "/t/old", [](Request&, Response& res) {
      res.send(200, "text/plain", "old");
    }, old);
    host.route("GET", "/t/ready/{v}", [&host](Request& req, Response& res) {
      host.set_ready(req.param("v") == "1");
      res.send(200, "text/plain", "set");
    });
    host.websocket("/t/ws", std::make_shared<Echo>());
    host.websocket("/t/wss", std::make_shared<Greeter>(), read);
  }

  void shard_start(Shard& shard) override { shard.set_user(new PerShard); }
  void shard_stop(Shard& shard) override {
    delete shard.user_as<PerShard>();
    shard.set_user(nullptr);
  }

 private:
  std::string greeting_;
  rs_metric* requests_ = nullptr;
  std::atomic<int> prestart_{0};  // written on shard 0, read on any
  Worker worker_;
};

}  // namespace

RINGSHARD_PLUGIN(Good, "testgood", "0.0.1")
