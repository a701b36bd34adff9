// server/options_toml.h: reading a TOML config document into Options,
// internal to server/options*.cc (the public entry is apply_config_text()
// in server/options.h).
//
// The reader is driven by the settings table (options_table.h): a root key
// must name a section of sections(), its value must be a table (or, for a
// section of shape kArrayOfTables, an array of tables), and every key in it
// must be a row of settings() for that section or name a nested section
// ("token" in [auth] is [[auth.token]]); an element of an array of tables
// has exactly the keys of its Records. Anything else is an error at the
// key's file:line:column that says where the key belongs, if anywhere. A
// new key or section is a table row, not reader code.
//
// Control plane only: allocates, and may throw std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/options.h"

namespace ringshard::server::options_detail {

// A document's cross-setting errors (options_checks.h), each already worded
// with its file:line:column, when the document set a setting involved.
struct CrossErrors {
  std::optional<std::string> head_target;
  std::optional<std::string> tls_listen;
  std::optional<std::string> tls_pairs;
  std::optional<std::string> admin_listen;
  std::optional<std::string> proxy_routes;
};

// apply_config_text(), with the checks across settings optionally handed
// back in `deferred` instead of failing (parse_options runs them after the
// flags, which may fix them). On error `into` is unchanged.
std::optional<OptionsError> apply_config(std::string_view text, std::string_view origin,
                                         Options& into, CrossErrors* deferred);

// Reads a config file of at most 1 MiB into `contents`; returns what went
// wrong (strerror text, "larger than 1MiB"), or nothing.
std::optional<std::string> read_config_file(const std::string& path, std::string& contents);

}  // namespace ringshard::server::options_detail
