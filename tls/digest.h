// tls/digest.h: SHA-256 and a constant-time comparison, for code that must
// hash or compare secrets (http/auth.h hashes presented API keys and bearer
// tokens and compares them with the stored hashes).
//
// The only piece of tls/ that layers above it may use: it names no BoringSSL
// type and knows nothing of connections (docs/architecture.md). Pure
// functions: no allocation, no state, any thread.
//
//   tls::Sha256 h = tls::sha256(token);
//   bool same = tls::constant_time_equal(h.data(), stored.data(), h.size());
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringshard::tls {

inline constexpr size_t kSha256Size = 32;
using Sha256 = std::array<uint8_t, kSha256Size>;

// The SHA-256 digest (FIPS 180-4) of `data`.
Sha256 sha256(std::string_view data);

// The digest as 64 lowercase hex digits (configuration files, logs, tests).
// Allocates the returned string.
std::string sha256_hex(std::string_view data);

// True when a[0..n) equals b[0..n). Takes the same time for every pair of
// inputs of length n (CRYPTO_memcmp): it never stops at the first
// difference, so the time does not tell how much of a secret matched.
bool constant_time_equal(const uint8_t* a, const uint8_t* b, size_t n);

}  // namespace ringshard::tls
