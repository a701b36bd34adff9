// ws/handshake.h: the server side of the RFC 6455 opening handshake
// (section 4.2): checking an upgrade request, the Sec-WebSocket-Accept
// value, subprotocol selection, and writing the 101 response head.
//
//   HandshakeCheck c = check_upgrade(request);
//   if (c.status != 0) -> answer c.status (400 or 426) with c.reason
//   std::string_view proto = select_subprotocol(request, {"chat", "v2"});
//
// check_upgrade wants: method GET; HTTP/1.1; an Upgrade header whose value
// holds the token "websocket" (case-insensitive, in a comma list); a
// Connection header holding the token "upgrade" (case-insensitive, in a
// comma list; Request::upgrade); Sec-WebSocket-Version exactly "13" (any
// other value -> 426 with "Sec-WebSocket-Version: 13" to be sent back);
// Sec-WebSocket-Key: base64 of exactly 16 bytes (24 characters, "=="
// padding). Missing or malformed -> 400 with a reason naming the header.
//
// Pure functions over an http::Request (views into the request); the
// accept computation uses BoringSSL's SHA-1. No allocation except where a
// std::string is returned; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http/request.h"

namespace ringshard::ws {

struct HandshakeCheck {
  uint16_t status = 0;          // 0: acceptable; else 400 or 426
  std::string_view reason;      // static text for the error body
  std::string_view key;         // Sec-WebSocket-Key when acceptable
};

HandshakeCheck check_upgrade(const http::Request& req);

// True if `s` is the base64 encoding of exactly 16 bytes.
bool valid_key(std::string_view s);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")): 28 chars
// written to `out`.
inline constexpr size_t kAcceptSize = 28;
void accept_value(std::string_view key, char out[kAcceptSize]);

// Every value of header `name` (a header may repeat; values are comma
// lists) as one comma-separated walk: calls fn(token) for each non-empty
// trimmed element, in order. Returns false if fn returned false.
template <typename Fn>
bool for_each_list_element(const http::Request& req, std::string_view name, Fn&& fn);

// The first of `supported` (the server's preference order) that the client
// offered in Sec-WebSocket-Protocol (case-sensitive tokens); empty view if
// none matches or none was offered. The view points into `supported`.
std::string_view select_subprotocol(const http::Request& req,
                                    std::span<const std::string> supported);

// The raw Sec-WebSocket-Extensions offers, all header instances joined by
// ", " (empty if absent). Allocates only when the header repeats.
std::string extension_offers(const http::Request& req);

// Writes the 101 Switching Protocols head (ending in the blank line):
// Upgrade, Connection, Sec-WebSocket-Accept, then Sec-WebSocket-Protocol
// and Sec-WebSocket-Extensions when non-empty. Appends to `out`.
void write_101(std::string& out, std::string_view key, std::string_view protocol,
               std::string_view extensions);

// --- template implementation ------------------------------------------------

template <typename Fn>
bool for_each_list_element(const http::Request& req, std::string_view name, Fn&& fn) {
  for (size_t i = 0; i < req.header_count; ++i) {
    if (!http::iequals(req.headers[i].name, name)) continue;
    std::string_view v = req.headers[i].value;
    while (!v.empty()) {
      const size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty() && !fn(item)) return false;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return true;
}

}  // namespace ringshard::ws
