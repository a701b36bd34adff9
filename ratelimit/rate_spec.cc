#include "ratelimit/rate_spec.h"

#include <netinet/in.h>

#include <cstring>

namespace ringshard::ratelimit {

namespace {

std::string quoted(std::string_view text) {
  // Error messages echo the text; cap it so a huge value stays readable.
  constexpr size_t kShown = 64;
  std::string s = "\"";
  s.append(text.substr(0, kShown));
  if (text.size() > kShown) s.append("...");
  s.push_back('"');
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_tchar(char c) {
  return is_digit(c) || is_alpha(c) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// Digits only, no leading zero, value in [1, max]; nullopt otherwise.
std::optional<uint64_t> parse_positive(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

template <class T>
Parsed<T> fail(std::string message) {
  return Parsed<T>{std::nullopt, std::move(message)};
}

// Clears the bits of bytes[0..n) past the first `prefix` bits.
void mask_prefix(unsigned char* bytes, size_t n, unsigned prefix) {
  for (size_t i = 0; i < n; ++i) {
    const unsigned bit = static_cast<unsigned>(i) * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - bit < 8) {
      bytes[i] &= static_cast<unsigned char>(0xff00u >> (prefix - bit));
    }
  }
}

}  // namespace

Parsed<RateSpec> parse_rate(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 2 != text.size()) {
    return fail<RateSpec>("rate " + quoted(text) + ": expected N/s, N/m or N/h");
  }
  const auto count = parse_positive(text.substr(0, slash), kMaxRateCount);
  if (!count) {
    return fail<RateSpec>("rate " + quoted(text) +
                          ": N must be an integer from 1 to 1000000000 without sign, "
                          "spaces or leading zeros");
  }
  uint64_t period_ns = 0;
  switch (text[slash + 1]) {
    case 's': period_ns = kNsPerSecond; break;
    case 'm': period_ns = 60 * kNsPerSecond; break;
    case 'h': period_ns = 3600 * kNsPerSecond; break;
    default:
      return fail<RateSpec>("rate " + quoted(text) + ": the unit must be s, m or h");
  }
  return Parsed<RateSpec>{RateSpec{*count, period_ns}, {}};
}

Parsed<Limit> limit_from(const RateSpec& rate, uint64_t burst) {
  if (burst == 0 || burst > kMaxBurst) {
    return fail<Limit>("burst " + std::to_string(burst) + ": must be from 1 to 1000000000");
  }
  auto limit = make_limit(rate.count, rate.period_ns, burst);
  if (!limit) {
    return fail<Limit>("burst " + std::to_string(burst) +
                       ": refilling it takes longer than 52 days at this rate");
  }
  return Parsed<Limit>{*limit, {}};
}

Parsed<KeySpec> parse_key_spec(std::string_view text) {
  KeySpec spec;
  if (text == "bearer") {
    spec.kind = KeyKind::kBearer;
    return Parsed<KeySpec>{std::move(spec), {}};
  }
  if (text == "api_key") {
    spec.kind = KeyKind::kApiKey;
    return Parsed<KeySpec>{std::move(spec), {}};
  }
  if (text.starts_with("header:")) {
    const std::string_view name = text.substr(7);
    if (name.empty() || name.size() > kMaxHeaderNameLength) {
      return fail<KeySpec>("key " + quoted(text) + ": the header name must be 1 to 64 characters");
    }
    for (char c : name) {
      if (!is_tchar(c)) {
        return fail<KeySpec>("key " + quoted(text) +
                             ": the header name must be a token (letters, digits, !#$%&'*+-.^_`|~)");
      }
    }
    spec.kind = KeyKind::kHeader;
    spec.header.reserve(name.size());
    for (char c : name) spec.header.push_back((c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c);
    return Parsed<KeySpec>{std::move(spec), {}};
  }
  if (text == "ip") return Parsed<KeySpec>{std::move(spec), {}};
  if (text.starts_with("ip/")) {
    std::string_view rest = text.substr(3);
    const size_t slash = rest.find('/');
    const auto v4 = parse_positive(rest.substr(0, slash), 32);
    if (!v4) {
      return fail<KeySpec>("key " + quoted(text) + ": the IPv4 prefix must be from 1 to 32");
    }
    spec.v4_prefix = static_cast<uint8_t>(*v4);
    if (slash != std::string_view::npos) {
      const auto v6 = parse_positive(rest.substr(slash + 1), 128);
      if (!v6) {
        return fail<KeySpec>("key " + quoted(text) + ": the IPv6 prefix must be from 1 to 128");
      }
      spec.v6_prefix = static_cast<uint8_t>(*v6);
    }
    return Parsed<KeySpec>{std::move(spec), {}};
  }
  return fail<KeySpec>("key " + quoted(text) +
                       ": expected ip, ip/N, ip/N/M, header:NAME, bearer or api_key");
}

bool ip_key(const sockaddr* addr, socklen_t len, uint8_t v4_prefix, uint8_t v6_prefix,
            IpKey* out) {
  unsigned char a[16];
  size_t n = 0;
  unsigned prefix = 0;
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    std::memcpy(a, &in.sin_addr, 4);
    n = 4;
  } else if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof in6);
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(&in6.sin6_addr, kMapped, 12) == 0) {
      std::memcpy(a, reinterpret_cast<const unsigned char*>(&in6.sin6_addr) + 12, 4);
      n = 4;
    } else {
      std::memcpy(a, &in6.sin6_addr, 16);
      n = 16;
    }
  } else {
    return false;
  }
  prefix = n == 4 ? std::min<unsigned>(v4_prefix, 32) : std::min<unsigned>(v6_prefix, 128);
  mask_prefix(a, n, prefix);
  out->bytes[0] = n == 4 ? 4 : 6;
  out->bytes[1] = static_cast<char>(prefix);
  std::memcpy(out->bytes.data() + 2, a, n);
  out->size = static_cast<uint8_t>(2 + n);
  return true;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  size_t i = kScheme.size();
  if (authorization[i] != ' ') return {};
  while (i < authorization.size() && authorization[i] == ' ') ++i;
  std::string_view token = authorization.substr(i);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  size_t k = 0;
  while (k < token.size() && (is_alpha(token[k]) || is_digit(token[k]) ||
                              (token[k] != '\0' && std::strchr("-._~+/", token[k]) != nullptr))) {
    ++k;
  }
  if (k == 0) return {};
  while (k < token.size() && token[k] == '=') ++k;
  return k == token.size() ? token : std::string_view{};
}

}  // namespace ringshard::ratelimit
