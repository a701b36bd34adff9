// tls/certificate.h: a server certificate chain and its private key, loaded
// from PEM and checked before anything serves with it; and the development
// certificate that `ringshard` makes for localhost when none is configured.
//
// Credential::load() refuses, with a one-line message naming the file and the
// cause, everything that would otherwise fail later during a handshake or in
// a client's error page: an unreadable file, no certificate, bad PEM, a key
// that does not belong to the certificate, a key type we do not serve (only
// ECDSA P-256/P-384 and RSA of at least 2048 bits), an encrypted key, or a
// certificate whose notAfter has passed. Time is passed in as unix seconds so
// tests do not depend on the clock.
//
// A Credential is immutable once loaded. Copies share the underlying BoringSSL
// objects (reference counted, safe to read from several threads), so one load
// can be handed to every shard's TLS context. A moved-from Credential may only
// be assigned to or destroyed.
//
// This header names BoringSSL types only as forward-declared pointers
// (x509_st is X509, evp_pkey_st is EVP_PKEY) so layers above tls/ can include
// it without BoringSSL headers; tls/context.cc, which does include them, uses
// leaf(), chain() and key().
//
// Thread: any; control plane only (loading reads files and allocates).
//
//   std::string error;
//   auto credential = Credential::load("cert.pem", "key.pem", now, error);
//   if (!credential) { log(error); return false; }
//   log(credential->describe());  // "ECDSA P-256, CN=localhost, expires 2027-11-21"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct x509_st;
struct evp_pkey_st;

namespace ringshard::tls {

class Credential {
 public:
  // Loads cert_path (PEM: the leaf first, then any intermediates in order;
  // blocks of other types, such as a key, are skipped) and key_path (PEM
  // private key: "PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY" or
  // "RSA PRIVATE KEY"). Files larger than 1 MiB are refused.
  static std::optional<Credential> load(const std::string& cert_path,
                                        const std::string& key_path, int64_t now_unix,
                                        std::string& error);
  // The same checks on PEM text already in memory; messages name the inputs
  // "certificate PEM" and "private key PEM".
  static std::optional<Credential> load_pem(std::string_view cert_pem,
                                            std::string_view key_pem, int64_t now_unix,
                                            std::string& error);

  Credential(const Credential& other);
  Credential& operator=(const Credential& other);
  Credential(Credential&& other) noexcept;
  Credential& operator=(Credential&& other) noexcept;
  ~Credential();

  // The DNS names the certificate is for, lowercased, in certificate order
  // without duplicates: its subjectAltName dNSName entries (wildcards kept as
  // "*.example.com"), or its subject CN when it has no dNSName entry. IP
  // address entries are not names. Valid while the Credential lives.
  const std::vector<std::string>& names() const;
  // One line for logs: "ECDSA P-256, CN=localhost, expires 2027-11-21" or
  // "RSA 2048, CN=example.com, expires 2026-03-01".
  std::string describe() const;
  int64_t not_after_unix() const;
  bool is_ecdsa() const;

  // For BoringSSL-aware code in tls/. The pointers are owned by the
  // Credential (and its copies) and valid while it lives; call X509_up_ref /
  // EVP_PKEY_up_ref to keep one longer. The chain holds the intermediates in
  // file order, without the leaf.
  x509_st* leaf() const;
  const std::vector<x509_st*>& chain() const;
  evp_pkey_st* key() const;

 private:
  struct State;
  explicit Credential(std::unique_ptr<State> state);
  static std::optional<Credential> parse(std::string_view cert_pem,
                                         std::string_view key_pem,
                                         std::string_view cert_name,
                                         std::string_view key_name, int64_t now_unix,
                                         std::string& error);

  std::unique_ptr<State> state_;
};

// Does `name` (an SNI host name) match `pattern` (an entry of names())?
// Either exactly, or through a wildcard "*.example.com" standing for exactly
// one non-empty left-most label: "a.example.com" matches, "example.com" and
// "a.b.example.com" do not. A wildcard must cover at least two labels
// ("*.com" and "*" never match); any other '*' ("f*.example.com",
// "www.*.com") makes a pattern match nothing, and a name holding '*' matches
// nothing. Comparison ignores ASCII case, although both sides are normally
// lowercase already.
bool name_matches(std::string_view pattern, std::string_view name);

// The development certificate: self-signed ECDSA P-256, CN=localhost, SANs
// DNS:localhost, IP:127.0.0.1 and IP:::1, valid from now-1h for 365 days,
// random 128-bit serial, SHA-256 signature, basicConstraints CA:FALSE,
// keyUsage digitalSignature, extKeyUsage serverAuth.
struct DevCertificate {
  std::string cert_path;   // <dir>/dev-cert.pem
  std::string key_path;    // <dir>/dev-key.pem
  bool generated = false;  // false: existing files were reused
};

// Reuses <dir>/dev-cert.pem and <dir>/dev-key.pem when both load with
// Credential::load and expire more than 7 days after now_unix; otherwise
// generates a new pair, creating `dir` and its missing parents (mode 0700).
// Each file is written to a temporary file in `dir` and renamed into place;
// the key file is mode 0600. Returns nullopt with a one-line `error` naming
// the path when a directory or file cannot be written.
std::optional<DevCertificate> ensure_dev_certificate(const std::string& dir,
                                                     int64_t now_unix,
                                                     std::string& error);

}  // namespace ringshard::tls
