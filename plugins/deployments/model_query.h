// plugins/deployments/model_query.h: the query strings of the deployment
// API's GET routes, and the percent-decoding under them.
//
//   ListQuery q;
//   ApiError err;
//   if (!parse_list_query(req.query(), q, err)) return refuse(err);   // 400
//
// Common rules (every parse_*_query):
//  - `query` is what follows '?' (a leading '?' is skipped); at most
//    kMaxQueryBytes, else 400 reason "query string too long".
//  - Split on '&'; empty pieces ("a=1&&b=2", a trailing '&') are skipped. A
//    piece without '=' has an empty value. Names and values are
//    percent-decoded ('+' is a space); a bad escape ("%4", "%zz") is 400
//    field <name> reason "invalid percent-encoding".
//  - A name the route does not know: 400 field <name> (clipped) reason
//    "unknown parameter"; a name given twice: reason "duplicate parameter".
//  - Errors are code "invalid_request", status 400, details.field the
//    parameter's name.
//
// Route by route (reasons in quotes):
//   list   limit   1..1000, digits only, default 100     "must be an integer between 1 and 1000"
//          cursor  from next_cursor (cursor.h); empty = first page   "is not a valid cursor"
//          status  a status name (deployment.h)           "must be one of pending, running, ..."
//   wait   status  required                               "is required" / "must be one of ..."
//          timeout "500ms", "30s", "2m" or bare seconds ("30"); 1 ms..300 s, default 30 s
//                  "must be a duration such as 30s, 500ms or 2m" / "must be between 1ms and 300s"
//   stream deployment_id  a deployment id (model_id.h)    "must be a deployment id"
//          since          an event seq, 0..2^64-1         "must be a non-negative integer"
//          access_token   the bearer token (browsers cannot set headers on a
//                         WebSocket); not checked here, only carried
//
// Pure; any thread; allocates the decoded strings it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/deployments/deployment.h"
#include "plugins/deployments/model_error.h"

namespace ringshard::deployments {

inline constexpr size_t kMaxQueryBytes = 4096;
inline constexpr uint32_t kDefaultListLimit = 100;
inline constexpr uint32_t kMaxListLimit = 1000;
inline constexpr uint32_t kDefaultWaitMs = 30'000;
inline constexpr uint32_t kMaxWaitMs = 300'000;

// Percent-decodes `in` into `out` (replacing it); '+' becomes ' ' when
// `plus_is_space`. False on a '%' not followed by two hex digits. The
// result may be any bytes (it is not checked for UTF-8).
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = true);

// The decoded value of the first parameter called `name` (names compared
// after decoding); nullopt when absent or not decodable.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

struct ListQuery {
  uint32_t limit = kDefaultListLimit;
  int64_t after_position = 0;  // from the cursor; 0: from the start
  std::optional<Status> status;
};
bool parse_list_query(std::string_view query, ListQuery& out, ApiError& err);

struct WaitQuery {
  Status status = Status::kPending;
  uint32_t timeout_ms = kDefaultWaitMs;
};
bool parse_wait_query(std::string_view query, WaitQuery& out, ApiError& err);

struct StreamQuery {
  std::optional<std::string> deployment_id;  // only this deployment's events
  std::optional<uint64_t> since;             // events with seq > since (replayed first)
  std::string access_token;                  // empty: none given
};
bool parse_stream_query(std::string_view query, StreamQuery& out, ApiError& err);

// "500ms", "30s", "2m", "30" (seconds) to milliseconds; nullopt when not
// of that form (digits, at most 9, then an optional unit) or zero.
std::optional<uint64_t> parse_duration_ms(std::string_view text);

}  // namespace ringshard::deployments
