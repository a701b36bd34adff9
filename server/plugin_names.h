// server/plugin_names.h: what a plugin name is, shared by the options
// (--plugin, [plugins.NAME]) and the plugin host (a descriptor's name).
//
// A name is 1..64 of [a-z0-9_-] (plugin.h: it names the [plugins.NAME]
// section, a file NAME.so and metric labels). A plugin reference, as
// --plugin takes it, is a name, or a path to a shared object when it holds
// a '/'. Pure functions, any thread.
#pragma once

#include <string_view>

namespace ringshard::server {

inline constexpr size_t kMaxPluginName = 64;

inline bool is_valid_plugin_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxPluginName) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

inline bool is_plugin_path(std::string_view ref) {
  return ref.find('/') != std::string_view::npos;
}

}  // namespace ringshard::server
