// server/plugin_config.h: rs_config, a plugin's [plugins.NAME] section as
// include/ringshard/plugin.h lets the plugin read it.
//
//   std::string error;
//   PluginConfigPtr cfg = make_plugin_config("hello", section, error);  // section may be null
//   rs_str greeting;
//   if (plugin_config_string(cfg.get(), "greeting", &greeting) == 1) ...
//
// Keys are dotted paths into the section ("executor.delay_ms"); a getter
// returns 1 and sets *out when the key exists with that type, 0 when it is
// absent, -1 when it is present with another type (an integer also reads
// as a double). plugin_config_key() walks the keys of a table in sorted
// order. Views point into the rs_config and stay valid while it lives.
//
// Built on the control plane (make_plugin_config parses the section's
// TOML text, allocates and may throw std::bad_alloc); the getters allocate
// nothing and any thread may call them concurrently (the section is
// immutable once built).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ringshard/plugin.h"
#include "server/options.h"

namespace ringshard::server {

struct PluginConfigDeleter {
  void operator()(rs_config* c) const;
};
using PluginConfigPtr = std::unique_ptr<rs_config, PluginConfigDeleter>;

// The section of plugin `name` (`section` null: an empty one). Null, with
// `error` set, when the text does not parse as that section (the options
// reader wrote it, so only a hand-built Options can get there).
PluginConfigPtr make_plugin_config(std::string_view name, const PluginSection* section,
                                   std::string& error);

// The rs_host_api members of the same names (see plugin.h).
int plugin_config_string(const rs_config* c, const char* key, rs_str* out);
int plugin_config_int(const rs_config* c, const char* key, int64_t* out);
int plugin_config_double(const rs_config* c, const char* key, double* out);
int plugin_config_bool(const rs_config* c, const char* key, int* out);
int plugin_config_key(const rs_config* c, const char* table, size_t i, rs_str* out);

}  // namespace ringshard::server
