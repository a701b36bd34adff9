// server/options_records.h: the arrays of tables of the configuration,
// internal to server/options*.cc.
//
// Each is a Records (options_table.h): the keys of one element, how a flag
// writes one element, and the checks that make an element valid:
//
//   [[auth.token]], [[auth.api_key]]   name, sha256, scopes
//       --auth-token / --auth-api-key NAME:SHA256HEX[:SCOPE,SCOPE...]
//   [[auth.rule]]                      match, methods, scope
//       --auth-rule PREFIX[:METHODS[:SCOPE]]   (METHODS "GET,POST" or "*")
//   [[rate_limit]]                     name, match, key, burst, rate
//       --rate-limit "name=api,match=/v1/,key=ip,burst=100,rate=10/s"
//   [[upstream]] (options_proxy.cc)    name, backends, balance, ..., pool.*, health.*, ...
//       --upstream NAME=HOST:PORT[,HOST:PORT...]   (merges by name)
//   [[route]] (options_proxy.cc)       prefix, host, methods, upstream, ...
//       --route PREFIX=UPSTREAM                    (merges by prefix)
//
// Constant data and pure functions: any thread may use them.
#pragma once

#include "server/options_table.h"

namespace ringshard::server::options_detail {

extern const Records kAuthTokenRecords;
extern const Records kAuthApiKeyRecords;
extern const Records kAuthRuleRecords;
extern const Records kRateLimitRecords;
extern const Records kUpstreamRecords;
extern const Records kRouteRecords;

}  // namespace ringshard::server::options_detail
