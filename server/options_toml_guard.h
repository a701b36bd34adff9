// server/options_toml_guard.h: a guard that keeps toml++ 3.3.0 away from
// its undefined behaviour, internal to server/options_toml.cc.
//
// toml++ 3.3.0 reaches __builtin_unreachable() (undefined behaviour: a
// crash or worse) when it asks whether some non-ASCII code points are
// whitespace, e.g. U+00A1..U+0499 (marzer/tomlplusplus#190, #295; fixed
// upstream by #305, after the Debian 12 package). It asks that of every
// character it meets outside strings and comments, and in a multi-line
// basic string of the character after a backslash and of the first one after
// a line-ending backslash. Valid TOML has non-ASCII only in strings and
// comments, so guard_toml() finds those risky positions and hands toml++ a
// copy with each risky non-ASCII character turned into one '\x01', which
// toml++ rejects safely at the same line and column.
//
// The walk follows TOML's structure (keys, values, arrays, inline tables)
// because toml++ scans a bare value up to a terminator straight through
// quotes ("x = 1"é..."), so a quote opens a string only where a key or a
// value can start. Where it cannot tell, it assumes "outside a string",
// which can only add errors to text that toml++ rejects anyway.
//
// Pure function; allocates the copy it returns. Any thread may call it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::server::options_detail {

// Where the first risky character is (1-based, as toml++ counts) and what
// the error message says about it.
struct GuardHit {
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;
};

struct GuardedText {
  std::string text;              // what toml++ may parse
  std::optional<GuardHit> hit;   // the first risky character, if any
};

// The text toml++ may parse, and the first risky character of `in`, if any.
GuardedText guard_toml(std::string_view in);

}  // namespace ringshard::server::options_detail
