// sdk/glue.cc: PluginGlue, between the rs_plugin_v1 descriptor that
// RINGSHARD_PLUGIN defines and a ringshard::plugin::Plugin subclass.
//
// Every entry catches whatever the plugin throws: an exception must never
// unwind into the host through the C ABI. validate() and init() turn it
// into their error return with the message in the host's buffer; the
// shard hooks report it (api->callback_failed); destroy() swallows it, as
// the server is stopping anyway.
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "ringshard/plugin.hpp"
#include "sdk/boxes.h"

namespace ringshard::plugin {

namespace {

// The glue's state, handed to the host as `state`.
struct GlueState {
  GlueState(std::unique_ptr<Plugin> p, rs_host* h, const rs_host_api* a)
      : plugin(std::move(p)), host(h, a), api(a), raw_host(h) {}
  std::unique_ptr<Plugin> plugin;
  Host host;
  const rs_host_api* api;
  rs_host* raw_host;
};

void write_error(char* error, size_t size, const std::string& message) {
  if (error == nullptr || size == 0) return;
  const size_t n = message.size() < size - 1 ? message.size() : size - 1;
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

}  // namespace

namespace detail {

std::string current_exception_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

void report_failure(const rs_host_api* api, rs_host* host, const rs_shard* shard,
                    std::string_view callback, std::string_view message) {
  if (api == nullptr || (host == nullptr && shard == nullptr)) return;
  api->callback_failed(host, shard, to_rs(callback), to_rs(message));
}

}  // namespace detail

int PluginGlue::validate(Factory make, const rs_host_api* api, const rs_config* cfg,
                         char* error, size_t size) {
  try {
    std::unique_ptr<Plugin> probe = make();
    probe->validate(Config(api, cfg));
    return 0;
  } catch (...) {
    write_error(error, size, detail::current_exception_message());
    return 1;
  }
}

int PluginGlue::init(Factory make, rs_host* host, const rs_host_api* api, const rs_config* cfg,
                     void** state, char* error, size_t size) {
  try {
    auto glue = std::make_unique<GlueState>(make(), host, api);
    glue->plugin->init(glue->host, Config(api, cfg));
    *state = glue.release();
    return 0;
  } catch (...) {
    write_error(error, size, detail::current_exception_message());
    return 1;
  }
}

void PluginGlue::shard_start(void* state, rs_shard* s) {
  auto* glue = static_cast<GlueState*>(state);
  try {
    Shard shard(glue->api, s);
    glue->plugin->shard_start(shard);
  } catch (...) {
    detail::report_failure(glue->api, glue->raw_host, s, "shard_start",
                           detail::current_exception_message());
  }
}

void PluginGlue::shard_stop(void* state, rs_shard* s) {
  auto* glue = static_cast<GlueState*>(state);
  try {
    Shard shard(glue->api, s);
    glue->plugin->shard_stop(shard);
  } catch (...) {
    detail::report_failure(glue->api, glue->raw_host, s, "shard_stop",
                           detail::current_exception_message());
  }
}

void PluginGlue::shard_drain(void* state, rs_shard* s) {
  auto* glue = static_cast<GlueState*>(state);
  try {
    Shard shard(glue->api, s);
    glue->plugin->shard_drain(shard);
  } catch (...) {
    detail::report_failure(glue->api, glue->raw_host, s, "shard_drain",
                           detail::current_exception_message());
  }
}

void PluginGlue::destroy(void* state) {
  auto* glue = static_cast<GlueState*>(state);
  try {
    // The plugin first: its destructor may still use what it registered.
    glue->plugin.reset();
  } catch (...) {
    // Stopping anyway; nothing is left to tell.
  }
  delete glue;
}

}  // namespace ringshard::plugin
