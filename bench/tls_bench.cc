// Micro benchmarks of TLS 1.3 with BoringSSL, in memory: what the
// cryptography costs before any I/O. A client and a server SSL talk over a
// BIO pair (no sockets, no engine); the server has a self-signed ECDSA P-256
// certificate made at set-up; both sides allow TLS 1.3 only and X25519 only,
// so the suite is TLS_AES_128_GCM_SHA256 on a CPU with AES instructions
// (BoringSSL's fixed TLS 1.3 preference; each benchmark's label names what
// was negotiated). Every benchmark's name starts with "Tls"
// (--benchmark_filter=Tls).
//
//   BM_TlsServerHandshake        server CPU of one full handshake: SSL_new,
//                                every server SSL_do_handshake, SSL_free
//                                (manual time; counter server_us). This is
//                                "the bound the cryptography sets" that
//                                issue 4 compares ringshard's per-connection
//                                cost with.
//   BM_TlsFullHandshake          both sides of a full handshake, wall time
//   BM_TlsResumedServerHandshake server CPU of a resumed handshake (ticket
//                                from a first full handshake, psk_dhe_ke:
//                                X25519 again, no signature); the server
//                                issues fresh tickets as a real one does
//   BM_TlsSeal16K / BM_TlsOpen16K one 16 KiB application-data record
//                                written (encrypted) or read (decrypted) on
//                                an established connection (manual time of
//                                that call alone; bytes/s)
//
// Server tickets are off (SSL_OP_NO_TICKET) for the full handshakes, so the
// server does not spend time sealing tickets nobody will use.
//
// main() comes from the bench executable (ringshard_micro_bench), not from
// this file.
#include <benchmark/benchmark.h>

#include <openssl/bio.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <time.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace ringshard::tls {
namespace {

// Room for a full 16 KiB record with its header and tag, several times over.
constexpr size_t kBioBuffer = 64 * 1024;
constexpr size_t kRecord = 16 * 1024;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A fresh ECDSA P-256 key and a self-signed certificate for "localhost".
struct Identity {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

bool make_identity(Identity& id) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || !EC_KEY_generate_key(ec.get())) return false;
  id.key.reset(EVP_PKEY_new());
  if (!id.key || !EVP_PKEY_assign_EC_KEY(id.key.get(), ec.release())) return false;
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  if (!x || !X509_set_version(x, X509_VERSION_3) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
      !X509_set_pubkey(x, id.key.get())) {
    return false;
  }
  X509_NAME* name = X509_get_subject_name(x);
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const uint8_t*>("localhost"), -1, -1, 0) ||
      !X509_set_issuer_name(x, name) || !X509_sign(x, id.key.get(), EVP_sha256())) {
    return false;
  }
  return true;
}

bool restrict_to_tls13_x25519(SSL_CTX* ctx) {
  return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
         SSL_CTX_set1_curves_list(ctx, "X25519");
}

// The client keeps the last ticket the server sent (TLS 1.3 tickets arrive
// after the handshake, so SSL_get1_session is not enough).
int keep_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<bssl::UniquePtr<SSL_SESSION>*>(SSL_get_app_data(ssl));
  if (slot == nullptr) return 0;
  slot->reset(session);
  return 1;  // we took the reference
}

