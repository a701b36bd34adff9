#include "tls/server_context.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "tls/boringssl.h"
#include "tls/certificate.h"
#include "tls/session.h"

namespace ringshard::tls {

namespace {

// TLS 1.2 (when allowed): forward secrecy and AEAD only. TLS 1.3's suites
// are all AEAD and not configurable in BoringSSL.
constexpr const char* kTls12Suites =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256";

const ServerContext* server_context_of(const SSL* ssl) {
  return static_cast<const ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void* arg) {
  const auto* sc = static_cast<const ServerContext*>(arg);
  for (const std::string& want : sc->alpn()) {
    for (unsigned i = 0; i < in_len;) {
      const unsigned len = in[i];
      if (i + 1 + len > in_len) break;
      if (len == want.size() && std::memcmp(in + i + 1, want.data(), len) == 0) {
        *out = in + i + 1;
        *out_len = static_cast<uint8_t>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
}

int select_certificate(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  char lower[256];
  size_t n = 0;
  for (; name[n] != '\0' && n < sizeof(lower); ++n) {
    const char c = name[n];
    lower[n] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (name[n] != '\0') return SSL_TLSEXT_ERR_OK;  // longer than any DNS name
  const auto* sc = static_cast<const ServerContext*>(arg);
  SSL_CTX* ctx = sc->select(std::string_view(lower, n));
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

int ticket_key(SSL* ssl, uint8_t* name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
               int encrypt) {
  const ServerContext* sc = server_context_of(ssl);
  const auto* session = static_cast<const Session*>(SSL_get_app_data(ssl));
  if (sc == nullptr || session == nullptr) return encrypt ? -1 : 0;
  const TicketKeys& keys = *sc->tickets();
  const uint64_t current = keys.period(session->now_ms());
  TicketKeys::Keys k;
  if (encrypt) {
    keys.derive(current, k);
    std::memcpy(name, k.name, sizeof(k.name));
    RAND_bytes(iv, 16);
    if (!EVP_EncryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr, k.aes, iv) ||
        !HMAC_Init_ex(hmac, k.hmac, sizeof(k.hmac), EVP_sha256(), nullptr)) {
      return -1;
    }
    return 1;
  }
  uint64_t period = 0;
  // Not ours, from the future, or older than the previous period: a full
  // handshake instead.
  if (!keys.parse_name(name, period) || period > current || current - period > 1) return 0;
  keys.derive(period, k);
  if (!EVP_DecryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr, k.aes, iv) ||
      !HMAC_Init_ex(hmac, k.hmac, sizeof(k.hmac), EVP_sha256(), nullptr)) {
    return -1;
  }
  return period == current ? 1 : 2;  // 2: accepted, and a fresh ticket follows
}

void hmac_label(const uint8_t secret[32], const char* label, uint64_t period, uint8_t out[32]) {
  uint8_t msg[24] = {};
  const size_t len = std::strlen(label);
  std::memcpy(msg, label, len);
  for (int i = 0; i < 8; ++i) msg[len + static_cast<size_t>(i)] = static_cast<uint8_t>(period >> (8 * i));
  unsigned out_len = 32;
  HMAC(EVP_sha256(), secret, 32, msg, len + 8, out, &out_len);
}

}  // namespace

TicketKeys::TicketKeys(uint64_t rotation_ms) : rotation_ms_(rotation_ms == 0 ? 1 : rotation_ms) {
  RAND_bytes(secret_, sizeof(secret_));
  RAND_bytes(instance_, sizeof(instance_));
}

void TicketKeys::derive(uint64_t period, Keys& out) const {
  uint8_t buf[32];
  out.period = period;
  std::memcpy(out.name, instance_, 8);
  for (int i = 0; i < 8; ++i) out.name[8 + i] = static_cast<uint8_t>(period >> (8 * i));
  hmac_label(secret_, "ticket aes", period, buf);
  std::memcpy(out.aes, buf, sizeof(out.aes));
  hmac_label(secret_, "ticket hmac", period, out.hmac);
}

bool TicketKeys::parse_name(const uint8_t name[16], uint64_t& period) const {
  if (std::memcmp(name, instance_, 8) != 0) return false;
  period = 0;
  for (int i = 0; i < 8; ++i) period |= uint64_t{name[8 + i]} << (8 * i);
  return true;
}

ServerContext::~ServerContext() {
  for (Entry& e : entries_) SSL_CTX_free(e.ctx);
}

std::shared_ptr<const ServerContext> ServerContext::create(
    const ServerOptions& options, std::shared_ptr<const TicketKeys> tickets, int64_t now_unix,
    std::string& error) {
  if (options.certificates.empty()) {
    error = "TLS: no certificate configured";
    return nullptr;
  }
  std::shared_ptr<ServerContext> sc(new ServerContext());
  sc->tickets_ = std::move(tickets);
  sc->alpn_ = options.alpn;
  for (const CertificateFiles& files : options.certificates) {
    std::optional<Credential> cred = Credential::load(files.cert, files.key, now_unix, error);
    if (!cred) return nullptr;
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    if (ctx == nullptr) {
      error = "TLS: out of memory";
      return nullptr;
    }
    sc->entries_.push_back(Entry{ctx, cred->names(), files.cert + ": " + cred->describe()});
    bool ok = SSL_CTX_set_min_proto_version(
                  ctx, options.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) &&
              SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
              SSL_CTX_set_strict_cipher_list(ctx, kTls12Suites) &&
              SSL_CTX_set1_curves_list(ctx, kGroups) &&
              SSL_CTX_use_certificate(ctx, cred->leaf()) &&
              SSL_CTX_use_PrivateKey(ctx, cred->key());
    for (x509_st* inter : cred->chain()) ok = ok && SSL_CTX_add1_chain_cert(ctx, inter);
    ok = ok && SSL_CTX_check_private_key(ctx);
    if (!ok) {
      error = "TLS: " + files.cert + ": " + take_ssl_error();
      return nullptr;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Tickets only: a server-side cache would be per shard (or locked).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (options.ticket_rotation_s == 0 || sc->tickets_ == nullptr) {
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    } else {
      SSL_CTX_set_tlsext_ticket_key_cb(ctx, ticket_key);
      // A ticket is honoured for up to two rotation periods.
      SSL_CTX_set_session_psk_dhe_timeout(ctx, options.ticket_rotation_s * 2);
      SSL_CTX_set_timeout(ctx, options.ticket_rotation_s * 2);
      SSL_CTX_set_num_tickets(ctx, 1);
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, sc.get());
    SSL_CTX_set_tlsext_servername_callback(ctx, select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, sc.get());
    SSL_CTX_set_info_callback(ctx, session_info_callback);
    SSL_CTX_set_app_data(ctx, sc.get());
  }
  return sc;
}

SSL_CTX* ServerContext::select(std::string_view server_name, bool* matched) const {
  // Exact names first, then wildcards, in configuration order.
  for (int wildcard = 0; wildcard < 2; ++wildcard) {
    for (const Entry& e : entries_) {
      for (const std::string& n : e.names) {
        const bool is_wild = n.starts_with("*.");
        if (is_wild != (wildcard == 1)) continue;
        if (is_wild ? name_matches(n, server_name) : n == server_name) {
          if (matched != nullptr) *matched = true;
          return e.ctx;
        }
      }
    }
  }
  if (matched != nullptr) *matched = false;
  return entries_.front().ctx;
}

std::vector<std::string> ServerContext::describe() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.description);
  return out;
}

}  // namespace ringshard::tls
