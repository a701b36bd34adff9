// libFuzzer target for json/json.h. Besides looking for crashes under the
// sanitizers it checks the parser's contract and aborts when it breaks:
//  - a failed parse names a static message and an offset inside the input;
//  - a parsed value obeys the limits it was parsed under;
//  - dump() parses back to an equal value (numbers bit for bit, so -0 and
//    the shortest round-trip forms are covered), and dumping that again
//    gives the same text;
//  - small limits accept exactly the documents that the default limits
//    accept and whose tree fits the small limits: never more, and they
//    reject a document for no reason but a limit;
//  - append_string of the input reads back as the input when the input is
//    valid UTF-8, and fails only for invalid UTF-8 otherwise.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "json/json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::json::append_string;
using ringshard::json::parse;
using ringshard::json::ParseError;
using ringshard::json::ParseLimits;
using ringshard::json::Type;
using ringshard::json::Value;

constexpr const char* kFuzzTarget = "json";

bool same_number(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool equal(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.as_bool() == b.as_bool();
    case Type::kNumber:
      return same_number(a.as_number(), b.as_number());
    case Type::kString:
      return a.as_string() == b.as_string();
    case Type::kArray:
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i) {
        if (!equal(a.items()[i], b.items()[i])) return false;
      }
      return true;
    case Type::kObject:
      if (a.members().size() != b.members().size()) return false;
      for (size_t i = 0; i < a.members().size(); ++i) {
        if (a.members()[i].first != b.members()[i].first) return false;
        if (!equal(a.members()[i].second, b.members()[i].second)) return false;
      }
      return true;
  }
  return false;
}

// What a parsed tree needs from the limits.
struct Shape {
  size_t depth = 0;         // deepest nesting of containers
  size_t most_items = 0;    // largest array or object
  size_t longest = 0;       // longest string or key, decoded
};

void measure(const Value& v, size_t depth, Shape& shape) {
  switch (v.type()) {
    case Type::kNumber:
      FUZZ_CHECK(std::isfinite(v.as_number()));
      break;
    case Type::kString:
      shape.longest = std::max(shape.longest, v.as_string().size());
      break;
    case Type::kArray:
      shape.depth = std::max(shape.depth, depth + 1);
      shape.most_items = std::max(shape.most_items, v.items().size());
      for (const Value& item : v.items()) measure(item, depth + 1, shape);
      break;
    case Type::kObject:
      shape.depth = std::max(shape.depth, depth + 1);
      shape.most_items = std::max(shape.most_items, v.members().size());
      for (const auto& [key, value] : v.members()) {
        shape.longest = std::max(shape.longest, key.size());
        measure(value, depth + 1, shape);
      }
      break;
    default:
      break;
  }
}

bool fits(const Shape& s, std::string_view in, const ParseLimits& limits) {
  return in.size() <= limits.max_bytes && s.depth <= limits.max_depth &&
         s.most_items <= limits.max_items && s.longest <= limits.max_string_bytes;
}

void check_error(const ParseError& err, std::string_view in) {
  FUZZ_CHECK(!err.message.empty());
  FUZZ_CHECK(err.offset <= in.size());
}

// dump() can be longer than the input ("1e5" -> "100000"), so it is read
// back with no byte limit; the other limits hold as they are.
ParseLimits without_byte_limit(ParseLimits limits) {
  limits.max_bytes = std::numeric_limits<size_t>::max();
  return limits;
}

void check_round_trip(const Value& v, const ParseLimits& limits) {
  const std::string once = v.dump();
  ParseError err;
  std::optional<Value> again = parse(once, &err, without_byte_limit(limits));
  if (!again) FUZZ_FAIL("dump() does not parse");
  FUZZ_CHECK(equal(v, *again));
  FUZZ_CHECK(again->dump() == once);
}

void check_append_string(std::string_view in) {
  std::string quoted;
  append_string(quoted, in);
  FUZZ_CHECK(quoted.size() >= in.size() + 2);
  ParseLimits limits;
  limits.max_bytes = std::numeric_limits<size_t>::max();
  limits.max_string_bytes = std::numeric_limits<size_t>::max();
  ParseError err;
  std::optional<Value> back = parse(quoted, &err, limits);
  if (back) {
    FUZZ_CHECK(back->is_string() && back->as_string() == in);
  } else {
    FUZZ_CHECK(err.message == "invalid UTF-8 in string");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const ParseLimits defaults;
  ParseError err;
  const std::optional<Value> v = parse(in, &err, defaults);
  Shape shape;
  if (v) {
    measure(*v, 0, shape);
    FUZZ_CHECK(fits(shape, in, defaults));
    check_round_trip(*v, defaults);
  } else {
    check_error(err, in);
  }

  ParseLimits tiny;
  tiny.max_bytes = 256;
  tiny.max_depth = 2;
  tiny.max_string_bytes = 8;
  tiny.max_items = 4;
  ParseError tiny_err;
  const std::optional<Value> t = parse(in, &tiny_err, tiny);
  if (t) {
    FUZZ_CHECK(v.has_value());
    FUZZ_CHECK(equal(*t, *v));
  } else {
    check_error(tiny_err, in);
  }
  if (v) {
    FUZZ_CHECK(t.has_value() == fits(shape, in, tiny));
    if (!t) {
      FUZZ_CHECK(tiny_err.message == "input exceeds max_bytes" ||
                 tiny_err.message == "nesting exceeds max_depth" ||
                 tiny_err.message == "string exceeds max_string_bytes" ||
                 tiny_err.message == "array or object exceeds max_items");
    }
  }

  check_append_string(in);
  return 0;
}