// One server context and one client context. Construction failure is
// reported through error(), never thrown.
class TlsContexts {
 public:
  explicit TlsContexts(bool tickets) {
    Identity id;
    if (!make_identity(id)) {
      error_ = "cannot make an ECDSA P-256 certificate";
      return;
    }
    server_.reset(SSL_CTX_new(TLS_method()));
    client_.reset(SSL_CTX_new(TLS_method()));
    if (!server_ || !client_ || !restrict_to_tls13_x25519(server_.get()) ||
        !restrict_to_tls13_x25519(client_.get()) ||
        !SSL_CTX_use_certificate(server_.get(), id.cert.get()) ||
        !SSL_CTX_use_PrivateKey(server_.get(), id.key.get())) {
      error_ = "cannot configure the SSL contexts";
      return;
    }
    if (!tickets) SSL_CTX_set_options(server_.get(), SSL_OP_NO_TICKET);
    // Stateless tickets only: no server-side session cache to fill.
    SSL_CTX_set_session_cache_mode(server_.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_cache_mode(client_.get(), SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(client_.get(), &keep_session);
    SSL_CTX_set_verify(client_.get(), SSL_VERIFY_NONE, nullptr);
  }

  const std::string& error() const { return error_; }
  SSL_CTX* server() const { return server_.get(); }
  SSL_CTX* client() const { return client_.get(); }

 private:
  bssl::UniquePtr<SSL_CTX> server_;
  bssl::UniquePtr<SSL_CTX> client_;
  std::string error_;
};

// Two SSL objects joined by a BIO pair. server_seconds accumulates the thread
// CPU time spent inside the server's calls (SSL_new, handshake, SSL_free).
class TlsPair {
 public:
  TlsPair(const TlsContexts& ctx, SSL_SESSION* offer, bssl::UniquePtr<SSL_SESSION>* ticket_slot) {
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, kBioBuffer, &server_bio, kBioBuffer);
    client_.reset(SSL_new(ctx.client()));
    SSL_set_connect_state(client_.get());
    SSL_set_bio(client_.get(), client_bio, client_bio);
    SSL_set_tlsext_host_name(client_.get(), "localhost");
    if (offer != nullptr) SSL_set_session(client_.get(), offer);
    SSL_set_app_data(client_.get(), ticket_slot);

    const double t0 = thread_cpu_seconds();
    server_.reset(SSL_new(ctx.server()));
    SSL_set_accept_state(server_.get());
    SSL_set_bio(server_.get(), server_bio, server_bio);
    server_seconds_ += thread_cpu_seconds() - t0;
  }

  ~TlsPair() { free_server(); }

  // Runs both sides until each reports the handshake done; false on any
  // error or if it does not converge.
  bool handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 8 && !(client_done && server_done); ++round) {
      if (!client_done) {
        const int r = SSL_do_handshake(client_.get());
        if (r == 1) {
          client_done = true;
        } else if (SSL_get_error(client_.get(), r) != SSL_ERROR_WANT_READ) {
          return false;
        }
      }
      if (!server_done) {
        const double t0 = thread_cpu_seconds();
        const int r = SSL_do_handshake(server_.get());
        server_seconds_ += thread_cpu_seconds() - t0;
        if (r == 1) {
          server_done = true;
        } else if (SSL_get_error(server_.get(), r) != SSL_ERROR_WANT_READ) {
          return false;
        }
      }
    }
    return client_done && server_done;
  }

  // BoringSSL holds a TLS 1.3 server's NewSessionTickets until its next
  // write (a real server sends them with the first response); a zero-byte
  // SSL_write sends them now. Counted as server time.
  bool server_flush() {
    const double t0 = thread_cpu_seconds();
    const int r = SSL_write(server_.get(), "", 0);
    server_seconds_ += thread_cpu_seconds() - t0;
    return r >= 0;
  }

  // Lets the client read what the server sent after its handshake (TLS 1.3
  // tickets): there is no application data, so SSL_read wants more.
  bool client_drain() {
    uint8_t byte = 0;
    const int r = SSL_read(client_.get(), &byte, 1);
    return r <= 0 && SSL_get_error(client_.get(), r) == SSL_ERROR_WANT_READ;
  }

  void free_server() {
    if (!server_) return;
    const double t0 = thread_cpu_seconds();
    server_.reset();
    server_seconds_ += thread_cpu_seconds() - t0;
  }

  SSL* client() const { return client_.get(); }
  SSL* server() const { return server_.get(); }
  double server_seconds() const { return server_seconds_; }

 private:
  bssl::UniquePtr<SSL> client_;
  bssl::UniquePtr<SSL> server_;
  double server_seconds_ = 0;
};

std::string describe(const SSL* ssl) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const char* group = SSL_get_curve_name(SSL_get_curve_id(ssl));
  std::string s = SSL_get_version(ssl);
  s += ' ';
  s += cipher != nullptr ? SSL_CIPHER_standard_name(cipher) : "?";
  s += ' ';
  s += group != nullptr ? group : "?";
  if (!EVP_has_aes_hardware()) s += " (no AES hardware)";
  return s;
}

// Checks the first handshake of a run negotiated what we mean to measure.
bool negotiated_as_intended(benchmark::State& state, const TlsPair& pair, bool resumed) {
  if (SSL_version(pair.server()) != TLS1_3_VERSION) {
    state.SkipWithError("not TLS 1.3");
    return false;
  }
  if (SSL_get_curve_id(pair.server()) != SSL_CURVE_X25519) {
    state.SkipWithError("not X25519");
    return false;
  }
  if ((SSL_session_reused(pair.server()) != 0) != resumed) {
    state.SkipWithError(resumed ? "the handshake was not resumed" : "unexpected resumption");
    return false;
  }
  state.SetLabel(describe(pair.server()) + (resumed ? " resumed" : " ECDSA-P256"));
  return true;
}

