// tests/support/ws_client.h: a blocking WebSocket client for tests, over
// TestConnection (plain or TLS).
//
//   WsTestClient c(port, "/ws/echo", {.deflate = true});
//   ASSERT_TRUE(c.ok()) << c.error();
//   c.send_text("hi");
//   EXPECT_EQ(c.read_data(), "hi");
//   c.close(1000); EXPECT_EQ(c.read_close_code(), 1000);
//
// It masks what it sends (random keys), reassembles fragmented messages,
// inflates compressed ones, and returns control frames as messages too, so
// tests see exactly what the server sent. send_frame() writes any frame,
// valid or not, for protocol-error tests.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/http_client.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/reader.h"

namespace ringshard::test {

struct WsClientOptions {
  bool deflate = false;                 // offer permessage-deflate
  std::string extensions;               // exact Sec-WebSocket-Extensions (overrides deflate)
  std::vector<std::string> protocols;   // Sec-WebSocket-Protocol offers
  std::vector<std::string> extra_headers;  // "Name: value" lines
  bool tls = false;                     // connect to the TLS port (pass it as port)
  int timeout_ms = 10'000;
  uint64_t max_message = 64u << 20;
};

struct WsMessage {
  ws::Opcode opcode = ws::Opcode::kText;  // kText, kBinary, kPing, kPong, kClose
  std::string data;                       // payload (inflated); for close: the reason
  uint16_t close_code = 0;                // kClose: 1005 when the payload was empty
  bool compressed = false;                // arrived with RSV1
};

class WsTestClient {
 public:
  WsTestClient(uint16_t port, const std::string& path, const WsClientOptions& opts = {});

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const HttpResponse& handshake() const { return handshake_; }
  bool deflate() const { return deflater_ != nullptr; }

  // A whole message in one frame (compressed when deflate was negotiated
  // and `compress`).
  bool send_text(std::string_view s, bool compress = true) { return send_message(ws::Opcode::kText, s, compress); }
  bool send_binary(std::string_view s, bool compress = true) { return send_message(ws::Opcode::kBinary, s, compress); }
  bool send_message(ws::Opcode op, std::string_view payload, bool compress = true);
  // Any frame; `mask` false sends it unmasked (a protocol error).
  bool send_frame(ws::Opcode op, std::string_view payload, bool fin = true, bool rsv1 = false,
                  bool mask = true, uint8_t extra_rsv = 0);
  bool send_raw(std::string_view bytes) { return conn_.send(bytes); }
  bool close(uint16_t code = 1000, std::string_view reason = {});

  // The next message or control frame; nullopt on EOF, timeout or a frame
  // this client finds invalid (error() says which).
  std::optional<WsMessage> read_message();
  // The next message's payload, or "<no message: ERROR>" when none came:
  // a comparison with it fails at the caller's line, where
  // read_message()->data would dereference an empty optional.
  std::string read_data();
  // Reads until the server's close frame; its code (0 if none came).
  uint16_t read_close_code();
  // True once the server has closed the TCP connection (EOF or reset).
  bool wait_closed() { return conn_.wait_closed(); }
  TestConnection& connection() { return conn_; }

 private:
  class Collector;
  TestConnection conn_;
  bool ok_ = false;
  std::string error_;
  HttpResponse handshake_;
  std::string in_;  // received, not parsed yet
  std::deque<WsMessage> queue_;  // parsed, not returned yet
  std::unique_ptr<ws::FrameReader> reader_;
  std::unique_ptr<ws::Deflater> deflater_;
  std::unique_ptr<ws::Inflater> inflater_;
  std::mt19937 rng_{12345};
  uint64_t max_message_;
};

// A valid random Sec-WebSocket-Key.
std::string make_ws_key();

}  // namespace ringshard::test
