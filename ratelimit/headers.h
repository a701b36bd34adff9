// ratelimit/headers.h: response header values for a rate-limit decision.
//
// Field                 value                       from
// X-RateLimit-Limit     B                           Decision::limit
// X-RateLimit-Remaining r                           Decision::remaining
// X-RateLimit-Reset     seconds until full, rounded up (0 when full)
// RateLimit-Policy      "NAME";q=B;w=W              W = B*T in seconds, rounded up, >= 1
// RateLimit             "NAME";r=R;t=S              admitted: S = X-RateLimit-Reset;
//                                                   refused: S = Retry-After
// Retry-After           seconds until one request is admitted, rounded up, >= 1
//                       (refusals only)
//
// RateLimit-Policy and RateLimit follow draft-ietf-httpapi-ratelimit-headers-11
// (23 May 2026): both are Structured Field Lists whose items are Strings
// (the policy name) with Integer parameters q (quota) and w (window, seconds)
// for the policy, r (available quota) and t (effective window, seconds) for
// the current limit. On a refusal t equals Retry-After, because the draft
// says Retry-After should not point earlier than the end of the effective
// window; within t seconds no more than r = 0 requests are admitted, exact.
//
// Policy names are sf-strings restricted to printable ASCII without '"' and
// '\' (check with is_valid_policy_name() when loading the config), so no
// escaping happens on the request path.
//
// Threads: pure functions. The format_* functions write into a caller's
// buffer and return a view of it (valid while the buffer is), or an empty
// view when the buffer is too small (kMaxValueSize always suffices for a
// valid policy name). append_headers() appends to a std::string and
// allocates only if it grows.
//
// Example:
//   char buf[kMaxValueSize];
//   response.add("RateLimit", format_ratelimit("api", d, buf));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ratelimit/decision.h"
#include "ratelimit/gcra.h"

namespace ringshard::ratelimit {

inline constexpr size_t kMaxPolicyNameLength = 64;
inline constexpr size_t kMaxValueSize = 128;

bool is_valid_policy_name(std::string_view name);

// Seconds for header values: rounded up.
inline uint64_t ceil_seconds(uint64_t ns) { return ns / kNsPerSecond + (ns % kNsPerSecond != 0); }

std::string_view format_limit(const Decision& d, std::span<char> buf);        // X-RateLimit-Limit
std::string_view format_remaining(const Decision& d, std::span<char> buf);    // X-RateLimit-Remaining
std::string_view format_reset(const Decision& d, std::span<char> buf);        // X-RateLimit-Reset
std::string_view format_retry_after(const Decision& d, std::span<char> buf);  // Retry-After
std::string_view format_policy(std::string_view name, const Limit& limit,
                               std::span<char> buf);                          // RateLimit-Policy
std::string_view format_ratelimit(std::string_view name, const Decision& d,
                                  std::span<char> buf);                       // RateLimit

// All of the above as "Name: value\r\n" lines, Retry-After only on a refusal.
void append_headers(std::string_view name, const Limit& limit, const Decision& d,
                    std::string& out);

}  // namespace ringshard::ratelimit
