// ws/reader.cc: the frame reader's state machine.
//
// Three states: kHeader (between frames; a header split across reads is
// collected in header_), kPayload (a data frame's payload is due, or its
// on_message_end is), kControl (a control payload split across reads is
// collected in control_). A header is checked byte by byte as it arrives,
// always in the same order (first byte, second byte, extended length), so
// a bad frame gets the same error however the stream is cut, and a peer
// that sends one bad byte is refused without waiting for the rest.
#include "ws/reader.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace ringshard::ws {
namespace {

struct Header {
  size_t size = 0;  // header bytes, mask key included
  uint64_t length = 0;
  Opcode op = Opcode::kContinuation;
  bool fin = false;
  bool rsv1 = false;
  bool masked = false;
  uint8_t mask[4] = {};
};

enum class HeaderStatus : uint8_t { kNeedMore, kDone, kError };

ReaderError protocol_error(std::string_view reason) {
  return {close_code::kProtocolError, reason};
}

// Checks and decodes the header bytes h[0..have). `message_bytes` is the
// payload the message in progress has so far (0 when none is).
HeaderStatus parse_header(const unsigned char* h, size_t have,
                          const ReaderLimits& limits, bool in_message,
                          uint64_t message_bytes, Header& out, ReaderError& err) {
  if (have < 1) return HeaderStatus::kNeedMore;
  const uint8_t b0 = h[0];
  out.fin = (b0 & 0x80) != 0;
  out.rsv1 = (b0 & 0x40) != 0;
  if ((b0 & 0x30) != 0) {
    err = protocol_error("reserved bit RSV2 or RSV3 set");
    return HeaderStatus::kError;
  }
  const uint8_t opcode = b0 & 0x0F;
  switch (opcode) {
    case 0x0:
      if (!in_message) {
        err = protocol_error("continuation frame with no message in progress");
        return HeaderStatus::kError;
      }
      if (out.rsv1) {
        err = protocol_error("RSV1 set on a continuation frame");
        return HeaderStatus::kError;
      }
      break;
    case 0x1:
    case 0x2:
      if (in_message) {
        err = protocol_error("new data frame while a message is in progress");
        return HeaderStatus::kError;
      }
      if (out.rsv1 && !limits.allow_compressed) {
        err = protocol_error("RSV1 set without a compression extension");
        return HeaderStatus::kError;
      }
      break;
    case 0x8:
    case 0x9:
    case 0xA:
      if (!out.fin) {
        err = protocol_error("fragmented control frame");
        return HeaderStatus::kError;
      }
      if (out.rsv1) {
        err = protocol_error("RSV1 set on a control frame");
        return HeaderStatus::kError;
      }
      break;
    default:
      err = protocol_error("reserved opcode");
      return HeaderStatus::kError;
  }
  out.op = static_cast<Opcode>(opcode);
  const bool control = is_control(out.op);

  if (have < 2) return HeaderStatus::kNeedMore;
  out.masked = (h[1] & 0x80) != 0;
  const uint8_t len7 = h[1] & 0x7F;
  if (out.masked != limits.expect_masked) {
    err = protocol_error(limits.expect_masked ? "unmasked frame from a client"
                                              : "masked frame from a server");
    return HeaderStatus::kError;
  }
  if (control && len7 > 125) {
    err = protocol_error("control frame longer than 125 bytes");
    return HeaderStatus::kError;
  }

  const size_t extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (have < 2 + extended) return HeaderStatus::kNeedMore;
  uint64_t length = len7;
  if (extended != 0) {
    length = 0;
    for (size_t i = 0; i < extended; ++i) length = length << 8 | h[2 + i];
  }
  if (extended == 8 && (length >> 63) != 0) {
    err = protocol_error("64-bit frame length with the top bit set");
    return HeaderStatus::kError;
  }
  if (length > limits.max_frame_bytes) {
    err = {close_code::kMessageTooBig, "frame larger than the limit"};
    return HeaderStatus::kError;
  }
  if (!control && (message_bytes > limits.max_message_bytes ||
                   length > limits.max_message_bytes - message_bytes)) {
    err = {close_code::kMessageTooBig, "message larger than the limit"};
    return HeaderStatus::kError;
  }
  out.length = length;

  out.size = 2 + extended + (out.masked ? 4 : 0);
  if (have < out.size) return HeaderStatus::kNeedMore;
  if (out.masked) std::memcpy(out.mask, h + 2 + extended, 4);
  return HeaderStatus::kDone;
}

}  // namespace

