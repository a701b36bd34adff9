// libFuzzer target for ws/handshake.h and the negotiation half of
// ws/deflate.h. Each input is used twice:
//  1. as an HTTP request head through http::RequestParser; a complete head
//     goes through check_upgrade, select_subprotocol, extension_offers and
//     negotiate_deflate, and an accepted handshake's 101 head is read back
//     with http::ResponseParser;
//  2. as a raw Sec-WebSocket-Extensions value straight into
//     negotiate_deflate (the first byte picks the config).
// Invariants checked besides the sanitizers':
//  - check_upgrade answers 0, 400 or 426, a reason exactly when not 0, and
//    for 0 a key that valid_key accepts and that lies inside the input;
//  - the subprotocol chosen is one of the supported ones and was offered;
//  - negotiation: an error has a reason and accepts nothing; disabled
//    accepts nothing and finds no error; whether the header is malformed
//    does not depend on the config; an accepted response parses back (as a
//    client would read it) to the params, offered again it gives the same
//    response, window bits stay in 9..15 (server) and 8..15 (client), within
//    the config, and the config's no_context_takeover flags are honoured;
//  - the 101 head parses as a complete 101 response carrying the accept
//    value, the protocol and the extensions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/parser.h"
#include "http/response_parser.h"
#include "tests/fuzz/fuzz_check.h"
#include "ws/deflate.h"
#include "ws/handshake.h"

