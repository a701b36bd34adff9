#include "proxy/forward.h"

#include <array>
#include <utility>

#include "proxy/forward_headers.h"
#include "proxy/proxy_shard.h"
#include "proxy/reverse_proxy.h"

namespace ringshard::proxy {
namespace {

using client::ClientError;

// What the client is told when the upstream side failed. The backend and
// the reason go to the log only.
uint16_t status_for(ClientError e) {
  switch (e) {
    case ClientError::kConnectTimeout:
    case ClientError::kFirstByteTimeout:
    case ClientError::kIdleTimeout:
    case ClientError::kRequestTimeout:
      return 504;
    case ClientError::kPoolFull:
    case ClientError::kPoolTimeout:
      return 503;
    default:
      return 502;
  }
}

std::string_view message_for(uint16_t status) {
  switch (status) {
    case 504: return "the upstream server did not answer in time";
    case 503: return "no upstream server can take the request now";
    default: return "the upstream server failed to answer";
  }
}

// Failures where the request never reached the backend: another backend
// may take it, whatever its method.
bool never_reached(ClientError e) {
  return e == ClientError::kConnectFailed || e == ClientError::kConnectTimeout ||
         e == ClientError::kTlsFailed || e == ClientError::kResolveFailed;
}

}  // namespace

void Forward::start(GroupShard& g, size_t backend, uint64_t key_hash,
                    http::ServerRequest& req, http::Response& res,
                    client::ClientRequest upstream_request, bool websocket) {
  active_ = true;
  group_ = &g;
  backend_ = backend;
  key_hash_ = key_hash;
  failovers_left_ = g.config->backends.size() > 1 ? g.config->retry.attempts - 1 : 0;
  request_ = std::move(upstream_request);
  websocket_ = websocket;
  held_.clear();
  upgrade_head_.clear();
  body_ended_ = body_sent_ = head_sent_ = outcome_recorded_ = false;
  counted_start_ = starting_ = false;

  const uint32_t gen = generation_;
  http::DeferOptions defer;
  // The client's own timeouts answer first (504 with the right reason);
  // the server's deadline is a backstop past them.
  const TimeoutConfig& t = g.config->timeouts;
  const uint64_t bound = t.request_ms != 0 ? t.request_ms
                                           : uint64_t{t.connect_ms} + t.first_byte_ms;
  defer.timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(bound + 5'000, UINT32_MAX));
  defer.on_abort = [this, gen](http::AbortReason) {
    if (generation_ != gen || !active_) return;
    client_gone();
  };
  answer_ = res.defer(std::move(defer));

  body_ = req.body_reader();
  has_body_ = body_.valid() && body_.has_body();
  if (has_body_) {
    request_.body_mode = client::BodyMode::kStreamed;
    request_.stream_length = body_.length();
  } else {
    request_.body_mode = client::BodyMode::kNone;
  }
  begin_exchange();
  if (!active_) return;
  if (has_body_) {
    body_.on_data([this, gen](std::string_view chunk) {
      if (generation_ != gen || !active_) return true;  // drop: the exchange is over
      return write_body(chunk);
    });
    body_.on_end([this, gen] {
      if (generation_ != gen || !active_) return;
      body_ended_ = true;
      if (held_.empty()) exchange_.end();
    });
    body_.on_error([this, gen](http::BodyError) {
      // The server answers (or closes) itself; the upstream side stops.
      if (generation_ != gen || !active_) return;
      group_->metrics.aborted.add();
      finish();
    });
  }
}

void Forward::begin_exchange() {
  GroupShard& g = *group_;
  BackendShard& b = g.backends[backend_];
  g.metrics.requests.add();
  g.balancer->on_start(backend_);
  b.breaker->try_acquire(CircuitBreaker::kRequest);  // eligibility checked it
  counted_start_ = true;
  if (b.pool == nullptr) {
    on_error(ClientError::kConnectFailed, "backend not configured");
    return;
  }
  // An error inside start() (the request could not even be queued) is
  // handled once start() has returned, so that a failover's new exchange
  // is not overwritten by this one's handle.
  starting_ = true;
  pending_error_ = ClientError::kNone;
  client::ClientRequest attempt = request_;  // the original stays for a failover
  exchange_ = ps_.client().start(*b.pool, std::move(attempt), *this);
  starting_ = false;
  if (pending_error_ != ClientError::kNone) {
    const std::string detail = std::move(pending_detail_);
    on_error(pending_error_, detail);
  }
}

bool Forward::write_body(std::string_view chunk) {
  if (!held_.empty()) {  // should not happen: the reader paused
    held_.append(chunk);
    return false;
  }
  if (exchange_.write(chunk)) {
    body_sent_ = true;
    return true;
  }
  held_.assign(chunk);
  return false;  // the reader pauses until on_body_writable()
}

void Forward::on_body_writable() {
  if (!active_ || held_.empty()) return;
  if (!exchange_.write(held_)) return;
  body_sent_ = true;
  held_.clear();
  if (body_ended_) {
    exchange_.end();
  } else {
    body_.resume();
  }
}

void Forward::on_head(const client::ResponseHeadView& head) {
  record_outcome(false, head.status >= 500);
  std::vector<http::HeaderField>& fields = ps_.field_scratch();
  std::string& via = ps_.via_scratch();
  const ResponseFilter kept =
      filter_response_headers(head.headers, head.status == 101 && websocket_, 1,
                              ps_.proxy().options().via, via, fields);
  if (head.status == 101) {
    // on_upgrade() follows: keep the whole head for the client.
    upgrade_head_.assign("HTTP/1.1 101 Switching Protocols\r\n");
    for (size_t i = 0; i < kept.count; ++i) {
      upgrade_head_.append(fields[i].name).append(": ").append(fields[i].value).append("\r\n");
    }
    upgrade_head_.append("\r\n");
    return;
  }
  head_sent_ = true;
  auto& list = ps_.header_scratch();
  list.clear();
  // The writer drops the fields the server writes itself (Date, Server,
  // framing).
  for (size_t i = 0; i < kept.count; ++i) list.emplace_back(fields[i].name, fields[i].value);
  const http::HeaderList headers(list.data(), list.size());
  std::optional<uint64_t> length;
  if (head.framing == client::Framing::kContentLength) length = head.content_length;
  if (head.framing == client::Framing::kNone && head.content_length != 0) {
    length = head.content_length;  // HEAD, 304: the header as the backend sent it
  }
  writer_ = answer_.start(head.status, headers, length);
  const uint32_t gen = generation_;
  writer_.on_writable([this, gen] {
    if (generation_ == gen && active_) exchange_.resume();
  });
  writer_.on_abort([this, gen](http::AbortReason) {
    if (generation_ == gen && active_) client_gone();
  });
}

bool Forward::on_body(std::string_view chunk) {
  if (!active_) return true;
  return writer_.write(chunk);
}

void Forward::on_end() {
  if (!active_) return;
  writer_.end();
  finish();
}

void Forward::on_error(ClientError error, std::string_view detail) {
  if (!active_) return;
  if (starting_) {
    pending_error_ = error;
    pending_detail_.assign(detail);
    return;
  }
  const bool connect_failure = never_reached(error);
  record_outcome(connect_failure, !connect_failure);
  if (ps_.logging()) {
    const Backend& b = group_->config->backends[backend_];
    std::string line = "proxy: upstream " + group_->config->name + " backend " + b.address +
                       ": " + std::string(client::client_error_name(error));
    if (!detail.empty()) line += ": " + std::string(detail);
    ps_.log_warn(line);
  }
  if (!head_sent_ && try_failover(error)) return;
  if (head_sent_) {
    writer_.abort();  // the only signal left once the head is out
  } else {
    answer_error(error);
  }
  finish();
}

bool Forward::try_failover(ClientError error) {
  if (!never_reached(error) || body_sent_ || !held_.empty() || failovers_left_ == 0) return false;
  bool breaker_full = false;
  const size_t next = ps_.pick(*group_, key_hash_, backend_, breaker_full);
  if (next == kNone) return false;
  --failovers_left_;
  // Release the failed backend's counts, then start over on the next one.
  group_->balancer->on_finish(backend_);
  group_->backends[backend_].breaker->release(CircuitBreaker::kRequest);
  counted_start_ = false;
  group_->metrics.failovers.add();
  backend_ = next;
  outcome_recorded_ = false;
  begin_exchange();
  return true;
}

void Forward::answer_error(ClientError error) {
  group_->metrics.upstream_errors.add();
  const uint16_t status = status_for(error);
  answer_.send_error(status, message_for(status));
}

void Forward::on_upgrade(engine::Connection& conn, std::string_view rest) {
  if (!active_ || !websocket_ || upgrade_head_.empty()) {
    conn.close();
    if (active_) {
      if (ps_.logging()) {
        ps_.log_warn("proxy: upstream " + group_->config->name + " backend " +
                     group_->config->backends[backend_].address +
                     ": bad_response: 101 Switching Protocols " +
                     (websocket_ ? "without its head" : "to a request that asked for no upgrade"));
      }
      answer_error(ClientError::kBadResponse);
      finish();
    }
    return;
  }
  TunnelHandler& tunnels = ps_.tunnels();
  Tunnel* t = tunnels.create(ps_.proxy().options().tunnel_idle_timeout_ms);
  tunnels.attach(*t, conn, TunnelHandler::kUpstream, rest);
  head_sent_ = true;
  if (answer_.upgrade(upgrade_head_, tunnels, t)) {
    group_->metrics.upgrades.add();
  } else {
    tunnels.abandon(t);  // the client left: the upstream side closes
  }
  finish();
}

void Forward::client_gone() {
  group_->metrics.aborted.add();
  exchange_.cancel();
  finish();
}

void Forward::record_outcome(bool connect_failure, bool server_error) {
  if (outcome_recorded_) return;
  outcome_recorded_ = true;
  const Outcome o = connect_failure ? Outcome::kConnectFailure
                    : server_error  ? Outcome::k5xx
                                    : Outcome::kSuccess;
  group_->health->on_result(backend_, o, ps_.now_ms());
}

void Forward::finish() {
  if (!active_) return;
  active_ = false;
  exchange_.cancel();  // no-op once it ended
  if (counted_start_) {
    group_->balancer->on_finish(backend_);
    group_->backends[backend_].breaker->release(CircuitBreaker::kRequest);
    counted_start_ = false;
  }
  ++generation_;
  answer_ = {};
  writer_ = {};
  body_ = {};
  exchange_ = {};
  held_.clear();
  if (held_.capacity() > 64 * 1024) std::string().swap(held_);
  ps_.release_forward(this);
}

}  // namespace ringshard::proxy
