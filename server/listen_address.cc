// server/listen_address.cc: --listen / [server] listen text to ListenAddress
// and back (declared in server/options.h). The parsing itself is the
// engine's, shared with the listeners and ringshard-load
// (engine/socket_address.h); this only converts its result.
#include "engine/socket_address.h"
#include "server/options.h"

namespace ringshard::server {

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::optional<engine::HostPort> parsed = engine::parse_host_port(text);
  if (!parsed) return std::nullopt;
  return ListenAddress{std::move(parsed->host), parsed->port};
}

std::string format_listen_address(const ListenAddress& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" +
         std::to_string(address.port);
}

}  // namespace ringshard::server