namespace {

using namespace ringshard;

constexpr const char* kFuzzTarget = "ws handshake";

bool inside(std::string_view v, std::string_view in) {
  return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
}

uint8_t clamp_bits(uint8_t v, uint8_t lo) { return v < lo ? lo : v > 15 ? 15 : v; }

// The config picked by one byte: windows 8..15 (8 for the server is below
// its range and must count as 9), and the two no_context_takeover flags.
ws::DeflateConfig config_from(uint8_t b, uint8_t c) {
  ws::DeflateConfig config;
  config.server_max_window_bits = static_cast<uint8_t>(8 + (b & 7));
  config.client_max_window_bits = static_cast<uint8_t>(8 + ((b >> 3) & 7));
  config.server_no_context_takeover = (b & 0x40) != 0;
  config.client_no_context_takeover = (b & 0x80) != 0;
  config.enabled = (c & 0x0f) != 0;
  return config;
}

bool same(const ws::DeflateOffer& a, const ws::DeflateOffer& b) {
  return a.accepted == b.accepted && a.error == b.error && a.reason == b.reason &&
         a.params == b.params && a.response == b.response;
}

ws::DeflateOffer check_negotiation(std::string_view offers, const ws::DeflateConfig& config) {
  const ws::DeflateOffer offer = ws::negotiate_deflate(offers, config);
  FUZZ_CHECK(same(offer, ws::negotiate_deflate(offers, config)));
  if (!config.enabled) {
    FUZZ_CHECK(!offer.accepted && !offer.error);
    return offer;
  }
  if (offer.error) {
    FUZZ_CHECK(!offer.accepted);
    FUZZ_CHECK(!offer.reason.empty());
    FUZZ_CHECK(offer.response.empty());
    return offer;
  }
  FUZZ_CHECK(offer.reason.empty());
  if (!offer.accepted) {
    FUZZ_CHECK(offer.response.empty());
    return offer;
  }
  const ws::DeflateParams& p = offer.params;
  FUZZ_CHECK(p.server_max_window_bits >= 9 && p.server_max_window_bits <= 15);
  FUZZ_CHECK(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
  FUZZ_CHECK(p.server_max_window_bits <= clamp_bits(config.server_max_window_bits, 9));
  FUZZ_CHECK(p.client_max_window_bits == 15 ||
             p.client_max_window_bits <= clamp_bits(config.client_max_window_bits, 8));
  FUZZ_CHECK(!config.server_no_context_takeover || p.server_no_context_takeover);
  FUZZ_CHECK(!config.client_no_context_takeover || p.client_no_context_takeover);
  FUZZ_CHECK(offer.response.rfind("permessage-deflate", 0) == 0);

  ws::DeflateParams read_back;
  FUZZ_CHECK(ws::parse_deflate_response(offer.response, read_back));
  FUZZ_CHECK(read_back == p);
  const ws::DeflateOffer again = ws::negotiate_deflate(offer.response, config);
  FUZZ_CHECK(again.accepted);
  FUZZ_CHECK(again.response == offer.response);
  FUZZ_CHECK(again.params == p);
  return offer;
}

// Syntax errors are the header's, whatever the config says.
void check_offers(std::string_view offers, uint8_t b) {
  const ws::DeflateOffer a = check_negotiation(offers, config_from(b, 1));
  const ws::DeflateOffer d = check_negotiation(offers, ws::DeflateConfig{});
  FUZZ_CHECK(a.error == d.error);
  check_negotiation(offers, config_from(b, 0));
}

void check_101(std::string_view key, std::string_view protocol, std::string_view extensions) {
  std::string head;
  ws::write_101(head, key, protocol, extensions);
  http::ResponseParser parser;
  http::ParsedResponse res;
  const http::ParseResult r = parser.parse(head, res);
  FUZZ_CHECK(r.status == http::ParseStatus::kComplete);
  FUZZ_CHECK(r.consumed == head.size());
  FUZZ_CHECK(res.status == 101);
  FUZZ_CHECK(res.upgrade);
  FUZZ_CHECK(http::iequals(res.header("Upgrade"), "websocket"));
  char accept[ws::kAcceptSize];
  ws::accept_value(key, accept);
  FUZZ_CHECK(res.header("Sec-WebSocket-Accept") == std::string_view(accept, ws::kAcceptSize));
  FUZZ_CHECK(res.header("Sec-WebSocket-Protocol") == protocol);
  FUZZ_CHECK(res.header("Sec-WebSocket-Extensions") == extensions);
}

void check_request(std::string_view in, uint8_t b) {
  http::RequestParser parser;
  http::Request req;
  if (parser.parse(in, req).status != http::ParseStatus::kComplete) return;

  const ws::HandshakeCheck check = ws::check_upgrade(req);
  FUZZ_CHECK(check.status == 0 || check.status == 400 || check.status == 426);
  FUZZ_CHECK(check.reason.empty() == (check.status == 0));
  if (check.status == 0) {
    FUZZ_CHECK(ws::valid_key(check.key));
    FUZZ_CHECK(inside(check.key, in));
    FUZZ_CHECK(req.method == http::Method::kGet && req.version_minor == 1);
  } else {
    FUZZ_CHECK(check.key.empty());
  }

  static const std::string kSupported[] = {"chat", "v2.json", "superchat", ""};
  const std::string_view protocol = ws::select_subprotocol(req, kSupported);
  if (!protocol.empty()) {
    bool ours = false;
    for (const std::string& s : kSupported) ours |= protocol.data() == s.data();
    FUZZ_CHECK(ours);
    bool offered = false;
    ws::for_each_list_element(req, "Sec-WebSocket-Protocol", [&](std::string_view item) {
      offered |= item == protocol;
      return true;
    });
    FUZZ_CHECK(offered);
  }

  const std::string offers = ws::extension_offers(req);
  check_offers(offers, b);
  const ws::DeflateOffer offer = ws::negotiate_deflate(offers, ws::DeflateConfig{});
  if (check.status == 0) {
    check_101(check.key, protocol, offer.accepted ? offer.response : "");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const uint8_t first = size > 0 ? data[0] : 0;
  check_request(in, first);
  check_offers(in.substr(size > 0 ? 1 : 0), first);

  // valid_key against a direct decode: canonical base64 of 16 bytes.
  if (size == 24) {
    bool want = in[22] == '=' && in[23] == '=';
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < 22 && want; ++i) want = kAlphabet.find(in[i]) != std::string_view::npos;
    if (want) want = (kAlphabet.find(in[21]) & 0x0f) == 0;
    FUZZ_CHECK(ws::valid_key(in) == want);
  }
  return 0;
}
