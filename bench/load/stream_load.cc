#include "bench/load/stream_load.h"

#include <memory>
#include <mutex>

#include "bench/load/request_encoder.h"
#include "bench/load/stream_shard.h"
#include "engine/engine.h"

namespace ringshard::load {

std::string_view json_string_member(std::string_view object, std::string_view key) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (size_t from = 0;;) {
    const size_t k = object.find(key, from);
    if (k == std::string_view::npos) return {};
    from = k + 1;
    const size_t end = k + key.size();
    // "key" as a whole string, not \"key\" inside another one.
    if (k == 0 || object[k - 1] != '"' || (k >= 2 && object[k - 2] == '\\')) continue;
    if (end >= object.size() || object[end] != '"') continue;
    size_t p = end + 1;
    while (p < object.size() && blank(object[p])) ++p;
    if (p >= object.size() || object[p] != ':') continue;  // a value that reads like the key
    ++p;
    while (p < object.size() && blank(object[p])) ++p;
    if (p >= object.size() || object[p] != '"') return {};  // not a string
    const size_t begin = ++p;
    while (p < object.size() && object[p] != '"') p += object[p] == '\\' ? 2 : 1;
    if (p >= object.size()) return {};
    return object.substr(begin, p - begin);
  }
}

LoadResult run_stream_load(const LoadOptions& options) {
  LoadResult total;
  auto plan = std::make_unique<StreamPlan>();
  LoadOptions& o = plan->opt;
  o = options;
  if (!resolve_target(o, plan->addr, plan->addr_len)) {
    total.fatal = "cannot resolve '" + o.host + "' (use an IP literal or localhost)";
    return total;
  }
  plan->upgrade = make_upgrade(o);
  // The creates carry the same --header lines, and JSON unless told otherwise.
  LoadOptions create = o;
  if (find_header(create.headers, "content-type").data() == nullptr) {
    create.headers.emplace_back("Content-Type: application/json");
  }
  plan->create = encode_request(create, o.stream_post_path, o.method);
  if (o.tls) {
    tls::ClientOptions co;
    if (o.host == "localhost") co.server_name = "localhost";
    std::string error;
    plan->tls = tls::make_client_context(co, error);
    if (!plan->tls) {
      total.fatal = "TLS: " + error;
      return total;
    }
  }

  engine::EngineConfig ec;
  ec.listen = false;
  ec.shards = 1;
  ec.pin_threads = o.pin;
  ec.max_connections = 2 * o.connections + 16;
  // Many connections, each with a small message now and then.
  ec.recv_buffer_count = 4096;
  // A measuring tool: no completion batching, which would add up to its
  // min wait to the latencies it reports (engine/ring_wait.h).
  ec.batch_wait_us = 0;
  ec.recv_buffer_size = 4096;
  ec.drain_timeout_ms = 1'000;
  StreamShard* shard = nullptr;
  ec.make_handler = [&](engine::Shard& s) -> std::unique_ptr<engine::ConnectionHandler> {
    auto h = std::make_unique<StreamShard>(s, *plan);
    shard = h.get();
    return h;
  };
  engine::Engine engine(std::move(ec));
  const engine::StartError err = engine.start();
  if (!err.ok()) {
    total.fatal = err.message;
    return total;
  }
  engine.execute(0, [shard](engine::Shard&) { shard->start(); });
  {
    std::unique_lock lock(plan->mu);
    plan->cv.wait(lock, [&] { return plan->done; });
  }
  engine.drain();
  engine.wait();
  return std::move(shard->result);
}

}  // namespace ringshard::load