void FrameReader::reset() { *this = FrameReader(limits_); }

size_t FrameReader::feed(std::span<char> in, Sink& sink) {
  if (failed()) return 0;
  char* const data = in.data();
  const size_t n = in.size();
  size_t pos = 0;
  for (;;) {
    switch (state_) {
      case State::kHeader: {
        if (pos == n) return n;
        const size_t left = n - pos;
        Header h;
        HeaderStatus status;
        size_t used;  // bytes of this call's input that belong to the header
        const uint64_t so_far = in_message_ ? message_bytes_ : 0;
        if (header_have_ == 0) {
          // The usual case: the whole header is in the input; no copy.
          status = parse_header(reinterpret_cast<const unsigned char*>(data + pos), left,
                                limits_, in_message_, so_far, h, error_);
          if (status == HeaderStatus::kNeedMore) {
            assert(left < kMaxHeaderBytes);
            std::memcpy(header_, data + pos, left);
            header_have_ = static_cast<uint8_t>(left);
            return n;
          }
          used = h.size;
        } else {
          // Copying more than the header needs is harmless: only the
          // header's own bytes count as used.
          const size_t take = std::min(left, kMaxHeaderBytes - header_have_);
          std::memcpy(header_ + header_have_, data + pos, take);
          status = parse_header(reinterpret_cast<const unsigned char*>(header_),
                                header_have_ + take, limits_, in_message_, so_far, h,
                                error_);
          if (status == HeaderStatus::kNeedMore) {
            assert(take == left);
            header_have_ = static_cast<uint8_t>(header_have_ + take);
            return n;
          }
          used = h.size - header_have_;
        }
        if (status == HeaderStatus::kError) return pos;
        header_have_ = 0;
        pos += used;

        frame_op_ = h.op;
        frame_fin_ = h.fin;
        frame_masked_ = h.masked;
        std::memcpy(mask_, h.mask, 4);
        mask_offset_ = 0;

        if (is_control(h.op)) {
          const size_t len = static_cast<size_t>(h.length);  // <= 125
          if (n - pos >= len) {
            char* payload = data + pos;
            if (h.masked) apply_mask(payload, len, mask_, 0);
            pos += len;
            if (!sink.on_control(h.op, {payload, len})) return pos;
          } else {
            control_len_ = static_cast<uint8_t>(len);
            control_have_ = 0;
            state_ = State::kControl;
          }
          continue;
        }

        frame_left_ = h.length;
        state_ = State::kPayload;
        if (h.op != Opcode::kContinuation) {
          in_message_ = true;
          message_bytes_ = h.length;
          if (!sink.on_message_begin(h.op, h.rsv1)) return pos;
        } else {
          message_bytes_ += h.length;
        }
        continue;
      }

      case State::kPayload: {
        if (frame_left_ == 0) {
          // Also reached at the start of a call when the sink stopped
          // after the last piece of a FIN frame: the end is still due.
          state_ = State::kHeader;
          if (frame_fin_) {
            in_message_ = false;
            message_bytes_ = 0;
            if (!sink.on_message_end()) return pos;
          }
          continue;
        }
        if (pos == n) return n;
        const size_t take =
            static_cast<size_t>(std::min<uint64_t>(frame_left_, n - pos));
        char* piece = data + pos;
        if (frame_masked_) {
          mask_offset_ = static_cast<uint8_t>(apply_mask(piece, take, mask_, mask_offset_));
        }
        frame_left_ -= take;
        pos += take;
        if (!sink.on_message_data({piece, take})) return pos;
        continue;
      }

      case State::kControl: {
        if (pos == n) return n;
        const size_t take = std::min<size_t>(control_len_ - control_have_, n - pos);
        std::memcpy(control_ + control_have_, data + pos, take);
        control_have_ = static_cast<uint8_t>(control_have_ + take);
        pos += take;
        if (control_have_ < control_len_) return n;
        state_ = State::kHeader;
        if (frame_masked_) apply_mask(control_, control_len_, mask_, 0);
        if (!sink.on_control(frame_op_, {control_, control_len_})) return pos;
        continue;
      }
    }
  }
}

}  // namespace ringshard::ws
