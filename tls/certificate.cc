// tls/certificate.cc: loading and checking certificate/key pairs, SNI name
// matching, and the self-signed development certificate.
#include "tls/certificate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace ringshard::tls {

namespace {

// Certificates and keys are a few KiB; a bigger file is a wrong path (a
// device, a log), and BIO_new_mem_buf takes an int length.
constexpr size_t kMaxPemBytes = 1 << 20;
constexpr int64_t kDay = 86400;
// A development certificate this close to expiry is replaced at startup, so
// a server started today still has a valid one for a week.
constexpr int64_t kDevRenewBefore = 7 * kDay;
constexpr int64_t kDevBackdate = 3600;  // tolerate a client clock behind ours
constexpr int kDevValidDays = 365;

// The reason of the oldest queued BoringSSL error (or `fallback`), and an
// empty queue afterwards so the next operation starts clean.
std::string take_error(std::string_view fallback) {
  const uint32_t code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? std::string(reason) : std::string(fallback);
}

bool is_pem_error(uint32_t code, int reason) {
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == reason;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = path + ": cannot read: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > kMaxPemBytes) {
      error = path + ": larger than 1 MiB, not a PEM file";
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

bssl::UniquePtr<BIO> memory_bio(std::string_view bytes) {
  return bssl::UniquePtr<BIO>(
      BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// ASN1_TIME as unix seconds. This BoringSSL (API 17) predates
// ASN1_TIME_to_posix, so measure the distance from the epoch instead.
bool to_unix(const ASN1_TIME* time, int64_t& out) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &seconds, epoch.get(), time)) {
    ERR_clear_error();
    return false;
  }
  out = int64_t{days} * kDay + seconds;
  return true;
}

std::string format_date(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  char text[32];
  if (gmtime_r(&t, &parts) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%d", &parts) == 0) {
    return "?";
  }
  return text;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Host names are printable ASCII; an embedded NUL or control character is
// the classic trick to make "good.com\0.evil.com" look like something else.
bool plausible_host_name(std::string_view name) {
  if (name.empty()) return false;
  for (const unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

void add_name(std::vector<std::string>& names, std::string_view raw) {
  if (!plausible_host_name(raw)) return;
  std::string name = lowercase(raw);
  for (const std::string& existing : names) {
    if (existing == name) return;
  }
  names.push_back(std::move(name));
}

// The last (most specific) commonName of the subject, or "" when none.
std::string common_name(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int index = -1;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    index = i;
  }
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    ERR_clear_error();
    return {};
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

// subjectAltName dNSName entries, else the subject CN (RFC 6125 6.4.4).
bool collect_names(const X509* cert, std::vector<std::string>& names,
                   std::string& cause) {
  int critical = -1;
  bssl::UniquePtr<GENERAL_NAMES> alt_names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!alt_names && critical != -1) {
    cause = critical == -2
                ? "duplicate subjectAltName extension"
                : "malformed subjectAltName extension: " + take_error("parse error");
    ERR_clear_error();
    return false;
  }
  if (alt_names) {
    for (const GENERAL_NAME* entry : alt_names.get()) {
      if (entry->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = entry->d.dNSName;
      add_name(names,
               std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                static_cast<size_t>(ASN1_STRING_length(dns))));
    }
  }
  if (names.empty()) add_name(names, common_name(cert));
  return true;
}

// Whether we serve with this key, and how describe() names it.
bool check_key_type(const EVP_PKEY* key, std::string& description, std::string& cause) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC: {
      const int curve =
          EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key)));
      if (curve == NID_X9_62_prime256v1) {
        description = "ECDSA P-256";
        return true;
      }
      if (curve == NID_secp384r1) {
        description = "ECDSA P-384";
        return true;
      }
      const char* name = OBJ_nid2sn(curve);
      cause = std::string("unsupported key type: ECDSA on curve ") +
              (name != nullptr ? name : "unknown") +
              " (supported: ECDSA P-256 or P-384, RSA >= 2048 bits)";
      return false;
    }
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_bits(key);
      if (bits >= 2048) {
        description = "RSA " + std::to_string(bits);
        return true;
      }
      cause = "unsupported key type: RSA " + std::to_string(bits) +
              " bits (RSA keys need at least 2048 bits)";
      return false;
    }
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_id(key));
      cause = std::string("unsupported key type: ") +
              (name != nullptr ? name : "unknown") +
              " (supported: ECDSA P-256 or P-384, RSA >= 2048 bits)";
      return false;
    }
  }
}

}  // namespace

