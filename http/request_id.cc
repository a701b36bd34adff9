#include "http/request_id.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace ringshard::http {
namespace {

constexpr std::array<bool, 256> make_id_chars() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       (c >= 'A' && c <= 'Z');
    bool sym = false;
    for (char s : std::string_view("._~+/=-")) sym |= (c == s);
    t[c] = alnum || sym;
  }
  return t;
}
constexpr std::array<bool, 256> kIdChar = make_id_chars();

constexpr char kHexDigits[] = "0123456789abcdef";

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// getrandom() fills up to 256 bytes in one call once the pool is ready; a
// signal may interrupt it before that. On any other failure (ENOSYS in an
// old sandbox) the caller falls back to weaker entropy rather than failing
// a shard's startup over request ids.
bool os_random(void* buf, size_t n) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > kRequestIdMaxLength) return false;
  for (char c : id) {
    if (!kIdChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

void hex_encode(std::span<const uint8_t> in, char* out) {
  for (uint8_t b : in) {
    *out++ = kHexDigits[b >> 4];
    *out++ = kHexDigits[b & 0xf];
  }
}

RequestIdGenerator::RequestIdGenerator() {
  if (os_random(s_, sizeof s_)) {
    // xoshiro's one forbidden state; 2^-256, but cheap to rule out.
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) seed_from(0);
    return;
  }
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const auto wall = std::chrono::system_clock::now().time_since_epoch().count();
  uint64_t mix = static_cast<uint64_t>(now) ^ rotl(static_cast<uint64_t>(wall), 21) ^
                 rotl(static_cast<uint64_t>(getpid()), 42) ^
                 static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this));
  seed_from(mix);
}

RequestIdGenerator::RequestIdGenerator(uint64_t seed) { seed_from(seed); }

// splitmix64 never yields four zero words in a row, so the state is valid.
void RequestIdGenerator::seed_from(uint64_t seed) {
  for (uint64_t& w : s_) w = splitmix64(seed);
}

uint64_t RequestIdGenerator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void RequestIdGenerator::fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t r = next_u64();
    const size_t n = std::min<size_t>(8, out.size() - i);
    std::memcpy(out.data() + i, &r, n);
    i += n;
  }
}

std::string_view RequestIdGenerator::next_id(std::span<char, kRequestIdLength> out) {
  uint8_t bytes[kRequestIdLength / 2];
  fill(bytes);
  hex_encode(bytes, out.data());
  return {out.data(), out.size()};
}

}  // namespace ringshard::http
