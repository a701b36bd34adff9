#include "tls/pinning.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/base64.h"
#include "tls/boringssl.h"

namespace ringshard::tls {

namespace {

constexpr size_t kEncodedSize = 44;  // 32 bytes: 43 characters and one '='
constexpr size_t kMaxPinText = 64;

constexpr int sextet(char c) { return base64_value(c); }

}  // namespace

bool parse_pin(std::string_view text, Sha256& digest, std::string& error) {
  if (text.size() > kMaxPinText) {
    error = "a pin is \"sha256/\" and 44 characters of base64; this one is too long";
    return false;
  }
  std::string_view b64;
  // A digest's base64 may itself start with '/', so "sha256//" is curl's
  // form only when what follows it is 44 characters long.
  if (text.starts_with("sha256//") && text.size() == 8 + kEncodedSize) {
    b64 = text.substr(8);
  } else if (text.starts_with("sha256/")) {
    b64 = text.substr(7);
  } else {
    error = "a pin starts with \"sha256/\" (the SHA-256 of the certificate's public key)";
    return false;
  }
  if (b64.size() != kEncodedSize) {
    error = "a pin's base64 is 44 characters (a SHA-256 digest); this one has " +
            std::to_string(b64.size());
    return false;
  }
  if (b64[43] != '=') {
    error = "a pin's base64 ends with one '=' of padding";
    return false;
  }
  uint32_t bits = 0;
  int nbits = 0;
  size_t out = 0;
  for (size_t i = 0; i < 43; ++i) {
    const int v = sextet(b64[i]);
    if (v < 0) {
      error = "a pin's base64 has a character outside the alphabet at position " +
              std::to_string(i + 1);
      return false;
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      digest[out++] = static_cast<uint8_t>((bits >> nbits) & 0xff);
    }
  }
  // 43 characters carry 258 bits: the last 2 belong to no byte and must be
  // zero, or two texts would name the same pin.
  if ((bits & ((1u << nbits) - 1)) != 0) {
    error = "a pin's base64 is not canonical (unused bits set in its last character)";
    return false;
  }
  return out == digest.size();
}

std::string pin_text(const Sha256& digest) {
  std::string out = "sha256/";
  out.resize(7 + kEncodedSize);
  base64_encode(digest.data(), digest.size(), out.data() + 7);
  return out;
}

bool spki_sha256(X509* cert, Sha256& digest) {
  X509_PUBKEY* key = cert != nullptr ? X509_get_X509_PUBKEY(cert) : nullptr;
  if (key == nullptr) return false;
  uint8_t* der = nullptr;
  const int len = i2d_X509_PUBKEY(key, &der);
  if (len <= 0 || der == nullptr) return false;
  digest = sha256(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return true;
}

std::string spki_pin_of_pem(std::string_view pem, std::string& error) {
  if (pem.size() > (1u << 20)) {
    error = "PEM text over 1 MiB";
    return {};
  }
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    error = "out of memory";
    return {};
  }
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Sha256 digest;
  const bool ok = cert != nullptr && spki_sha256(cert, digest);
  if (cert != nullptr) X509_free(cert);
  ERR_clear_error();
  if (!ok) {
    error = "no readable PEM certificate";
    return {};
  }
  return pin_text(digest);
}

std::string spki_pin_of_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": " + std::strerror(errno);
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string pin = spki_pin_of_pem(text.str(), error);
  if (pin.empty()) error = path + ": " + error;
  return pin;
}

}  // namespace ringshard::tls
