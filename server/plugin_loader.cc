#include "server/plugin_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>

#include "server/builtin_plugins.h"
#include "server/plugin_names.h"

namespace ringshard::server {

namespace {

bool is_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Calls the entry point; a C++ plugin's entry could throw (a static
// initialiser): that is a refusal too, not a crash.
const rs_plugin_v1* call_entry(rs_plugin_entry_fn entry, std::string& thrown) {
  try {
    return entry(RS_PLUGIN_ABI_VERSION);
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "unknown exception";
  }
  return nullptr;
}

// Checks the descriptor of `ref` (found at `origin`); `expected_name` is
// set for a plugin found by name.
bool check_descriptor(const rs_plugin_v1* d, std::string_view ref, const std::string& origin,
                      std::string_view expected_name, const std::string& thrown,
                      std::string& error) {
  const std::string who = "plugin '" + std::string(ref) + "' (" + origin + ")";
  if (d == nullptr) {
    error = who + ": " RS_PLUGIN_ENTRY "() returned NULL" +
            (thrown.empty() ? std::string(": the plugin refuses ABI version ") +
                                  std::to_string(RS_PLUGIN_ABI_VERSION)
                            : ": it threw: " + thrown);
    return false;
  }
  if (d->abi_version != RS_PLUGIN_ABI_VERSION) {
    error = who + ": built for plugin ABI version " + std::to_string(d->abi_version) +
            ", this server speaks version " + std::to_string(RS_PLUGIN_ABI_VERSION) +
            "; rebuild it against this server's ringshard/plugin.h";
    return false;
  }
  if (d->struct_size < RS_PLUGIN_V1_MIN_SIZE) {
    error = who + ": its descriptor has " + std::to_string(d->struct_size) +
            " bytes, this server needs " + std::to_string(RS_PLUGIN_V1_MIN_SIZE) +
            " (built against an older ringshard/plugin.h); rebuild it";
    return false;
  }
  const std::string_view name = d->name != nullptr ? std::string_view(d->name) : "";
  if (!is_valid_plugin_name(name)) {
    error = who + ": invalid plugin name '" + std::string(name.substr(0, 80)) +
            "' (1..64 of a-z, 0-9, '_' and '-')";
    return false;
  }
  if (!expected_name.empty() && name != expected_name) {
    error = who + ": it calls itself '" + std::string(name) + "', not '" +
            std::string(expected_name) + "'";
    return false;
  }
  if (d->init == nullptr) {
    error = who + ": its descriptor has no init()";
    return false;
  }
  return true;
}

std::optional<LoadedPlugin> open_file(std::string_view ref, const std::string& path,
                                      std::string_view expected_name, std::string& error) {
  const std::string who = "plugin '" + std::string(ref) + "'";
  if (!is_file(path)) {
    error = who + ": " + path + ": no such file";
    return std::nullopt;
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    error = who + ": cannot load " + path + ": " + (why != nullptr ? why : "dlopen failed");
    return std::nullopt;
  }
  ::dlerror();
  auto entry = reinterpret_cast<rs_plugin_entry_fn>(::dlsym(handle, RS_PLUGIN_ENTRY));
  if (entry == nullptr) {
    error = who + " (" + path + "): no " RS_PLUGIN_ENTRY
            " symbol: not a ringshard plugin (RINGSHARD_PLUGIN defines it)";
    ::dlclose(handle);
    return std::nullopt;
  }
  std::string thrown;
  const rs_plugin_v1* d = call_entry(entry, thrown);
  if (!check_descriptor(d, ref, path, expected_name, thrown, error)) {
    ::dlclose(handle);
    return std::nullopt;
  }
  return LoadedPlugin{handle, d, path};
}

}  // namespace

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash == 0 ? 1 : slash);
}

std::optional<LoadedPlugin> load_plugin(std::string_view ref, std::string& error) {
  if (is_plugin_path(ref)) return open_file(ref, std::string(ref), "", error);
  if (!is_valid_plugin_name(ref)) {
    error = "plugin '" + std::string(ref.substr(0, 80)) +
            "': not a plugin name (1..64 of a-z, 0-9, '_' and '-') nor a path (with a '/')";
    return std::nullopt;
  }
  for (const BuiltinPlugin& b : builtin_plugins()) {
    if (b.name != ref) continue;
    std::string thrown;
    const rs_plugin_v1* d = call_entry(b.entry, thrown);
    if (!check_descriptor(d, ref, "built-in", ref, thrown, error)) return std::nullopt;
    return LoadedPlugin{nullptr, d, "built-in"};
  }
  const std::string dir = executable_dir();
  const std::string file = std::string(ref) + ".so";
  const std::string beside = dir + "/plugins/" + file;
  const std::string installed = dir + "/../lib/ringshard/plugins/" + file;
  for (const std::string& path : {beside, installed}) {
    if (is_file(path)) return open_file(ref, path, ref, error);
  }
  error = "plugin '" + std::string(ref) + "': not found (not built in, no " + beside + ", no " +
          installed + "); pass a path with --plugin, or --no-plugins to run without it";
  return std::nullopt;
}

void unload_plugin(LoadedPlugin& plugin) {
  if (plugin.handle != nullptr) ::dlclose(plugin.handle);
  plugin.handle = nullptr;
  plugin.desc = nullptr;
}

}  // namespace ringshard::server