struct Credential::State {
  bssl::UniquePtr<X509> leaf;
  std::vector<bssl::UniquePtr<X509>> owned_chain;
  std::vector<X509*> chain;  // views of owned_chain, for chain()
  bssl::UniquePtr<EVP_PKEY> key;
  std::vector<std::string> names;
  std::string key_description;
  std::string common_name;
  int64_t not_after = 0;
  bool ecdsa = false;

  std::unique_ptr<State> clone() const {
    auto copy = std::make_unique<State>();
    copy->leaf = bssl::UpRef(leaf);
    for (const auto& cert : owned_chain) {
      copy->owned_chain.push_back(bssl::UpRef(cert));
      copy->chain.push_back(copy->owned_chain.back().get());
    }
    copy->key = bssl::UpRef(key);
    copy->names = names;
    copy->key_description = key_description;
    copy->common_name = common_name;
    copy->not_after = not_after;
    copy->ecdsa = ecdsa;
    return copy;
  }
};

Credential::Credential(std::unique_ptr<State> state) : state_(std::move(state)) {}
Credential::Credential(const Credential& other) : state_(other.state_->clone()) {}
Credential& Credential::operator=(const Credential& other) {
  if (this != &other) state_ = other.state_->clone();
  return *this;
}
Credential::Credential(Credential&& other) noexcept = default;
Credential& Credential::operator=(Credential&& other) noexcept = default;
Credential::~Credential() = default;

const std::vector<std::string>& Credential::names() const { return state_->names; }
int64_t Credential::not_after_unix() const { return state_->not_after; }
bool Credential::is_ecdsa() const { return state_->ecdsa; }
x509_st* Credential::leaf() const { return state_->leaf.get(); }
const std::vector<x509_st*>& Credential::chain() const { return state_->chain; }
evp_pkey_st* Credential::key() const { return state_->key.get(); }

std::string Credential::describe() const {
  std::string out = state_->key_description;
  if (!state_->common_name.empty()) {
    out += ", CN=" + state_->common_name;
  } else if (!state_->names.empty()) {
    out += ", " + state_->names.front();
  }
  out += ", expires " + format_date(state_->not_after);
  return out;
}

std::optional<Credential> Credential::load(const std::string& cert_path,
                                           const std::string& key_path, int64_t now_unix,
                                           std::string& error) {
  std::string cert_pem;
  std::string key_pem;
  if (!read_file(cert_path, cert_pem, error) || !read_file(key_path, key_pem, error)) {
    return std::nullopt;
  }
  return parse(cert_pem, key_pem, cert_path, key_path, now_unix, error);
}

std::optional<Credential> Credential::load_pem(std::string_view cert_pem,
                                               std::string_view key_pem, int64_t now_unix,
                                               std::string& error) {
  return parse(cert_pem, key_pem, "certificate PEM", "private key PEM", now_unix, error);
}

