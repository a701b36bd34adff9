// engine/listener.h: creating SO_REUSEPORT listening sockets.
//
// Control plane. open_listener() binds one socket; shards after the first
// bind the port the first one got, so "port 0" yields one port shared by
// every shard.
#pragma once

#include <cstdint>
#include <string>

namespace ringshard::engine {

struct ListenResult {
  int fd = -1;        // >= 0 on success
  uint16_t port = 0;  // the bound port
  std::string error;  // set on failure
};

// `host`: an IP literal, "localhost", "*" or "" (all IPv4 addresses), as
// resolve_literal() in engine/socket_address.h reads it; never a DNS name.
ListenResult open_listener(const std::string& host, uint16_t port, int backlog,
                           bool defer_accept = false);

}  // namespace ringshard::engine
