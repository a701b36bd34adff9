// HttpClient's CONNECT tunnels: a TLS upstream behind a forward proxy is
// reached by opening TCP to the proxy, sending CONNECT host:port, reading
// the proxy's answer with the strict response parser, and on a 2xx starting
// the upstream's TLS transport on the same connection
// (engine::Connection::start_transport). The handshake's end calls the
// handler's on_open again, which makes the connection ready as usual.
#include "client/exchange.h"
#include "client/http_client.h"
#include "client/pool.h"

namespace ringshard::client {

void HttpClient::open_tunnel(UpstreamConnection& uc) {
  Upstream& up = *uc.up;
  uc.state = ConnState::kTunnel;
  uc.parser.reset();
  uc.carry.clear();
  uc.conn->write(up.connect_request_);
  uc.conn->set_timeout(up.options_.timeouts.connect_ms);
}

void HttpClient::on_tunnel_data(UpstreamConnection& uc, std::string_view data) {
  std::string joined;
  std::string_view buf = data;
  if (!uc.carry.empty()) {
    uc.carry.append(data);
    joined.swap(uc.carry);
    uc.carry.clear();
    buf = joined;
  }
  const http::ParseResult r = uc.parser.parse(buf, *parsed_);
  if (r.status == http::ParseStatus::kPartial) {
    uc.carry.assign(buf);
    return;
  }
  if (r.status == http::ParseStatus::kError) {
    tunnel_failed(uc, ClientError::kConnectFailed,
                  std::string("malformed answer to CONNECT from the proxy: ") +
                      std::string(r.reason));
    return;
  }
  const uint16_t status = parsed_->status;
  if (status < 200 || status > 299) {
    tunnel_failed(uc, ClientError::kConnectFailed,
                  "the proxy answered CONNECT with " + std::to_string(status));
    return;
  }
  if (r.consumed != buf.size()) {
    // The upstream speaks first in TLS only after our ClientHello: bytes
    // here are the proxy's, and nothing a tunnel may carry.
    tunnel_failed(uc, ClientError::kConnectFailed, "bytes after the proxy's answer to CONNECT");
    return;
  }
  Upstream& up = *uc.up;
  uc.conn->clear_timeout();  // the transport arms its handshake timeout
  uc.tunnel_open = true;
  uc.state = ConnState::kConnecting;
  uc.next_address = uc.addresses.size();  // a TLS failure is not the proxy's
  if (!uc.conn->start_transport(up.tls_transport_.get())) {
    tunnel_failed(uc, ClientError::kConnectFailed, "the tunnel could not start TLS");
  }
}

void HttpClient::tunnel_failed(UpstreamConnection& uc, ClientError kind, std::string detail) {
  // Another address of the proxy would answer the same: fail the connect.
  uc.fail_kind = kind;
  uc.fail_detail = std::move(detail);
  uc.next_address = uc.addresses.size();
  uc.state = ConnState::kConnecting;
  uc.conn->close();  // on_close: connection_closed -> connection_failed
}

}  // namespace ringshard::client