std::optional<Credential> Credential::parse(std::string_view cert_pem,
                                            std::string_view key_pem,
                                            std::string_view cert_name,
                                            std::string_view key_name, int64_t now_unix,
                                            std::string& error) {
  const auto fail = [&](std::string_view name, const std::string& cause) {
    error = std::string(name) + ": " + cause;
    ERR_clear_error();
    return std::nullopt;
  };
  if (cert_pem.size() > kMaxPemBytes) return fail(cert_name, "larger than 1 MiB");
  if (key_pem.size() > kMaxPemBytes) return fail(key_name, "larger than 1 MiB");
  ERR_clear_error();

  auto state = std::make_unique<State>();
  bssl::UniquePtr<BIO> cert_bio = memory_bio(cert_pem);
  if (!cert_bio) return fail(cert_name, "out of memory");
  state->leaf.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!state->leaf) {
    if (is_pem_error(ERR_peek_last_error(), PEM_R_NO_START_LINE)) {
      return fail(cert_name, "no certificate (no -----BEGIN CERTIFICATE----- block)");
    }
    return fail(cert_name, "bad PEM certificate: " + take_error("parse error"));
  }
  // Intermediates follow until the input holds no further certificate block.
  for (;;) {
    bssl::UniquePtr<X509> cert(
        PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      if (is_pem_error(ERR_peek_last_error(), PEM_R_NO_START_LINE)) {
        ERR_clear_error();
        break;
      }
      return fail(cert_name, "bad PEM in certificate " +
                                 std::to_string(state->owned_chain.size() + 2) +
                                 " of the chain: " + take_error("parse error"));
    }
    state->chain.push_back(cert.get());
    state->owned_chain.push_back(std::move(cert));
  }

  bssl::UniquePtr<BIO> key_bio = memory_bio(key_pem);
  if (!key_bio) return fail(key_name, "out of memory");
  // A null password callback makes BoringSSL fail on encrypted keys instead
  // of prompting (unlike OpenSSL, it never reads the terminal).
  state->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!state->key) {
    const uint32_t last = ERR_peek_last_error();
    if (is_pem_error(last, PEM_R_NO_START_LINE)) {
      return fail(key_name, "no private key (no -----BEGIN ... PRIVATE KEY----- block)");
    }
    if (is_pem_error(last, PEM_R_BAD_PASSWORD_READ)) {
      return fail(key_name, "encrypted private keys are not supported");
    }
    return fail(key_name, "bad PEM private key: " + take_error("parse error"));
  }
  std::string cause;
  if (!check_key_type(state->key.get(), state->key_description, cause)) {
    return fail(key_name, cause);
  }
  state->ecdsa = EVP_PKEY_id(state->key.get()) == EVP_PKEY_EC;
  if (!X509_check_private_key(state->leaf.get(), state->key.get())) {
    return fail(key_name, "private key does not match the certificate in " +
                              std::string(cert_name) + " (" + take_error("mismatch") +
                              ")");
  }

  if (!to_unix(X509_get0_notAfter(state->leaf.get()), state->not_after)) {
    return fail(cert_name, "unreadable notAfter time");
  }
  if (state->not_after < now_unix) {
    return fail(cert_name, "certificate expired on " + format_date(state->not_after));
  }
  if (!collect_names(state->leaf.get(), state->names, cause)) {
    return fail(cert_name, cause);
  }
  state->common_name = common_name(state->leaf.get());
  return Credential(std::move(state));
}

bool name_matches(std::string_view pattern, std::string_view name) {
  const auto equal_ignoring_case = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i];
      char y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  };
  constexpr std::string_view kWildcard = "*.";
  // A host name never holds '*'; in a pattern it is only a whole left label.
  if (name.empty() || name.find('*') != std::string_view::npos) return false;
  if (pattern.substr(0, kWildcard.size()) != kWildcard) {
    return pattern.find('*') == std::string_view::npos &&
           equal_ignoring_case(pattern, name);
  }
  const std::string_view suffix = pattern.substr(kWildcard.size());  // "example.com"
  // At least two labels under the wildcard: no "*.com".
  const size_t dot = suffix.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == suffix.size() ||
      suffix.find('*') != std::string_view::npos) {
    return false;
  }
  const size_t label_end = name.find('.');
  if (label_end == std::string_view::npos || label_end == 0) return false;
  return equal_ignoring_case(name.substr(label_end + 1), suffix);
}

