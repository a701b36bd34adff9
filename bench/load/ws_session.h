// bench/load/ws_session.h: the client side of the WebSocket protocol for
// ringshard-load: the upgrade request, the check of the server's 101, and
// the frames a client sends (masked). The load logic is in ws_load.cc.
//
//   WsUpgrade up = make_upgrade(options);              // once per run
//   conn.write(up.request);
//   ... bytes in: WsHandshakeReader::feed() until kDone, then frames
//   WsFramer framer(up.mask);
//   conn.write(framer.frame(ws::Opcode::kText, payload, deflater));
//
// One Sec-WebSocket-Key and one mask key per run (see ws_load.h for why).
// Thread: a WsHandshakeReader and a WsFramer belong to one shard.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "bench/load/load_options.h"
#include "http/response_parser.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/handshake.h"

namespace ringshard::load {

struct WsUpgrade {
  std::string request;             // the whole GET ... Upgrade request
  char accept[ws::kAcceptSize];    // the Sec-WebSocket-Accept to expect
  uint8_t mask[4];                 // the key every client frame is masked with
};

// Builds the upgrade request for options (path, host, --header lines,
// permessage-deflate offered with --deflate) with a random key.
WsUpgrade make_upgrade(const LoadOptions& options);

// Reads the server's answer to the upgrade (it may arrive in pieces; a
// piece is kept in a small buffer) and checks it: 101, the accept value,
// and an extension response only if deflate was offered.
class WsHandshakeReader {
 public:
  enum class Status { kNeedMore, kDone, kError };
  struct Outcome {
    Status status = Status::kNeedMore;
    size_t consumed = 0;          // bytes of the input that were the response
    std::string_view error;       // static text for kError
  };
  void reset();
  // `scratch` is the shard's parsed head (large, needed only during the call).
  Outcome feed(std::string_view in, const WsUpgrade& up, bool deflate_offered,
               http::ParsedResponse& scratch);
  // After kDone: the agreed permessage-deflate parameters, the client's view
  // (our compressor obeys client_*, as ws::Deflater reads server_*: the
  // fields are swapped), when the server accepted the extension.
  bool deflate() const { return deflate_; }
  const ws::DeflateParams& deflate_params() const { return params_; }

 private:
  http::ResponseParser parser_;
  std::string head_;
  ws::DeflateParams params_;
  bool deflate_ = false;
};

// Encodes masked client frames into a buffer it reuses; what frame()
// returns is valid until the next call.
class WsFramer {
 public:
  explicit WsFramer(const uint8_t mask[4]);
  // A whole message in one frame; compressed (RSV1) when `deflater` is given
  // and compresses it.
  std::string_view frame(ws::Opcode op, std::string_view payload, ws::Deflater* deflater = nullptr);

 private:
  uint8_t mask_[4];
  std::string frame_;
  std::string deflated_;
};

// utime+stime of process `pid` (all its threads) in seconds, from
// /proc/PID/stat; -1 if it cannot be read.
double process_cpu_seconds(int pid);

}  // namespace ringshard::load
