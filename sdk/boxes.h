// sdk/boxes.h: what the SDK's C trampolines point at (internal to sdk/).
//
// Each registration through ringshard::plugin::Host allocates one box that
// holds the C++ callable, the host API and the plugin's rs_host (to report
// a failure): the `user` pointer the host hands back to the trampoline.
// Boxes live in Host::boxes_ until the plugin is destroyed, which is after
// every shard has stopped calling them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ringshard/plugin.hpp"

namespace ringshard::plugin::detail {

struct RouteBox {
  const rs_host_api* api;
  rs_host* host;
  Handler fn;
  std::string what;  // "GET /hello/{name}", for log lines
};

struct WsBox {
  const rs_host_api* api;
  rs_host* host;
  std::shared_ptr<WsEndpoint> endpoint;
  std::string pattern;
};

struct MiddlewareBox {
  const rs_host_api* api;
  rs_host* host;
  std::shared_ptr<Middleware> middleware;
};

struct ListenerBox {
  const rs_host_api* api;
  rs_host* host;
  std::function<void(Shard&, std::string_view)> fn;
  std::string topic;
};

struct HostBoxes {
  std::vector<std::unique_ptr<RouteBox>> routes;
  std::vector<std::unique_ptr<WsBox>> websockets;
  std::vector<std::unique_ptr<MiddlewareBox>> middleware;
  std::vector<std::unique_ptr<ListenerBox>> listeners;
};

// The message of the exception being handled ("unknown exception" for one
// that is not a std::exception). Call inside a catch block only.
std::string current_exception_message();

// Reports a failed callback without a return value (api->callback_failed).
void report_failure(const rs_host_api* api, rs_host* host, const rs_shard* shard,
                    std::string_view callback, std::string_view message);

}  // namespace ringshard::plugin::detail
