// server/options_units.h: the value syntax of settings, internal to
// server/options*.cc.
//
// Numbers, durations and sizes as flags and TOML strings write them (the
// rules are in server/options.h), their canonical text for --help and
// --check-config, and how user text is quoted in one-line error messages.
// Pure functions: no I/O, no global state; they allocate only the strings
// they return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringshard::server::options_detail {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kSecondMs = 1000;
constexpr uint64_t kMinuteMs = 60 * kSecondMs;
constexpr uint64_t kHourMs = 60 * kMinuteMs;

enum class NumberStatus { kOk, kSyntax, kOverflow };

// Decimal digits only: no sign, space, prefix or exponent. `value` is
// written only on kOk.
NumberStatus parse_decimal(std::string_view text, uint64_t& value);

// A unit suffix and how many base units (ms, bytes) it stands for.
struct Unit {
  std::string_view suffix;
  uint64_t scale;
};

// "" (seconds), ms, s, m, h; in milliseconds.
extern const std::span<const Unit> kDurationUnits;
// "" (bytes), k/K/KiB, m/M/MiB, g/G/GiB; powers of 1024.
extern const std::span<const Unit> kSizeUnits;

// "<digits><suffix>" with the suffix from `units`, scaled to base units.
NumberStatus parse_scaled(std::string_view text, std::span<const Unit> units,
                          uint64_t& value);

// The largest unit that divides the value: "10s", "2m", "250ms", "0s".
std::string format_duration(uint64_t ms);
// The largest unit that divides the value: "16KiB", "1MiB", "100", "0".
std::string format_size(uint64_t bytes);

// User text made safe for a one-line message: bytes outside printable ASCII
// become \xHH and text past `limit` bytes is cut ("..."), so no input can
// forge or break a line.
std::string printable(std::string_view text, size_t limit = 64);
// printable() in single quotes.
std::string quote(std::string_view text, size_t limit = 64);

}  // namespace ringshard::server::options_detail
