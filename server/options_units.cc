// server/options_units.cc: numbers, durations, sizes and quoted user text.
#include "server/options_units.h"

#include <cstdio>

namespace ringshard::server::options_detail {
namespace {

constexpr Unit kDurationTable[] = {
    {"", kSecondMs}, {"ms", 1}, {"s", kSecondMs}, {"m", kMinuteMs}, {"h", kHourMs}};
constexpr Unit kSizeTable[] = {{"", 1},       {"k", kKiB}, {"K", kKiB},
                               {"KiB", kKiB}, {"m", kMiB}, {"M", kMiB},
                               {"MiB", kMiB}, {"g", kGiB}, {"G", kGiB},
                               {"GiB", kGiB}};

}  // namespace

const std::span<const Unit> kDurationUnits = kDurationTable;
const std::span<const Unit> kSizeUnits = kSizeTable;

NumberStatus parse_decimal(std::string_view text, uint64_t& value) {
  if (text.empty()) return NumberStatus::kSyntax;
  uint64_t v = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9') return NumberStatus::kSyntax;
    overflow = overflow || __builtin_mul_overflow(v, 10u, &v) ||
               __builtin_add_overflow(v, static_cast<uint64_t>(c - '0'), &v);
  }
  if (overflow) return NumberStatus::kOverflow;
  value = v;
  return NumberStatus::kOk;
}

NumberStatus parse_scaled(std::string_view text, std::span<const Unit> units,
                          uint64_t& value) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) return NumberStatus::kSyntax;
  const Unit* unit = nullptr;
  for (const Unit& u : units) {
    if (u.suffix == text.substr(digits)) unit = &u;
  }
  if (unit == nullptr) return NumberStatus::kSyntax;
  uint64_t n = 0;
  NumberStatus status = parse_decimal(text.substr(0, digits), n);
  if (status != NumberStatus::kOk) return status;
  if (__builtin_mul_overflow(n, unit->scale, &value)) {
    return NumberStatus::kOverflow;
  }
  return NumberStatus::kOk;
}

std::string format_duration(uint64_t ms) {
  if (ms == 0) return "0s";
  if (ms % kHourMs == 0) return std::to_string(ms / kHourMs) + "h";
  if (ms % kMinuteMs == 0) return std::to_string(ms / kMinuteMs) + "m";
  if (ms % kSecondMs == 0) return std::to_string(ms / kSecondMs) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes);
}

std::string printable(std::string_view text, size_t limit) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == limit) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string quote(std::string_view text, size_t limit) {
  return "'" + printable(text, limit) + "'";
}

}  // namespace ringshard::server::options_detail
