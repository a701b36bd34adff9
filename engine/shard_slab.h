// engine/shard_slab.h: the shard's connection slab and pooled send
// contexts, internal to engine/ (shard.cc: the I/O; shard_connections.cc:
// accept, connect and close; shard_drain.cc: drain and exit).
//
// Thread: the owning shard.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/connection.h"
#include "engine/shard.h"
#include "engine/user_data.h"

namespace ringshard::engine {

inline constexpr size_t kMaxIov = 64;

// The msghdr and iovecs of one in-flight sendmsg. At most one per
// connection; pooled per shard so a send allocates nothing.
struct SendContext {
  msghdr msg{};
  iovec iov[kMaxIov];
};

// Connections live in chunks of kChunk slots allocated on first use, so a
// shard configured for 65,536 connections costs memory only for those it has
// had open at once. Slot indices are stable for the life of the shard.
class Shard::Slab {
 public:
  static constexpr uint32_t kChunk = 256;
  static constexpr uint32_t kNone = ~0u;

  Slab(Shard& shard, uint32_t capacity) : shard_(shard), capacity_(capacity) {}

  Connection* allocate() {
    if (free_head_ == kNone) {
      if (allocated_ >= capacity_) return nullptr;
      grow();
    }
    Connection* c = at(free_head_);
    free_head_ = c->next_free_;
    return c;
  }

  void release(Connection& c) {
    c.state_ = Connection::State::kFree;
    c.generation_ = (c.generation_ + 1) & UserData::kGenerationMask;
    c.next_free_ = free_head_;
    free_head_ = c.slot_;
  }

  Connection* at(uint32_t slot) {
    if (slot >= allocated_) return nullptr;
    return &chunks_[slot / kChunk][slot % kChunk];
  }

  uint32_t allocated() const { return allocated_; }

  template <typename F>
  void for_each_live(F&& f) {
    for (uint32_t i = 0; i < allocated_; ++i) {
      Connection* c = at(i);
      if (c->state_ != Connection::State::kFree) f(*c);
    }
  }

  // Send contexts, one per in-flight send.
  SendContext* acquire_send() {
    if (send_free_.empty()) {
      send_all_.push_back(std::make_unique<SendContext>());
      return send_all_.back().get();
    }
    SendContext* s = send_free_.back();
    send_free_.pop_back();
    return s;
  }
  void release_send(SendContext* s) { send_free_.push_back(s); }
  std::vector<SendContext*>& in_flight_sends() { return send_by_slot_; }

 private:
  void grow() {
    auto chunk = std::make_unique<Connection[]>(kChunk);
    const uint32_t base = allocated_;
    const uint32_t n = std::min(kChunk, capacity_ - base);
    for (uint32_t i = 0; i < kChunk; ++i) {
      Connection& c = chunk[i];
      c.shard_ = &shard_;
      c.slot_ = base + i;
      c.timer_.callback = &Shard::connection_timer_fired;
      c.timer_.context = &c;
      c.next_free_ = (i + 1 < n) ? base + i + 1 : kNone;
    }
    chunks_.push_back(std::move(chunk));
    allocated_ += n;
    free_head_ = base;
    send_by_slot_.resize(allocated_, nullptr);
  }

  Shard& shard_;
  uint32_t capacity_;
  uint32_t allocated_ = 0;
  uint32_t free_head_ = kNone;
  std::vector<std::unique_ptr<Connection[]>> chunks_;
  std::vector<std::unique_ptr<SendContext>> send_all_;
  std::vector<SendContext*> send_free_;
  std::vector<SendContext*> send_by_slot_;
};

}  // namespace ringshard::engine
