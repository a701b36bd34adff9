// engine/metrics.h: per-shard engine counters.
//
// Each counter has one writer (its shard) and any number of readers (a
// /metrics scrape on another shard, tests). The writer uses relaxed
// load+store, not a locked read-modify-write, because nobody else writes.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringshard::engine {

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct ShardMetrics {
  Counter accepted;            // connections accepted
  Counter open;                // connections open now
  Counter rejected;            // accepted then closed: slab full or draining
  Counter accept_errors;       // accept completions with an error
  Counter bytes_in;
  Counter bytes_out;
  Counter recv_no_buffers;     // ENOBUFS: the buffer ring ran dry (re-armed)
  Counter recv_rearmed;        // multishot recv ended and was re-armed
  Counter short_sends;         // sends that did not take the whole queue
  Counter backpressure_pauses; // reading paused because of the send queue
  Counter timeouts;            // connection timers fired
  Counter connect_timeouts;    // outbound connects past their deadline
  Counter cq_overflow;         // CQ overflowed (a bug: the CQ is sized to avoid it)
  Counter loop_turns;
  Counter completions;         // CQEs reaped (per loop turn: the batch size)
  Counter batched_waits;       // waits that asked for a batch (engine/ring_wait.h)
  Counter mailbox_in;          // cross-shard messages run here
  Counter mailbox_backlogged;  // messages that waited in a sender backlog
  Counter tasks_run;           // Shard::post_task tasks run here (not the cancelled)
  Counter ring_failures;       // the shard's ring failed and its loop gave up
};

}  // namespace ringshard::engine
