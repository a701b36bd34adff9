// ws/handshake.h: the server side of the RFC 6455 opening handshake
// (section 4.2): checking an upgrade request, the Sec-WebSocket-Accept
// value, subprotocol selection, and writing the 101 response head.
//
//   HandshakeCheck c = check_upgrade(request);
//   if (c.status != 0) -> answer c.status (400 or 426) with c.reason; a 426
//                         also carries "Sec-WebSocket-Version: 13"
//   std::string_view proto = select_subprotocol(request, supported);
//   write_101(out, c.key, proto, deflate_offer.response);
//
// check_upgrade checks, in this order, and answers the first failure:
//   method GET                                   400 "WebSocket upgrade needs GET"
//   HTTP/1.1 (1.0 has no Upgrade)                400 "WebSocket upgrade needs HTTP/1.1"
//   Upgrade header present                       400 "Upgrade header missing"
//   ... holding the token "websocket"            400 "Upgrade header must include websocket"
//     (case-insensitive, in a comma list, any header instance)
//   Connection header present                    400 "Connection header missing"
//   ... holding the token "upgrade"              400 "Connection header must include upgrade"
//     (case-insensitive, in a comma list, any instance; the same rule as
//     Request::upgrade, but read from the headers so that a hand-built
//     Request is judged by its headers alone)
//   Sec-WebSocket-Version: exactly one header,   426 "Sec-WebSocket-Version must be 13"
//     value exactly "13"; missing counts too (the 426 tells an old client
//     which version we speak, RFC 6455 4.4; it is checked before the key
//     because pre-RFC clients send no Sec-WebSocket-Key)
//   Sec-WebSocket-Key present                    400 "Sec-WebSocket-Key header missing"
//   ... exactly once                             400 "Sec-WebSocket-Key header repeated"
//   ... valid_key()                              400 "Sec-WebSocket-Key must be base64 of 16 bytes"
// A router that maps the endpoint to a GET route never sees the first
// failure; it is checked anyway so the function stands alone. The request
// body (if any) is not looked at.
//
// Pure functions over an http::Request (views into the request); the
// accept computation uses BoringSSL's SHA-1. No allocation except where a
// std::string is returned or appended to; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "http/request.h"

namespace ringshard::ws {

struct HandshakeCheck {
  uint16_t status = 0;          // 0: acceptable; else 400 or 426
  std::string_view reason;      // static text for the error body (empty if 0)
  std::string_view key;         // Sec-WebSocket-Key when acceptable: a view
                                // into the request, valid as long as it is
};

HandshakeCheck check_upgrade(const http::Request& req);

// True if `s` is the canonical base64 encoding of exactly 16 bytes: 24
// characters, 22 from A-Z a-z 0-9 + / and then "==", and the 22nd
// character carries only two data bits (its low four bits are zero), so
// that the key decodes to 16 bytes and encodes back to itself. No
// whitespace, no URL-safe alphabet.
bool valid_key(std::string_view s);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")): 28 chars
// written to `out` (not NUL-terminated). Any key bytes are hashed as given;
// RFC 6455's example "dGhlIHNhbXBsZSBub25jZQ==" gives
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
inline constexpr size_t kAcceptSize = 28;
void accept_value(std::string_view key, char out[kAcceptSize]);

// http::for_each_list_element over the request's fields.
template <typename Fn>
bool for_each_list_element(const http::Request& req, std::string_view name, Fn&& fn);

// The first of `supported` (the server's preference order) that the client
// offered in Sec-WebSocket-Protocol (case-sensitive tokens; every header
// instance, comma lists, whitespace around elements ignored); empty view if
// none matches or none was offered. The view points into `supported` and
// lives as long as those strings do. Empty entries of `supported` never
// match.
std::string_view select_subprotocol(const http::Request& req,
                                    std::span<const std::string> supported);

// The raw Sec-WebSocket-Extensions offers, all non-empty header instances
// joined by ", " (empty if absent), ready for negotiate_deflate. A copy: it
// allocates when the result is longer than std::string's inline buffer.
std::string extension_offers(const http::Request& req);

// Writes the 101 Switching Protocols head (ending in the blank line),
// appending to `out`; `key` is the client's Sec-WebSocket-Key:
//   HTTP/1.1 101 Switching Protocols\r\n
//   Upgrade: websocket\r\n
//   Connection: Upgrade\r\n
//   Sec-WebSocket-Accept: <accept_value(key)>\r\n
//   Sec-WebSocket-Protocol: <protocol>\r\n        (only if non-empty)
//   Sec-WebSocket-Extensions: <extensions>\r\n    (only if non-empty)
//   \r\n
// `protocol` and `extensions` are written as given (they come from
// select_subprotocol and negotiate_deflate, never from the client).
void write_101(std::string& out, std::string_view key, std::string_view protocol,
               std::string_view extensions);

// --- template implementation ------------------------------------------------

template <typename Fn>
bool for_each_list_element(const http::Request& req, std::string_view name, Fn&& fn) {
  return http::for_each_list_element(
      std::span<const http::Header>(req.headers.data(), req.header_count), name,
      std::forward<Fn>(fn));
}

}  // namespace ringshard::ws
