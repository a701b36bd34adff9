// ws/utf8.h: incremental UTF-8 validation for WebSocket text messages.
//
//   Utf8Validator v;
//   for (piece : message) if (!v.feed(piece)) -> close 1007 (fail fast)
//   if (!v.complete()) -> close 1007 (message ended inside a character)
//
// Strict RFC 3629: no overlong forms, no surrogates (U+D800..DFFF), nothing
// above U+10FFFF. A piece may end in the middle of a character; feed()
// fails as soon as the bytes seen so far cannot begin valid UTF-8, so a bad
// byte is caught in the piece where it arrives (Autobahn 6.x "fail fast").
// ASCII runs are checked a machine word at a time.
//
// No allocation; any thread; one validator per message in progress.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringshard::ws {

class Utf8Validator {
 public:
  // False once the input so far is not a prefix of valid UTF-8; stays false.
  bool feed(std::string_view piece);
  // True when the input so far is valid and ends on a character boundary.
  bool complete() const { return state_ == 0; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = 0; }

  static constexpr uint32_t kReject = 1;  // internal state value for failure

 private:
  uint32_t state_ = 0;  // 0: at a boundary; kReject: failed; else mid-character
};

// Whole-string check.
bool is_valid_utf8(std::string_view s);

}  // namespace ringshard::ws
