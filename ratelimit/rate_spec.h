// ratelimit/rate_spec.h: the rate-limit words of the configuration file.
//
//   rate  "N/s" | "N/m" | "N/h"    N requests per second, minute or hour;
//                                  N an integer 1..1,000,000,000, digits
//                                  only, no sign, no leading zero, no spaces.
//   key   "ip"          the client address: IPv4 /32, IPv6 /64
//         "ip/N"        IPv4 prefix /N (N 1..32); IPv6 stays /64, because
//                       one IPv6 client usually owns a whole /64
//         "ip/N/M"      IPv4 /N and IPv6 /M (M 1..128), for anyone who
//                       wants v6 prefixes other than /64
//         "header:NAME" the value of request header NAME (an RFC 9110 token,
//                       1..64 characters; stored lowercased)
//         "bearer"      the token of "Authorization: Bearer <token>"
//         "api_key"     the value of the X-API-Key request header
//
// Parsers return a value or an error message that names the offending text;
// the config loader prefixes file:line. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is an IPv4 client everywhere here.
//
// Threads: pure functions. Parsers allocate only their result (KeySpec's
// header name and error strings, configuration time); ip_key() and
// bearer_token() allocate nothing and are meant for the request path.
//
// Example:
//   auto rate = parse_rate("10/s");          // rate.value->count == 10
//   auto key = parse_key_spec("ip/24");      // key.value->v4_prefix == 24
//   auto limit = limit_from(*rate.value, 100);
//   IpKey k;
//   if (ip_key(peer_addr, peer_len, *key.value, &k)) table.decide(k.view(), ...);
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ratelimit/gcra.h"

namespace ringshard::ratelimit {

inline constexpr uint64_t kMaxRateCount = 1'000'000'000;
inline constexpr size_t kMaxHeaderNameLength = 64;

template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // empty when value is set
  bool ok() const { return value.has_value(); }
};

struct RateSpec {
  uint64_t count = 0;
  uint64_t period_ns = 0;  // 1 s, 60 s or 3600 s
};

Parsed<RateSpec> parse_rate(std::string_view text);

// The Limit for `rate` with bursts of `burst` (a config's "burst = 100").
Parsed<Limit> limit_from(const RateSpec& rate, uint64_t burst);

enum class KeyKind { kIp, kHeader, kBearer, kApiKey };

struct KeySpec {
  KeyKind kind = KeyKind::kIp;
  uint8_t v4_prefix = 32;
  uint8_t v6_prefix = 64;
  std::string header;  // kHeader: the lowercased name
};

Parsed<KeySpec> parse_key_spec(std::string_view text);

// Key bytes for a client address: family (4 or 6), prefix length, then the
// address with the bits past the prefix cleared (4 or 16 bytes).
struct IpKey {
  std::array<char, 18> bytes{};
  uint8_t size = 0;
  std::string_view view() const { return {bytes.data(), size}; }
};

// False for families other than AF_INET/AF_INET6 or a short `len`.
// Prefixes are clamped to 32 / 128.
bool ip_key(const sockaddr* addr, socklen_t len, uint8_t v4_prefix, uint8_t v6_prefix,
            IpKey* out);
inline bool ip_key(const sockaddr* addr, socklen_t len, const KeySpec& spec, IpKey* out) {
  return ip_key(addr, len, spec.v4_prefix, spec.v6_prefix, out);
}

// The token of an Authorization value "Bearer <token>" (scheme matched
// case-insensitively, token68 syntax); empty when it is not one. A view
// into `authorization`.
std::string_view bearer_token(std::string_view authorization);

}  // namespace ringshard::ratelimit
