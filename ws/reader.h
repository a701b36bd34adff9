// ws/reader.h: the WebSocket frame reader: bytes in, message pieces and
// control frames out (RFC 6455 section 5).
//
//   FrameReader reader(limits);
//   size_t used = reader.feed(bytes, sink);    // bytes: std::span<char>
//   if (reader.failed()) close with reader.error().close_code
//
// It parses frames in place: payloads are unmasked inside the caller's
// buffer and handed to the Sink as views into it, so a message that arrives
// whole in one read is never copied. Only what cannot be handed on yet is
// copied into the reader: a frame header split across reads (<= 14 bytes)
// and a control frame's payload split across reads (<= 125 bytes).
// Data-frame payloads are delivered as they arrive, possibly in several
// pieces per frame; the caller assembles messages it needs whole.
//
// Checked here, each failing with 1002 (protocol error) unless noted:
//   reserved bits set (RSV1 is allowed only with allow_compressed, only on
//   the first frame of a data message); unknown opcodes; control frames
//   longer than 125 bytes or fragmented; a continuation frame with no
//   message in progress; a new text/binary frame while one is in progress;
//   a frame whose mask bit is wrong for the role (clients must mask,
//   servers must not); a 64-bit length with the top bit set; a frame longer
//   than max_frame_bytes or a message whose payload grows past
//   max_message_bytes (1009, before any of it is delivered).
// The reader does not interpret payloads (UTF-8, close codes, deflate):
// that is the driver's job.
//
// No allocation; any thread; one reader per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ws/frame.h"

namespace ringshard::ws {

struct ReaderLimits {
  uint64_t max_frame_bytes = 16u << 20;
  uint64_t max_message_bytes = 16u << 20;  // payload bytes as sent (compressed)
  bool expect_masked = true;      // true: we are the server
  bool allow_compressed = false;  // permessage-deflate negotiated (RSV1)
};

struct ReaderError {
  uint16_t close_code = 0;   // 1002 or 1009
  std::string_view reason;   // static text, for the close frame and logs
};

class FrameReader {
 public:
  // Receives what the reader finds. Every view is valid only during the
  // call and may be modified in place. Returning false stops feed() right
  // after this event (e.g. the driver saw a close frame or a bad payload).
  class Sink {
   public:
    virtual ~Sink() = default;
    // A text or binary message starts; `compressed` is the first frame's RSV1.
    virtual bool on_message_begin(Opcode op, bool compressed) = 0;
    // Unmasked payload bytes of the message in progress, in order; never
    // empty.
    virtual bool on_message_data(std::span<char> data) = 0;
    // The message's final (FIN) frame has been delivered completely.
    virtual bool on_message_end() = 0;
    // A whole ping, pong or close frame, unmasked (payload <= 125 bytes).
    virtual bool on_control(Opcode op, std::span<char> payload) = 0;
  };

  explicit FrameReader(const ReaderLimits& limits = {}) : limits_(limits) {}

  // Consumes `in`. Returns the bytes used: all of them, unless the input
  // was invalid (failed() becomes true) or the sink returned false (the
  // rest is left for the caller; feed again to continue).
  //  - Sink stop: the count includes the bytes of the event that stopped
  //    (its header, its piece of payload). If that event was the last piece
  //    of a FIN frame, on_message_end is still due: it comes first in the
  //    next call, even a call with an empty span (mid_frame() is true).
  //  - Invalid input: the count stops before the offending frame's header;
  //    later calls return 0 and deliver nothing until reset().
  // Payload bytes given to the sink are unmasked in place in `in`; bytes
  // not counted as used are left untouched.
  size_t feed(std::span<char> in, Sink& sink);

  bool failed() const { return error_.close_code != 0; }
  const ReaderError& error() const { return error_; }
  // True between the first frame of a data message and its end.
  bool in_message() const { return in_message_; }
  // False only between frames. True while a frame header or control
  // payload is held partially, a data frame's payload is still due, or an
  // on_message_end is pending after a sink stop.
  bool mid_frame() const { return state_ != State::kHeader || header_have_ != 0; }
  void set_limits(const ReaderLimits& limits) { limits_ = limits; }
  void reset();

 private:
  enum class State : uint8_t { kHeader, kPayload, kControl };
  // Implementation state (header bytes held, current frame, masking offset,
  // message in progress); see reader.cc.
  ReaderLimits limits_;
  ReaderError error_;
  uint64_t frame_left_ = 0;     // payload bytes of the current frame still due
  uint64_t message_bytes_ = 0;  // payload bytes of the message so far
  uint8_t mask_[4] = {};
  uint8_t mask_offset_ = 0;
  uint8_t header_have_ = 0;
  uint8_t control_have_ = 0;
  uint8_t control_len_ = 0;
  Opcode frame_op_ = Opcode::kContinuation;
  State state_ = State::kHeader;
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  bool in_message_ = false;
  char header_[kMaxHeaderBytes] = {};
  char control_[125] = {};
};

}  // namespace ringshard::ws