// Full handshakes, one per iteration; the server's share as a counter, and
// (manual_time) as the iteration time too.
void run_full_handshakes(benchmark::State& state, bool manual_time) {
  TlsContexts ctx(/*tickets=*/false);
  if (!ctx.error().empty()) {
    state.SkipWithError(ctx.error().c_str());
    return;
  }
  double total = 0;
  bool checked = false;
  for (auto _ : state) {
    TlsPair pair(ctx, nullptr, nullptr);
    if (!pair.handshake()) {
      state.SkipWithError("handshake failed");
      return;
    }
    if (!checked && !(checked = negotiated_as_intended(state, pair, false))) return;
    pair.free_server();
    if (manual_time) state.SetIterationTime(pair.server_seconds());
    total += pair.server_seconds();
  }
  state.counters["server_us"] =
      benchmark::Counter(total * 1e6, benchmark::Counter::kAvgIterations);
}

void BM_TlsServerHandshake(benchmark::State& state) { run_full_handshakes(state, true); }
BENCHMARK(BM_TlsServerHandshake)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_TlsFullHandshake(benchmark::State& state) { run_full_handshakes(state, false); }
BENCHMARK(BM_TlsFullHandshake)->Unit(benchmark::kMicrosecond);

void BM_TlsResumedServerHandshake(benchmark::State& state) {
  TlsContexts ctx(/*tickets=*/true);
  if (!ctx.error().empty()) {
    state.SkipWithError(ctx.error().c_str());
    return;
  }
  bssl::UniquePtr<SSL_SESSION> ticket;
  {
    TlsPair first(ctx, nullptr, &ticket);
    if (!first.handshake() || !first.server_flush() || !first.client_drain() || !ticket) {
      state.SkipWithError("the first handshake gave the client no ticket");
      return;
    }
  }
  // Every resumption offers the same ticket: BoringSSL's stateless tickets
  // carry no single-use check, and a fresh one would cost the same.
  bssl::UniquePtr<SSL_SESSION> discard;
  double total = 0;
  bool checked = false;
  for (auto _ : state) {
    TlsPair pair(ctx, ticket.get(), &discard);
    if (!pair.handshake()) {
      state.SkipWithError("handshake failed");
      return;
    }
    if (!checked && !(checked = negotiated_as_intended(state, pair, true))) return;
    pair.server_flush();
    pair.free_server();
    state.SetIterationTime(pair.server_seconds());
    total += pair.server_seconds();
  }
  state.counters["server_us"] =
      benchmark::Counter(total * 1e6, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TlsResumedServerHandshake)->UseManualTime()->Unit(benchmark::kMicrosecond);

// An established pair for the record benchmarks.
struct Established {
  TlsContexts ctx{/*tickets=*/false};
  TlsPair pair{ctx, nullptr, nullptr};
  bool ok = ctx.error().empty() && pair.handshake();
};

// One SSL_write of 16 KiB: one full record sealed into the BIO pair. The
// peer reads it back outside the timed region so the buffer never fills.
void BM_TlsSeal16K(benchmark::State& state) {
  Established e;
  if (!e.ok) {
    state.SkipWithError("handshake failed");
    return;
  }
  state.SetLabel(describe(e.pair.server()));
  std::array<uint8_t, kRecord> plain{};
  std::array<uint8_t, kRecord> sink{};
  for (auto _ : state) {
    const double t0 = wall_seconds();
    const int w = SSL_write(e.pair.server(), plain.data(), kRecord);
    const double t1 = wall_seconds();
    if (w != static_cast<int>(kRecord)) {
      state.SkipWithError("SSL_write did not take the whole record");
      return;
    }
    state.SetIterationTime(t1 - t0);
    size_t got = 0;
    while (got < kRecord) {
      const int r = SSL_read(e.pair.client(), sink.data() + got, kRecord - got);
      if (r <= 0) {
        state.SkipWithError("the peer could not read the record");
        return;
      }
      got += static_cast<size_t>(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kRecord);
}
BENCHMARK(BM_TlsSeal16K)->UseManualTime();

// One SSL_read of a 16 KiB record the peer sealed outside the timed region.
void BM_TlsOpen16K(benchmark::State& state) {
  Established e;
  if (!e.ok) {
    state.SkipWithError("handshake failed");
    return;
  }
  state.SetLabel(describe(e.pair.server()));
  std::array<uint8_t, kRecord> plain{};
  std::array<uint8_t, kRecord> sink{};
  for (auto _ : state) {
    if (SSL_write(e.pair.client(), plain.data(), kRecord) != static_cast<int>(kRecord)) {
      state.SkipWithError("the peer could not write the record");
      return;
    }
    const double t0 = wall_seconds();
    const int r = SSL_read(e.pair.server(), sink.data(), kRecord);
    const double t1 = wall_seconds();
    if (r != static_cast<int>(kRecord)) {
      state.SkipWithError("SSL_read did not return the whole record");
      return;
    }
    state.SetIterationTime(t1 - t0);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kRecord);
}
BENCHMARK(BM_TlsOpen16K)->UseManualTime();

}  // namespace
}  // namespace ringshard::tls
