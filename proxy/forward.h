// proxy/forward.h: one request forwarded to a backend and its response
// relayed back (see proxy/reverse_proxy.h for the whole flow). Internal to
// proxy/.
//
// A Forward is the client exchange's ResponseSink and holds the server
// side's handles: the deferred answer (errors before any response byte),
// the request body reader (streamed to the upstream) and the response
// writer (streamed to the client). Backpressure is joined both ways:
//   request body:  reader.on_data -> exchange.write; a refused chunk is held
//                  and the reader pauses until on_body_writable();
//   response body: on_body -> writer.write; false pauses the exchange until
//                  the writer's on_writable resumes it.
// It ends exactly once (finish()): the exchange is cancelled if still
// active, the breaker and balancer counts are released, the passive health
// outcome recorded, and the object goes back to the shard's free list with
// its generation bumped, so callbacks still registered with the server side
// for the old request find a different generation and do nothing.
//
// Thread: the shard's. Allocation: the ClientRequest's strings (reused
// capacity across requests of the free list), nothing else per request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "client/http_client.h"
#include "http/server.h"
#include "proxy/config.h"

namespace ringshard::proxy {

class ProxyShard;
struct GroupShard;

class Forward final : public client::ResponseSink {
 public:
  explicit Forward(ProxyShard& shard) : ps_(shard) {}

  // Takes over the request (defers its answer) and starts the exchange
  // with backend `backend` of group `g`. `upstream_request` is the head as
  // the backend must see it (forward_headers.h), moved in.
  void start(GroupShard& g, size_t backend, uint64_t key_hash,
             http::ServerRequest& req, http::Response& res,
             client::ClientRequest upstream_request, bool websocket);

  void on_head(const client::ResponseHeadView& head) override;
  bool on_body(std::string_view chunk) override;
  void on_end() override;
  void on_error(client::ClientError error, std::string_view detail) override;
  void on_body_writable() override;
  void on_upgrade(engine::Connection& conn, std::string_view rest) override;

 private:
  void begin_exchange();
  bool write_body(std::string_view chunk);
  void body_done();
  void client_gone();
  bool try_failover(client::ClientError error);
  void answer_error(client::ClientError error);
  void record_outcome(bool connect_failure, bool server_error);
  void finish();

  ProxyShard& ps_;
  uint32_t generation_ = 0;
  bool active_ = false;
  GroupShard* group_ = nullptr;
  size_t backend_ = 0;
  uint64_t key_hash_ = 0;
  uint32_t failovers_left_ = 0;
  http::AsyncResponse answer_;
  http::ResponseWriter writer_;
  http::RequestBodyReader body_;
  client::ExchangeHandle exchange_;
  client::ClientRequest request_;  // kept for a failover to another backend
  std::string held_;               // a request body chunk the exchange refused
  std::string upgrade_head_;       // the backend's 101, passed to the client
  bool has_body_ = false;
  bool body_ended_ = false;        // the client's body is complete
  bool body_sent_ = false;         // a body byte went to the upstream (no failover)
  bool head_sent_ = false;         // the response head went to the client
  bool outcome_recorded_ = false;
  bool websocket_ = false;
  bool counted_start_ = false;     // balancer on_start / breaker acquire held
  bool starting_ = false;          // inside HttpClient::start()
  client::ClientError pending_error_ = client::ClientError::kNone;  // raised inside start()
  std::string pending_detail_;
};

}  // namespace ringshard::proxy
