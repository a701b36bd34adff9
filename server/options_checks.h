// server/options_checks.h: checks across settings, internal to
// server/options*.cc.
//
// These depend on two settings at once, so they run once everything that
// can set them has been applied: the TOML reader runs them over its
// document, parse_options again after the flags, which may repair what the
// file broke. Each caller words the error for whoever set the offending
// value (a flag or a file:line:column), so these return only the problem.
// Pure functions; they allocate only the strings they return.
#pragma once

#include <optional>
#include <string>

#include "server/options.h"

namespace ringshard::server::options_detail {

// What the TLS listener's address collides with ("tls listen address X is
// the same as listen", "... overlaps listen (Y)"), or nothing.
std::optional<std::string> tls_listen_conflict(const Options& o);

// What the admin listener's address collides with: listen, or else tls
// listen ("admin listen address X overlaps tls listen (Y)").
struct AdminConflict {
  std::string message;
  bool with_tls = false;  // the other side is tls listen, not listen
};
std::optional<AdminConflict> admin_listen_conflict(const Options& o);

// "(2 certificates, 1 key)" when the lists differ in length, or nothing.
std::optional<std::string> tls_pair_counts(const Options& o);

// The proxy's lists as a whole (proxy::validate_proxy_config): a route
// naming no upstream, "[[route]] 2: upstream: no upstream is named 'x'".
// Defined in options_proxy.cc.
std::optional<std::string> proxy_routes_problem(const Options& o);

}  // namespace ringshard::server::options_detail
