// server/tomlpp.h: toml++ for server/*.cc, included only through here.
//
// toml++ 3.3.0 (the Debian 12 package) checks a precondition in parse_key()
// that malformed table headers such as "[\n", "[#]" or "[[=" break (fixed
// upstream in marzer/tomlplusplus#301): debug builds abort, and clang release
// builds compile the check to __builtin_assume, which is undefined behaviour.
// With the check off, parse_key() reaches its own "expected bare key starting
// character" parse_error, the right answer. toml++ ignores a user TOML_ASSERT
// when NDEBUG is set, hence NDEBUG is lifted around the include; it only
// drops pure/const hints there. The other toml++ 3.3.0 bug, on non-ASCII
// text, is kept away by options_toml_guard.h.
//
// Control plane only: toml++ allocates and throws toml::parse_error.
#pragma once

#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")
