#include "bench/load/ws_load.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "bench/load/ws_session.h"
#include "bench/load/ws_shard.h"
#include "engine/engine.h"

namespace ringshard::load {

LoadResult run_ws_load(const LoadOptions& options) {
  LoadResult total;
  auto plan = std::make_unique<WsPlan>();
  LoadOptions& o = plan->opt;
  o = options;
  if (!resolve_target(o, plan->addr, plan->addr_len)) {
    total.fatal = "cannot resolve '" + o.host + "' (use an IP literal or localhost)";
    return total;
  }
  plan->upgrade = make_upgrade(o);
  plan->op = o.ws_binary ? ws::Opcode::kBinary : ws::Opcode::kText;
  plan->payload.resize(o.ws_size);
  for (size_t i = 0; i < plan->payload.size(); ++i) {
    plan->payload[i] = static_cast<char>('a' + i % 26);  // valid UTF-8 for text
  }
  WsFramer framer(plan->upgrade.mask);
  plan->frame = std::string(framer.frame(plan->op, plan->payload));
  const std::string channel = o.ws_channel;  // checked: no '"' or '\\' or controls
  plan->join = R"({"type":"join_channel","channel":")" + channel + "\"}";
  plan->message_prefix = R"({"type":"channel_message","channel":")" + channel + R"(","message":")";
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

  // Who runs where: subscribers (or echo connections) in contiguous
  // ranges, publishers round-robin.
  const bool fanout = o.ws == WsMode::kFanout;
  const unsigned subscribers = o.connections;
  const unsigned publishers = fanout ? o.ws_publishers : 0;
  const unsigned threads = std::min(o.threads, subscribers + publishers);
  plan->threads = threads;
  plan->members = subscribers + publishers;
  plan->publishers_left.store(publishers);
  if (fanout && o.rate > 0) plan->interval_ns = 1e9 * publishers / o.rate;
  std::vector<std::vector<WsConn>> per(threads);
  for (unsigned i = 0; i < subscribers; ++i) {
    const unsigned per_thread = subscribers / threads, extra = subscribers % threads;
    unsigned t = 0;
    for (unsigned first = 0; t < threads; ++t) {
      const unsigned n = per_thread + (t < extra ? 1 : 0);
      if (i < first + n) break;
      first += n;
    }
    WsConn& c = per[t].emplace_back();
    c.index = i;
    c.role = fanout ? Role::kSubscriber : Role::kEcho;
  }
  for (unsigned p = 0; p < publishers; ++p) {
    WsConn& c = per[p % threads].emplace_back();
    c.index = subscribers + p;
    c.role = Role::kPublisher;
    c.publisher = p;
  }

  engine::EngineConfig ec;
  ec.listen = false;
  ec.shards = threads;
  ec.pin_threads = o.pin;
  ec.max_connections = 2 * static_cast<uint32_t>((subscribers + publishers) / threads + 1) + 16;
  // Many connections each holding a partial read: more, smaller buffers.
  ec.recv_buffer_count = fanout ? 4096 : 1024;
  // A measuring tool: no completion batching, which would add up to its
  // min wait to the latencies it reports (engine/ring_wait.h).
  ec.batch_wait_us = 0;
  ec.recv_buffer_size = fanout ? 4096 : 16 * 1024;
  ec.drain_timeout_ms = 1'000;
  std::vector<WsShard*> shards(threads, nullptr);
  ec.make_handler = [&](engine::Shard& s) -> std::unique_ptr<engine::ConnectionHandler> {
    const unsigned i = s.index();
    const uint64_t quota = fanout ? 0 : o.requests / threads + (i < o.requests % threads ? 1 : 0);
    auto h = std::make_unique<WsShard>(s, *plan, std::move(per[i]), quota);
    shards[i] = h.get();
    return h;
  };
  engine::Engine engine(std::move(ec));
  plan->start_ns = monotonic_ns();
  plan->end_ns = plan->start_ns + o.duration_ms * 1'000'000;
  if (!fanout) plan->cpu_start = process_cpu_seconds(o.server_pid);
  const engine::StartError err = engine.start();
  if (!err.ok()) {
    total.fatal = err.message;
    return total;
  }
  for (unsigned i = 0; i < threads; ++i) {
    engine.execute(i, [h = shards[i]](engine::Shard&) { h->start(); });
  }
  {
    std::unique_lock lock(plan->mu);
    plan->cv.wait(lock, [&] { return plan->shards_done == threads; });
  }
  engine.drain();
  engine.wait();
  for (WsShard* s : shards) {
    const LoadResult& r = s->result;
    total.requests += r.requests;
    total.connections += r.connections;
    total.bytes_in += r.bytes_in;
    total.errors.add(r.errors);
    total.latency.merge(r.latency);
    total.duration_s = std::max(total.duration_s, r.duration_s);
    WsResult& w = total.ws;
    const WsResult& x = r.ws;
    w.messages += x.messages;
    w.payload_out += x.payload_out;
    w.payload_in += x.payload_in;
    w.deflate += x.deflate;
    w.publications += x.publications;
    w.acknowledged += x.acknowledged;
    w.deliveries += x.deliveries;
    w.member_receipts += x.member_receipts;
    w.members += x.members;
    w.mismatched += x.mismatched;
    w.missing += x.missing;
    w.duplicates += x.duplicates;
    w.out_of_order += x.out_of_order;
    w.publish_latency.merge(x.publish_latency);
    w.close_s = std::max(w.close_s, x.close_s);
  }
  const uint64_t publish_start = plan->publish_start_ns.load();
  if (fanout && publish_start != 0) {
    total.ws.setup_s = static_cast<double>(publish_start - plan->start_ns) / 1e9;
    const uint64_t last = std::max(plan->last_delivery_ns.load(), publish_start);
    total.ws.window_s = static_cast<double>(last - publish_start) / 1e9;
    total.duration_s = total.ws.window_s;
  }
  if (fanout && plan->aborted.load()) total.fatal = "the fan-out could not be set up (see the errors)";
  if (plan->cpu_start >= 0 && plan->cpu_end >= 0) total.ws.server_cpu_s = plan->cpu_end - plan->cpu_start;
  return total;
}

}  // namespace ringshard::load
