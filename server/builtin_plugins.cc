#include "server/builtin_plugins.h"

#ifdef RINGSHARD_BUILTIN_HELLO
// plugins/hello, built into the binary as well as into build/plugins/hello.so.
extern "C" const rs_plugin_v1* ringshard_builtin_hello(uint32_t host_abi_version);
#endif

namespace ringshard::server {

namespace {

// A sentinel at the end, so that the array is never empty.
constexpr BuiltinPlugin kBuiltins[] = {
#ifdef RINGSHARD_BUILTIN_HELLO
    {"hello", &ringshard_builtin_hello},
#endif
    {"", nullptr},
};

}  // namespace

std::span<const BuiltinPlugin> builtin_plugins() {
  return std::span<const BuiltinPlugin>(kBuiltins, std::size(kBuiltins) - 1);
}

}  // namespace ringshard::server
