// server/plugin_loader.h: finding and opening one plugin, and checking its
// descriptor.
//
//   std::string error;
//   auto lib = load_plugin("hello", error);      // or "./build/plugins/x.so"
//   if (!lib) { log(error); exit(78); }          // the message names the plugin
//   ... lib->desc->init(...) ...
//   unload_plugin(*lib);                          // dlclose, last
//
// A reference with a '/' is a path, opened as given. A name is looked up
// (server/plugin_names.h): a built-in plugin (server/builtin_plugins.h),
// then <directory of /proc/self/exe>/plugins/NAME.so (the build tree:
// build/ringshard beside build/plugins/), then <exe dir>/../lib/ringshard/
// plugins/NAME.so (the installed tree); a plugin found by name must call
// itself that name. Shared objects are opened with RTLD_NOW | RTLD_LOCAL
// (every symbol resolved now, none exported to other plugins) and must
// export ringshard_plugin_v1, which is called with RS_PLUGIN_ABI_VERSION.
//
// The descriptor must be non-null, of this ABI version, at least as large
// as this host's rs_plugin_v1, with a valid name and an init(). Every
// failure is a one-line message naming the plugin (its reference, and its
// name once known): not found, cannot load (dlerror), no entry point,
// refused this ABI, wrong ABI or size, bad name.
//
// Control plane only: dlopen may run the plugin's static constructors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ringshard/plugin.h"

namespace ringshard::server {

struct LoadedPlugin {
  void* handle = nullptr;  // dlopen's; null for a built-in plugin
  const rs_plugin_v1* desc = nullptr;
  std::string origin;      // "built-in" or the file's path
};

std::optional<LoadedPlugin> load_plugin(std::string_view ref, std::string& error);

// dlclose (nothing for a built-in plugin).
void unload_plugin(LoadedPlugin& plugin);

// The directory of /proc/self/exe ("" when it cannot be read).
std::string executable_dir();

}  // namespace ringshard::server
