// tests/plugins/bad.cc: plugins that are broken in one way each, written
// against the raw C ABI (ringshard/plugin.h only), one variant per build
// (RS_TEST_BAD_<VARIANT>, see CMakeLists.txt). Each must make the server
// refuse to start with exit 78 and a message naming it.
#include <cstdio>
#include <cstring>

#include "ringshard/plugin.h"

namespace {

[[maybe_unused]] int handler(void*, rs_request*, rs_response*) { return 0; }

int validate(const rs_host_api* api, const rs_config* cfg, char* error, size_t size) {
#ifdef RS_TEST_BAD_VALIDATE_FAILS
  int refuse = 0;
  if (api->config_bool(cfg, "refuse", &refuse) == 1 && refuse) {
    std::snprintf(error, size, "refuse is set: this section is refused");
    return 1;
  }
#else
  (void)api;
  (void)cfg;
  (void)error;
  (void)size;
#endif
  return 0;
}

int init(rs_host* host, const rs_host_api* api, const rs_config*, void** state, char* error,
         size_t size) {
  *state = nullptr;
#ifdef RS_TEST_BAD_INIT_FAILS
  (void)host;
  (void)api;
  std::snprintf(error, size, "the database is on fire");
  return 3;
#elif defined(RS_TEST_BAD_BAD_ROUTE)
  (void)error;
  (void)size;
  // The router refuses it; init() ignores the -1, the host does not.
  api->add_route(host, "GET", "no-leading-slash", &handler, nullptr, nullptr);
  return 0;
#else
  (void)error;
  (void)size;
  rs_route_options o{};
  o.struct_size = sizeof o;
  return api->add_route(host, "GET", "/bad/ok", &handler, nullptr, &o);
#endif
}

const rs_plugin_v1 kDescriptor = {
#ifdef RS_TEST_BAD_SMALL_STRUCT
    offsetof(rs_plugin_v1, shard_start),
#else
    sizeof(rs_plugin_v1),
#endif
#ifdef RS_TEST_BAD_ABI999
    999,
#else
    RS_PLUGIN_ABI_VERSION,
#endif
#ifdef RS_TEST_BAD_BAD_NAME
    "Bad Name",
#elif defined(RS_TEST_BAD_VALIDATE_FAILS)
    "validating",
#else
    "bad",
#endif
    "0.0.1",
    &validate,
    &init,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

#ifdef RS_TEST_BAD_NO_SYMBOL
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return kDescriptor.abi_version; }
#else
extern "C" __attribute__((visibility("default"))) const rs_plugin_v1* ringshard_plugin_v1(
    uint32_t) {
#ifdef RS_TEST_BAD_NULL_ENTRY
  (void)kDescriptor;  // built, never handed out
  return nullptr;
#else
  return &kDescriptor;
#endif
}
#endif
