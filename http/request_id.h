// http/request_id.h: request ids. Checks an id a client sent (X-Request-Id)
// and makes new ones from a per-shard pseudo-random generator.
//
//   RequestIdGenerator gen;                        // one per shard
//   char buf[kRequestIdLength];
//   std::string_view id = valid_request_id(incoming) ? incoming
//                                                     : gen.next_id(buf);
//
// valid_request_id is pure: no allocation, any thread.
//
// RequestIdGenerator is xoshiro256** (Blackman and Vigna), seeded from
// getrandom() once, at construction; after that an id costs no syscall and
// no allocation. It is a fast generator, not a cryptographic one: ids are
// unique with overwhelming probability and unpredictable to a casual
// observer, but someone who sees enough output could predict more. Never
// use them as secrets (session tokens, CSRF tokens). Ids from different
// shards collide only with the probability of two random 128-bit values.
//
// Thread: a generator belongs to one shard; it is not thread-safe and must
// not be shared. Copying is deleted so two shards cannot end up with the
// same sequence by accident. The constructor may block briefly at early
// boot until the kernel's entropy pool is ready (getrandom's contract); if
// getrandom fails it falls back to mixing the clock, the pid and an
// address, and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringshard::http {

inline constexpr size_t kRequestIdMaxLength = 200;
inline constexpr size_t kRequestIdLength = 32;  // what next_id() writes

// True when `id` has 1 to kRequestIdMaxLength characters, all from
// [A-Za-z0-9._~+/=-] (base64, base64url and UUID text fit). Anything else
// (empty, too long, spaces, quotes, control bytes, obs-text) is refused, so
// an accepted id can go into a header or a log line as it is.
bool valid_request_id(std::string_view id);

class RequestIdGenerator {
 public:
  // Seeds from getrandom().
  RequestIdGenerator();
  // Deterministic sequence, for tests and benchmarks: the 256-bit state is
  // expanded from `seed` with splitmix64.
  explicit RequestIdGenerator(uint64_t seed);

  RequestIdGenerator(const RequestIdGenerator&) = delete;
  RequestIdGenerator& operator=(const RequestIdGenerator&) = delete;

  // The next 64 pseudo-random bits.
  uint64_t next_u64();

  // Fills `out` with pseudo-random bytes.
  void fill(std::span<uint8_t> out);

  // Writes 128 random bits as 32 lowercase hex digits into `out` and
  // returns a view of them (valid as long as `out` is).
  std::string_view next_id(std::span<char, kRequestIdLength> out);

 private:
  void seed_from(uint64_t seed);

  uint64_t s_[4];
};

// Writes the 2 * in.size() lowercase hex digits of `in` to `out`
// (out.size() >= 2 * in.size()). Shared with trace_context.
void hex_encode(std::span<const uint8_t> in, char* out);

}  // namespace ringshard::http
