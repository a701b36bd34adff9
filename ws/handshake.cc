// ws/handshake.cc: the checks and the accept value of the RFC 6455 opening
// handshake. Every check reads the request's headers directly, so the
// result depends on the headers alone, whoever built the Request.
#include "ws/handshake.h"

#include <openssl/sha.h>

#include <cstring>

#include "tls/base64.h"

namespace ringshard::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
using tls::base64_encode;
using tls::base64_value;

// Does any instance of header `name` hold `token` (case-insensitive) as a
// comma-list element? `present` tells whether the header appeared at all.
bool header_has_token(const http::Request& req, std::string_view name,
                      std::string_view token, bool& present) {
  present = false;
  for (size_t i = 0; i < req.header_count && !present; ++i) {
    present = http::iequals(req.headers[i].name, name);
  }
  bool found = false;
  for_each_list_element(req, name, [&](std::string_view item) {
    found = http::iequals(item, token);
    return !found;
  });
  return found;
}

// The single value of header `name`; `count` says how many there were.
std::string_view single_header(const http::Request& req, std::string_view name,
                               size_t& count) {
  count = 0;
  std::string_view value;
  for (size_t i = 0; i < req.header_count; ++i) {
    if (!http::iequals(req.headers[i].name, name)) continue;
    if (count++ == 0) value = req.headers[i].value;
  }
  return value;
}

HandshakeCheck fail(uint16_t status, std::string_view reason) {
  HandshakeCheck c;
  c.status = status;
  c.reason = reason;
  return c;
}

}  // namespace

bool valid_key(std::string_view s) {
  if (s.size() != 24 || s[22] != '=' || s[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (base64_value(s[i]) < 0) return false;
  }
  // 22 characters carry 132 bits; 16 bytes are 128, so the last character's
  // low four bits must be zero for the encoding to be the canonical one.
  return (base64_value(s[21]) & 0x0f) == 0;
}

void accept_value(std::string_view key, char out[kAcceptSize]) {
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, key.data(), key.size());
  SHA1_Update(&ctx, kGuid.data(), kGuid.size());
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1_Final(digest, &ctx);
  static_assert(kAcceptSize == (SHA_DIGEST_LENGTH + 2) / 3 * 4);
  base64_encode(digest, sizeof digest, out);
}

HandshakeCheck check_upgrade(const http::Request& req) {
  if (req.method != http::Method::kGet) {
    return fail(400, "WebSocket upgrade needs GET");
  }
  if (req.version_minor != 1) {
    return fail(400, "WebSocket upgrade needs HTTP/1.1");
  }
  bool present = false;
  if (!header_has_token(req, "Upgrade", "websocket", present)) {
    return fail(400, present ? "Upgrade header must include websocket"
                             : "Upgrade header missing");
  }
  if (!header_has_token(req, "Connection", "upgrade", present)) {
    return fail(400, present ? "Connection header must include upgrade"
                             : "Connection header missing");
  }
  size_t count = 0;
  std::string_view version = single_header(req, "Sec-WebSocket-Version", count);
  if (count != 1 || version != "13") {
    return fail(426, "Sec-WebSocket-Version must be 13");
  }
  std::string_view key = single_header(req, "Sec-WebSocket-Key", count);
  if (count == 0) return fail(400, "Sec-WebSocket-Key header missing");
  if (count > 1) return fail(400, "Sec-WebSocket-Key header repeated");
  if (!valid_key(key)) {
    return fail(400, "Sec-WebSocket-Key must be base64 of 16 bytes");
  }
  HandshakeCheck ok;
  ok.key = key;
  return ok;
}

std::string_view select_subprotocol(const http::Request& req,
                                    std::span<const std::string> supported) {
  for (const std::string& want : supported) {
    if (want.empty()) continue;
    bool offered = false;
    for_each_list_element(req, "Sec-WebSocket-Protocol", [&](std::string_view item) {
      offered = item == want;
      return !offered;
    });
    if (offered) return want;
  }
  return {};
}

std::string extension_offers(const http::Request& req) {
  std::string joined;
  for (size_t i = 0; i < req.header_count; ++i) {
    if (!http::iequals(req.headers[i].name, "Sec-WebSocket-Extensions")) continue;
    if (req.headers[i].value.empty()) continue;
    if (!joined.empty()) joined += ", ";
    joined += req.headers[i].value;
  }
  return joined;
}

void write_101(std::string& out, std::string_view key, std::string_view protocol,
               std::string_view extensions) {
  char accept[kAcceptSize];
  accept_value(key, accept);
  out +=
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.append(accept, kAcceptSize);
  out += "\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  if (!extensions.empty()) {
    out += "Sec-WebSocket-Extensions: ";
    out += extensions;
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace ringshard::ws
