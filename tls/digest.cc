#include "tls/digest.h"

#include <openssl/mem.h>
#include <openssl/sha.h>

namespace ringshard::tls {

Sha256 sha256(std::string_view data) {
  Sha256 out;
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out.data());
  return out;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  const Sha256 d = sha256(data);
  std::string out;
  out.reserve(2 * d.size());
  for (uint8_t b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool constant_time_equal(const uint8_t* a, const uint8_t* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

}  // namespace ringshard::tls
