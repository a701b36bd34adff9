#include "tls/session.h"

#include <algorithm>
#include <cstring>

#include "tls/boringssl.h"

namespace ringshard::tls {

namespace {

Session* session_of(BIO* b) { return static_cast<Session*>(BIO_get_data(b)); }

int bio_read(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  const size_t n = session_of(b)->read_input(out, static_cast<size_t>(len));
  if (n == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  return static_cast<int>(n);
}

int bio_write(BIO* b, const char* in, int len) {
  BIO_clear_retry_flags(b);
  session_of(b)->write_output(in, static_cast<size_t>(len));
  return len;
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

const BIO_METHOD* bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringshard");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

}  // namespace

void session_info_callback(const SSL* ssl, int type, int value) {
  if ((type & SSL_CB_ALERT) == 0) return;
  auto* s = static_cast<Session*>(SSL_get_app_data(ssl));
  if (s != nullptr) s->note_alert((type & SSL_CB_WRITE) != 0, static_cast<uint8_t>(value & 0xff));
}

std::string take_ssl_error() {
  const uint32_t e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown TLS error";
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "TLS error " + std::to_string(e);
}

Session::~Session() { reset(); }

void Session::reset() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIO too
  ssl_ = nullptr;
  sink_ = nullptr;
  app_ = nullptr;
  input_ = {};
  failure_ = nullptr;
  burst_bytes_ = last_seal_ms_ = 0;
  status_ = Status::kHandshaking;
  alert_sent_ = alert_received_ = 0;
  close_notify_sent_ = false;
}

bool Session::start(SSL_CTX* ctx, Role role, WireSink* sink, void* app) {
  reset();
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) return false;
  BIO* bio = BIO_new(bio_method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return false;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL
  SSL_set_app_data(ssl_, this);
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  sink_ = sink;
  app_ = app;
  return true;
}

bool Session::begin_handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    status_ = Status::kEstablished;
    return true;
  }
  if (SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_READ) return true;
  failure_ = "handshake";
  status_ = Status::kFailed;
  ERR_clear_error();
  return false;
}

size_t Session::read_input(char* out, size_t n) {
  n = std::min(n, input_.size());
  if (n > 0) {
    std::memcpy(out, input_.data(), n);
    input_ = input_.subspan(n);
  }
  return n;
}

void Session::note_alert(bool sent, uint8_t code) {
  if (sent) {
    if (alert_sent_ == 0 || alert_sent_ == SSL_AD_CLOSE_NOTIFY) alert_sent_ = code;
  } else if (alert_received_ == 0 || alert_received_ == SSL_AD_CLOSE_NOTIFY) {
    alert_received_ = code;
  }
}

Session::Received Session::receive(std::span<const char> ciphertext, std::span<char> scratch,
                                   const Events& events) {
  Received r;
  if (status_ == Status::kFailed || status_ == Status::kPeerClosed) {
    r.status = status_;
    return r;
  }
  input_ = ciphertext;
  if (status_ == Status::kHandshaking) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int e = SSL_get_error(ssl_, rc);
      if (e != SSL_ERROR_WANT_READ) {
        status_ = Status::kFailed;
        const uint32_t err = ERR_peek_error();
        failure_ = err != 0 ? ERR_reason_error_string(err) : "handshake";
        ERR_clear_error();
      }
      input_ = {};
      r.status = status_;
      return r;
    }
    status_ = Status::kEstablished;
    r.handshake_completed = true;
    if (!events.established(events.ctx)) {
      input_ = {};
      r.status = status_;
      return r;
    }
  }
  while (true) {
    const int n = SSL_read(ssl_, scratch.data(), static_cast<int>(scratch.size()));
    if (n > 0) {
      if (!events.plaintext(events.ctx, scratch.first(static_cast<size_t>(n)))) break;
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      status_ = Status::kPeerClosed;
    } else {
      status_ = Status::kFailed;
      const uint32_t err = ERR_peek_error();
      failure_ = err != 0 ? ERR_reason_error_string(err) : "read";
    }
    ERR_clear_error();
    break;
  }
  input_ = {};
  r.status = status_;
  return r;
}

size_t Session::record_size(uint64_t now_ms) {
  if (now_ms - last_seal_ms_ > kBurstIdleMs) burst_bytes_ = 0;
  last_seal_ms_ = now_ms;
  return burst_bytes_ < kWarmBytes ? kSmallRecord : kLargeRecord;
}

bool Session::write_record(const char* data, size_t n) {
  const int rc = SSL_write(ssl_, data, static_cast<int>(n));
  if (rc <= 0) {
    status_ = Status::kFailed;
    failure_ = "write";
    ERR_clear_error();
    return false;
  }
  burst_bytes_ += n;
  return true;
}

bool Session::seal(std::string_view plaintext, uint64_t now_ms) {
  while (!plaintext.empty()) {
    if (status_ != Status::kEstablished && status_ != Status::kPeerClosed) return false;
    const size_t n = std::min(plaintext.size(), record_size(now_ms));
    if (!write_record(plaintext.data(), n)) return false;
    plaintext.remove_prefix(n);
  }
  return true;
}

bool Session::seal(std::span<const std::string_view> pieces, std::span<char> staging,
                   uint64_t now_ms) {
  if (status_ != Status::kEstablished && status_ != Status::kPeerClosed) return false;
  size_t fill = 0;
  for (std::string_view piece : pieces) {
    while (!piece.empty()) {
      const size_t rec = std::min(record_size(now_ms), staging.size());
      if (fill == 0 && piece.size() >= rec) {
        // A whole record straight from the caller's bytes: no staging copy.
        if (!write_record(piece.data(), rec)) return false;
        piece.remove_prefix(rec);
        continue;
      }
      const size_t take = std::min(rec > fill ? rec - fill : 0, piece.size());
      std::memcpy(staging.data() + fill, piece.data(), take);
      fill += take;
      piece.remove_prefix(take);
      if (fill >= rec) {
        if (!write_record(staging.data(), fill)) return false;
        fill = 0;
      }
    }
  }
  return fill == 0 || write_record(staging.data(), fill);
}

void Session::fail_with_alert() {
  if (ssl_ != nullptr && !close_notify_sent_) {
    close_notify_sent_ = true;  // nothing follows a fatal alert
    SSL_send_fatal_alert(ssl_, SSL_AD_INTERNAL_ERROR);
    ERR_clear_error();
  }
  status_ = Status::kFailed;
  if (failure_ == nullptr) failure_ = "write";
}

void Session::close_notify() {
  if (close_notify_sent_ || ssl_ == nullptr) return;
  if (status_ != Status::kEstablished && status_ != Status::kPeerClosed) return;
  close_notify_sent_ = true;
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool Session::resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

const char* Session::version() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

std::string_view Session::alpn() const {
  if (ssl_ == nullptr) return {};
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return std::string_view(reinterpret_cast<const char*>(p), len);
}

}  // namespace ringshard::tls
