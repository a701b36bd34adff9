// server/builtin_plugins.h: the plugins linked into the binary, found by
// name before any .so (server/plugin_loader.h). Each is an ordinary plugin
// whose entry point RINGSHARD_PLUGIN_AS defined under a private name; the
// build decides which are linked (plugins/hello: when its source is in
// the tree).
//
// Constant data: any thread.
#pragma once

#include <span>
#include <string_view>

#include "ringshard/plugin.h"

namespace ringshard::server {

struct BuiltinPlugin {
  std::string_view name;
  rs_plugin_entry_fn entry;
};

std::span<const BuiltinPlugin> builtin_plugins();

}  // namespace ringshard::server
