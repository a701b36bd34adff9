// client/exchange.h: the state of one HTTP client exchange (a request and
// its response, across retries). Internal to HttpClient: callers hold an
// ExchangeHandle. Slots are recycled by the client; `generation` makes
// stale handles harmless.
//
// Thread: the client's shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "client/request.h"
#include "engine/timer_wheel.h"

namespace ringshard::client {

class HttpClient;
class Upstream;
struct UpstreamConnection;

enum class ExchangeState : uint8_t {
  kFree,        // slot unused
  kQueued,      // waiting for a pooled connection (wait timer armed)
  kBackoff,     // waiting before a retry (wait timer armed)
  kConnecting,  // bound to a connection being opened
  kActive,      // request going out / response coming in on `conn`
};

struct Exchange {
  HttpClient* client = nullptr;
  Upstream* up = nullptr;
  UpstreamConnection* conn = nullptr;
  ResponseSink* sink = nullptr;
  std::unique_ptr<ResponseSink> owned_sink;  // request()'s buffered sink
  ClientRequest req;
  uint32_t index = 0;
  uint32_t generation = 0;
  ExchangeState state = ExchangeState::kFree;
  uint32_t attempt = 0;          // retries done
  bool retry_held = false;       // counts against the budget now
  bool stale_replayed = false;   // the one replay after a reused connection died
  bool fresh_only = false;       // next connection must be a new one
  bool got_byte = false;         // this attempt saw a response byte
  bool head_delivered = false;   // on_head ran: no retry any more
  bool request_sent = false;     // the whole request is queued
  bool stream_started = false;   // a streamed body byte was taken
  bool end_requested = false;    // ExchangeHandle::end() before connection
  bool chunked_body = false;     // streamed without a length
  std::chrono::steady_clock::time_point started;
  engine::TimerEntry total_timer;
  engine::TimerEntry wait_timer;

  bool replayable() const {
    return req.body_mode != BodyMode::kStreamed || !stream_started;
  }
};

}  // namespace ringshard::client