namespace {

// Creates every missing component of `dir` with mode 0700.
bool make_directories(const std::string& dir, std::string& error) {
  for (size_t end = 1; end <= dir.size(); ++end) {
    if (end != dir.size() && dir[end] != '/') continue;
    const std::string prefix = dir.substr(0, end);
    if (::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    error = prefix + ": cannot create directory: " + std::strerror(errno);
    return false;
  }
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    error = dir + ": not a directory";
    return false;
  }
  return true;
}

// Writes through a temporary file in the same directory and renames it into
// place, so a crash or a concurrent reader never sees half a key.
bool write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode,
                           std::string& error) {
  std::string temp = path + ".XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot create temporary file: " + std::strerror(errno);
    return false;
  }
  const auto fail = [&](const char* what) {
    error = path + ": " + what + ": " + std::strerror(errno);
    ::close(fd);
    ::unlink(temp.c_str());
    return false;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set mode");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    error = path + ": cannot write: " + std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    error = path + ": cannot rename into place: " + std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  }
  return true;
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> extension(
      X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
  return extension && X509_add_ext(cert, extension.get(), -1);
}

std::string bio_contents(const BIO* bio) {
  const uint8_t* data = nullptr;
  size_t length = 0;
  if (!BIO_mem_contents(bio, &data, &length)) return {};
  return std::string(reinterpret_cast<const char*>(data), length);
}

// The PEM texts of a fresh development certificate and its key.
bool generate_dev_certificate(int64_t now_unix, std::string& cert_pem,
                              std::string& key_pem, std::string& error) {
  const auto fail = [&](const char* step) {
    error = std::string("cannot generate the development certificate: ") + step + ": " +
            take_error("unknown error");
    return false;
  };
  bssl::UniquePtr<EC_KEY> ec_key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec_key || !key || !EC_KEY_generate_key(ec_key.get()) ||
      !EVP_PKEY_assign_EC_KEY(key.get(), ec_key.get())) {
    return fail("key");
  }
  ec_key.release();  // now owned by `key`

  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) return fail("certificate");

  // 128 random bits with the top bit clear: a positive INTEGER of at most 16
  // bytes, as RFC 5280 4.1.2.2 asks.
  uint8_t serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] = static_cast<uint8_t>((serial_bytes[0] & 0x7f) | 0x01);
  bssl::UniquePtr<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return fail("serial number");
  }

  const int64_t not_before = now_unix - kDevBackdate;
  const int64_t not_after = not_before + kDevValidDays * kDay;
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after))) {
    return fail("validity");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  static const char kHost[] = "localhost";
  if (!X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                  reinterpret_cast<const uint8_t*>(kHost), -1, -1, 0) ||
      !X509_set_issuer_name(cert.get(), subject) ||
      !X509_set_pubkey(cert.get(), key.get())) {
    return fail("names");
  }
  if (!add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), NID_subject_alt_name,
                     "DNS:localhost,IP:127.0.0.1,IP:::1")) {
    return fail("extensions");
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return fail("signature");

  bssl::UniquePtr<BIO> cert_out(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> key_out(BIO_new(BIO_s_mem()));
  if (!cert_out || !key_out || !PEM_write_bio_X509(cert_out.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                nullptr)) {
    return fail("PEM encoding");
  }
  cert_pem = bio_contents(cert_out.get());
  key_pem = bio_contents(key_out.get());
  return true;
}

}  // namespace

std::optional<DevCertificate> ensure_dev_certificate(const std::string& dir,
                                                     int64_t now_unix,
                                                     std::string& error) {
  if (dir.empty()) {
    error = "development certificate directory: empty path";
    return std::nullopt;
  }
  DevCertificate result;
  result.cert_path = dir + "/dev-cert.pem";
  result.key_path = dir + "/dev-key.pem";

  std::string ignored;
  const auto existing =
      Credential::load(result.cert_path, result.key_path, now_unix, ignored);
  if (existing && existing->not_after_unix() > now_unix + kDevRenewBefore) {
    return result;
  }

  std::string cert_pem;
  std::string key_pem;
  if (!generate_dev_certificate(now_unix, cert_pem, key_pem, error)) {
    return std::nullopt;
  }
  // What we write must pass the same checks as what we would read back.
  if (!Credential::load_pem(cert_pem, key_pem, now_unix, error)) {
    error = "generated development certificate is unusable: " + error;
    return std::nullopt;
  }
  // The key goes first: if we stop between the two renames, the old
  // certificate no longer matches the key and the next start regenerates.
  if (!make_directories(dir, error) ||
      !write_file_atomically(result.key_path, key_pem, 0600, error) ||
      !write_file_atomically(result.cert_path, cert_pem, 0644, error)) {
    return std::nullopt;
  }
  result.generated = true;
  return result;
}

}  // namespace ringshard::tls
