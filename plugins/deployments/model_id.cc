// plugins/deployments/model_id.cc: random deployment ids.
#include "plugins/deployments/model_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace ringshard::deployments {
namespace {

constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
static_assert(kDeploymentIdLength == kDeploymentIdPrefix.size() + kDeploymentIdRandomChars);

void fill_random(unsigned char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no randomness: ids could repeat; see model_id.h
    }
    got += static_cast<size_t>(r);
  }
}

}  // namespace

std::string new_deployment_id() {
  // 13 bytes = 104 bits, of which the first 100 are used: 20 groups of 5.
  unsigned char bytes[13];
  fill_random(bytes, sizeof bytes);
  std::string id(kDeploymentIdPrefix);
  id.reserve(kDeploymentIdLength);
  uint32_t acc = 0;
  int bits = 0;
  size_t next = 0;
  for (size_t i = 0; i < kDeploymentIdRandomChars; ++i) {
    if (bits < 5) {
      acc = (acc << 8) | bytes[next++];
      bits += 8;
    }
    id += kBase32[(acc >> (bits - 5)) & 31];
    bits -= 5;
  }
  return id;
}

bool valid_deployment_id(std::string_view id) {
  if (id.size() != kDeploymentIdLength || !id.starts_with(kDeploymentIdPrefix)) return false;
  for (char c : id.substr(kDeploymentIdPrefix.size())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

}  // namespace ringshard::deployments
