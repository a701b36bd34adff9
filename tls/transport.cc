#include "tls/transport.h"

#include <sys/uio.h>

#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "tls/boringssl.h"
#include "tls/pinning.h"

namespace ringshard::tls {

class TlsConnection final : public WireSink {
 public:
  void wire(std::string_view bytes) override { conn->write_wire(bytes); }

  static bool established(void* ctx);
  static bool plaintext(void* ctx, std::span<const char> bytes);
  // SSL_CTX_set_cert_verify_callback of a pinned client context.
  static int verify_pinned(X509_STORE_CTX* store, void* arg);

  TlsTransport* owner = nullptr;
  engine::Connection* conn = nullptr;
  std::shared_ptr<const ServerContext> server;  // keeps its callbacks' state alive
  Session session;
  bool app_open = false;  // the handler's on_open ran
  bool failure_reported = false;  // client: on_connect_failed ran
  std::string failure_reason;     // client: why the handshake failed
};

namespace {

TlsConnection* state_of(const engine::Connection& conn) {
  return static_cast<TlsConnection*>(conn.transport_context());
}

int new_client_session(SSL* ssl, SSL_SESSION* session) {
  auto* s = static_cast<Session*>(SSL_get_app_data(ssl));
  if (s == nullptr || s->app() == nullptr) return 0;
  static_cast<TlsConnection*>(s->app())->owner->store_session(session);
  return 1;  // we own the reference now
}

std::string encode_alpn(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

}  // namespace

bool TlsConnection::established(void* ctx) {
  auto* tc = static_cast<TlsConnection*>(ctx);
  engine::Connection& conn = *tc->conn;
  TlsMetrics& m = tc->owner->metrics_;
  m.handshakes.add();
  if (tc->session.resumed()) m.resumed.add();
  conn.clear_timeout();
  tc->app_open = true;
  conn.handler()->on_open(conn);
  return conn.is_open();
}

bool TlsConnection::plaintext(void* ctx, std::span<const char> bytes) {
  auto* tc = static_cast<TlsConnection*>(ctx);
  engine::Connection& conn = *tc->conn;
  conn.handler()->on_data(conn, bytes);
  return conn.is_open();
}

// The chain and name first (as BoringSSL would without this callback) when
// the context verifies, then the leaf's key against the pins. Runs inside
// SSL_do_handshake on the shard's thread, before the client's Finished.
int TlsConnection::verify_pinned(X509_STORE_CTX* store, void* arg) {
  const auto* cc = static_cast<const ClientContext*>(arg);
  if (cc->options().verify_peer && X509_verify_cert(store) != 1) return 0;
  Sha256 key;
  if (!spki_sha256(X509_STORE_CTX_get0_cert(store), key)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  for (const Sha256& pin : cc->pins()) {
    if (std::memcmp(pin.data(), key.data(), key.size()) == 0) return 1;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* s = ssl != nullptr ? static_cast<Session*>(SSL_get_app_data(ssl)) : nullptr;
  if (s != nullptr && s->app() != nullptr) {
    auto* tc = static_cast<TlsConnection*>(s->app());
    tc->owner->metrics_.pin_mismatches.add();
    tc->failure_reason = "certificate pin mismatch: the server's key is " + pin_text(key) +
                         ", which matches none of the " + std::to_string(cc->pins().size()) +
                         " configured pins";
  }
  return 0;
}

// --- client context ---------------------------------------------------------

ClientContext::~ClientContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

std::shared_ptr<const ClientContext> ClientContext::create(const ClientOptions& options,
                                                           std::string& error) {
  std::shared_ptr<ClientContext> cc(new ClientContext());
  cc->options_ = options;
  for (size_t i = 0; i < options.pins.size(); ++i) {
    Sha256 digest;
    std::string why;
    if (!parse_pin(options.pins[i], digest, why)) {
      error = "TLS client: pin " + std::to_string(i + 1) + ": " + why;
      return nullptr;
    }
    cc->pins_.push_back(digest);
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    error = "TLS: out of memory";
    return nullptr;
  }
  cc->ctx_ = ctx;
  const std::string alpn = encode_alpn(options.alpn);
  bool ok = SSL_CTX_set_min_proto_version(
                ctx, options.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) &&
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
            SSL_CTX_set1_curves_list(ctx, "X25519:P-256") &&
            (alpn.empty() ||
             SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const uint8_t*>(alpn.data()),
                                     alpn.size()) == 0);
  if (ok && options.verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    ok = options.ca_file.empty()
             ? SSL_CTX_set_default_verify_paths(ctx)
             : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
    // A certificate in ca_file is a trust anchor even when it is not a CA
    // (a self-signed server certificate, like our development one): the
    // operator named it, as curl does.
    if (ok && !options.ca_file.empty()) {
      X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    }
  }
  if (ok && !cc->pins_.empty()) {
    // SSL_VERIFY_PEER even without verify_peer: under SSL_VERIFY_NONE a
    // failed verification (our pin check included) would not be fatal.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, &TlsConnection::verify_pinned, cc.get());
  }
  if (!ok) {
    error = "TLS client: " + take_ssl_error();
    return nullptr;
  }
  if (options.resume) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, new_client_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  SSL_CTX_set_info_callback(ctx, session_info_callback);
  return cc;
}

// --- transport --------------------------------------------------------------

TlsTransport::TlsTransport(engine::Shard& shard, std::shared_ptr<const ServerContext> context,
                           uint32_t handshake_timeout_ms)
    : shard_(shard),
      server_(std::move(context)),
      handshake_timeout_ms_(handshake_timeout_ms) {}

TlsTransport::TlsTransport(engine::Shard& shard, std::shared_ptr<const ClientContext> context,
                           uint32_t handshake_timeout_ms)
    : shard_(shard), client_(std::move(context)), handshake_timeout_ms_(handshake_timeout_ms) {}

TlsTransport::~TlsTransport() {
  for (TlsConnection* tc : free_) delete tc;
  if (last_session_ != nullptr) SSL_SESSION_free(last_session_);
}

void TlsTransport::set_context(std::shared_ptr<const ServerContext> context) {
  server_ = std::move(context);
}

const Session* TlsTransport::session(const engine::Connection& conn) {
  const TlsConnection* tc = conn.transport() != nullptr ? state_of(conn) : nullptr;
  return tc != nullptr ? &tc->session : nullptr;
}

std::string_view TlsTransport::failure_reason(const engine::Connection& conn) {
  const TlsConnection* tc = conn.transport() != nullptr ? state_of(conn) : nullptr;
  return tc != nullptr ? std::string_view(tc->failure_reason) : std::string_view();
}

void TlsTransport::note_handshake_failure(TlsConnection& tc) {
  // Client role only: a server's failed handshakes are counted, not
  // explained (no string built per garbage ClientHello).
  if (client_ == nullptr || !tc.failure_reason.empty()) return;  // the pin check may have said it
  SSL* ssl = tc.session.ssl();
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK && (client_->options().verify_peer || !client_->pins().empty())) {
    tc.failure_reason = std::string("certificate verify failed: ") +
                        X509_verify_cert_error_string(verify);
    return;
  }
  tc.failure_reason = std::string("handshake failed: ") +
                      (tc.session.failure() != nullptr ? tc.session.failure() : "error");
  if (tc.session.alert_received() != 0) {
    tc.failure_reason += std::string(" (the peer sent the alert \"") +
                         SSL_alert_desc_string_long(tc.session.alert_received()) + "\")";
  }
}

void TlsTransport::store_session(SSL_SESSION* session) {
  if (last_session_ != nullptr) SSL_SESSION_free(last_session_);
  last_session_ = session;
}

TlsConnection* TlsTransport::acquire() {
  if (free_.empty()) {
    auto* tc = new TlsConnection();
    tc->owner = this;
    return tc;
  }
  TlsConnection* tc = free_.back();
  free_.pop_back();
  return tc;
}

void TlsTransport::release(TlsConnection* tc) {
  tc->session.reset();
  tc->server.reset();
  tc->conn = nullptr;
  tc->app_open = false;
  tc->failure_reported = false;
  tc->failure_reason.clear();
  free_.push_back(tc);
}

void TlsTransport::fail_open(engine::Connection& conn, TlsConnection* tc, int error) {
  // A client's handshake that did not complete is a failed connect for
  // the handler, which never saw on_open.
  if (client_ != nullptr && (tc == nullptr || (!tc->app_open && !tc->failure_reported))) {
    if (tc != nullptr) tc->failure_reported = true;
    conn.handler()->on_connect_failed(conn, error);
  }
}

void TlsTransport::on_open(engine::Connection& conn) {
  TlsConnection* tc = acquire();
  tc->conn = &conn;
  SSL_CTX* ctx = nullptr;
  if (server_ != nullptr) {
    tc->server = server_;
    ctx = server_->default_ctx();
  } else {
    ctx = client_->ctx();
  }
  const Session::Role role = server_ != nullptr ? Session::Role::kServer : Session::Role::kClient;
  if (!tc->session.start(ctx, role, tc, tc)) {
    release(tc);
    fail_open(conn, nullptr, ENOMEM);
    conn.close();
    return;
  }
  conn.set_transport_context(tc);
  conn.set_timeout(handshake_timeout_ms_);
  if (role == Session::Role::kClient) {
    SSL* ssl = tc->session.ssl();
    const ClientOptions& o = client_->options();
    if (!o.server_name.empty()) {
      SSL_set_tlsext_host_name(ssl, o.server_name.c_str());
      if (o.verify_peer) SSL_set1_host(ssl, o.server_name.c_str());
    }
    if (o.resume && last_session_ != nullptr) SSL_set_session(ssl, last_session_);
    tc->session.set_now_ms(shard_.now_ms());
    if (!tc->session.begin_handshake()) {
      metrics_.handshake_failures.add();
      note_handshake_failure(*tc);
      fail_open(conn, tc, EPROTO);
      conn.close();
    }
  }
}

void TlsTransport::on_receive(engine::Connection& conn, std::span<const char> data) {
  TlsConnection* tc = state_of(conn);
  if (tc == nullptr) return;
  tc->session.set_now_ms(shard_.now_ms());
  const bool was_open = tc->app_open;
  const Session::Events events{&TlsConnection::established, &TlsConnection::plaintext, tc};
  const Session::Received r = tc->session.receive(data, scratch_, events);
  switch (r.status) {
    case Session::Status::kFailed:
      if (!was_open && !tc->app_open) {
        metrics_.handshake_failures.add();
        note_handshake_failure(*tc);
        fail_open(conn, tc, EPROTO);
      } else {
        metrics_.record_errors.add();
      }
      // The alert BoringSSL queued goes out first; no close_notify after a
      // fatal alert, no waiting for a peer that spoke garbage.
      if (conn.is_open()) conn.close_after_flush(/*linger=*/false);
      return;
    case Session::Status::kPeerClosed:
      metrics_.close_notify_received.add();
      if (conn.is_open()) conn.handler()->on_peer_closed(conn);
      return;
    default:
      return;
  }
}

void TlsTransport::on_flush(engine::Connection& conn, engine::OutputQueue& plain, bool closing) {
  TlsConnection* tc = state_of(conn);
  if (tc == nullptr) return;
  engine::BufferPool& pool = shard_.buffers();
  if (!plain.empty()) {
    if (!tc->session.established() && tc->session.status() != Session::Status::kPeerClosed) {
      plain.clear(pool);  // nothing may go out in clear text
    } else {
      iovec iov[64];
      std::string_view pieces[64];
      while (!plain.empty()) {
        const size_t n = plain.gather(iov, 64);
        size_t total = 0;
        for (size_t i = 0; i < n; ++i) {
          pieces[i] = std::string_view(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
          total += iov[i].iov_len;
        }
        const bool ok = !std::exchange(inject_seal_failure_, false) &&
            tc->session.seal(std::span<const std::string_view>(pieces, n), staging_, shard_.now_ms());
        plain.consume(pool, total);
        if (!ok) {
          // The plaintext is lost; leaving the connection open would make
          // the peer wait forever for it. Tell it (a fatal alert, when one
          // can still be written) and close once that has gone out.
          plain.clear(pool);
          metrics_.seal_failures.add();
          tc->session.fail_with_alert();
          conn.close_after_flush(/*linger=*/false);
          return;
        }
      }
    }
  }
  if (closing) tc->session.close_notify();
}

void TlsTransport::on_peer_closed(engine::Connection& conn) {
  TlsConnection* tc = state_of(conn);
  if (tc == nullptr || !tc->app_open) {
    metrics_.handshake_eof.add();
    if (tc != nullptr && client_ != nullptr) {
      tc->failure_reason = "the peer closed the connection during the handshake";
    }
    fail_open(conn, tc, ECONNRESET);
    conn.close();
    return;
  }
  if (tc->session.status() != Session::Status::kPeerClosed) metrics_.truncated.add();
  conn.handler()->on_peer_closed(conn);
}

void TlsTransport::on_timeout(engine::Connection& conn) {
  TlsConnection* tc = state_of(conn);
  if (tc == nullptr || !tc->app_open) {
    metrics_.handshake_timeouts.add();
    if (tc != nullptr && client_ != nullptr) tc->failure_reason = "handshake timeout";
    fail_open(conn, tc, ETIMEDOUT);
    conn.close();
    return;
  }
  conn.handler()->on_timeout(conn);
}

void TlsTransport::on_drain(engine::Connection& conn) {
  TlsConnection* tc = state_of(conn);
  if (tc == nullptr || !tc->app_open) {
    conn.close();
    return;
  }
  conn.handler()->on_drain(conn);
}

void TlsTransport::on_close(engine::Connection& conn) {
  TlsConnection* tc = state_of(conn);
  // A server's handler hears of a connection only once its handshake is
  // done. An outbound connection's handler always gets on_close, after
  // on_open or on_connect_failed (a handshake cut short by a reset or a
  // close counts as a failed connect).
  bool tell_handler = false;
  if (client_ != nullptr) {
    if (tc != nullptr && !tc->app_open) {
      if (tc->failure_reason.empty()) tc->failure_reason = "closed during the handshake";
      fail_open(conn, tc, ECONNABORTED);
    }
    tell_handler = conn.handler() != nullptr;
  } else {
    tell_handler = tc != nullptr && tc->app_open && conn.handler() != nullptr;
  }
  // Our state goes first: the handler's on_close may destroy this
  // transport (an HTTP client that went away leaves its transports to the
  // last of their connections), so nothing of it is touched after.
  if (tc != nullptr) {
    conn.set_transport_context(nullptr);
    release(tc);
  }
  if (tell_handler) conn.handler()->on_close(conn);
}

}  // namespace ringshard::tls
