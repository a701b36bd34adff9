// libFuzzer target for http/json_body.h (simdjson On-Demand underneath),
// checked against json/json.h, the project's own strict parser. Besides
// looking for crashes under the sanitizers it aborts when:
//  - json::parse accepts the input but JsonBody calls it invalid JSON, or
//    json::parse rejects it (for a reason other than its own limits,
//    "number out of range" among them) and
//    JsonBody accepts it: the two must agree on what JSON is;
//  - for an object without repeated members, a member JsonBody reads
//    differs from the one json::parse found (strings byte for byte,
//    integers when they fit, booleans), or reading fails for any reason
//    but the value's type or range;
//  - error_json() is not a JSON object {"error":{"code","message","details"}};
//  - parsing in place (with padding capacity) answers differently from
//    parsing a copy.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "http/json_body.h"
#include "json/json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard;
using http::JsonBody;
using http::JsonBodyLimits;

constexpr const char* kFuzzTarget = "json_body";

bool lower_alnum_dash(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool has_repeated_member(const json::Value& v) {
  if (v.is_array()) {
    for (const json::Value& i : v.items()) {
      if (has_repeated_member(i)) return true;
    }
  }
  if (!v.is_object()) return false;
  const auto& m = v.members();
  for (size_t i = 0; i < m.size(); ++i) {
    for (size_t j = i + 1; j < m.size(); ++j) {
      if (m[i].first == m[j].first) return true;
    }
    if (m[i].first.find('.') != std::string::npos) return true;  // may collide
    if (has_repeated_member(m[i].second)) return true;
  }
  return false;
}

void check_error_json(const JsonBody& body) {
  const std::optional<json::Value> e = json::parse(body.error_json());
  FUZZ_CHECK(e.has_value() && e->is_object());
  const json::Value* err = e->find("error");
  FUZZ_CHECK(err != nullptr && err->is_object());
  FUZZ_CHECK(err->find("code") != nullptr && err->find("code")->is_string());
  FUZZ_CHECK(err->find("message") != nullptr && err->find("message")->is_string());
  FUZZ_CHECK(err->find("details") != nullptr && err->find("details")->is_object());
}

struct Answer {
  bool ok = false;
  std::string code, field, reason, name;
  int64_t cpu = 0;
};

Answer read(JsonBody& body) {
  Answer a;
  a.name = std::string(body.string("name", {.min = 1, .max = 63, .allowed = lower_alnum_dash}));
  a.cpu = body.optional_integer("resources.cpu", 1, 64).value_or(0);
  body.optional_boolean("flag");
  a.ok = body.ok();
  a.code = std::string(body.error().code);
  a.field = body.error().field;
  a.reason = body.error().reason;
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static http::JsonBodyParser parser;
  const JsonBodyLimits limits{.max_depth = http::kJsonMaxDepthCeiling, .max_fields = 1 << 20};

  json::ParseError perr;
  const std::optional<json::Value> v = json::parse(in, &perr);
  const bool json_limit = !v && (perr.message == "nesting exceeds max_depth" ||
                                 perr.message == "array or object exceeds max_items" ||
                                 perr.message == "string exceeds max_string_bytes" ||
                                 perr.message == "input exceeds max_bytes" ||
                                 // valid JSON (RFC 8259 6) that json.h refuses
                                 // to round to infinity: JsonBody keeps the token
                                 perr.message == "number out of range");

  JsonBody body(parser, in, limits);
  const bool parsed = body.error().status == 0;
  if (v) {
    FUZZ_CHECK(body.error().code != "invalid_json");
    if (v->is_object() && !has_repeated_member(*v)) FUZZ_CHECK(parsed);
  } else if (!json_limit) {
    FUZZ_CHECK(!parsed);
    FUZZ_CHECK(body.error().code == "invalid_json");
  }

  // Typed reads agree with json::parse's tree.
  if (parsed && v) {
    JsonBody typed(parser, in, limits);
    for (const auto& [key, value] : v->members()) {
      if (key.find('.') != std::string::npos) continue;
      if (value.is_string()) {
        const std::optional<std::string_view> s =
            typed.optional_string(key, {.min = 0, .max = SIZE_MAX});
        FUZZ_CHECK(s.has_value() && *s == value.as_string());
      } else if (value.is_bool()) {
        FUZZ_CHECK(typed.optional_boolean(key) == value.as_bool());
      } else if (value.is_number()) {
        const std::optional<int64_t> i = typed.optional_integer(key, INT64_MIN, INT64_MAX);
        const double d = value.as_number();
        if (i) {
          FUZZ_CHECK(static_cast<double>(*i) == d);
        } else {
          FUZZ_CHECK(typed.error().reason == "must be an integer" ||
                     typed.error().reason.starts_with("must be between"));
          break;  // the first error stops further reads
        }
      } else if (value.is_null()) {
        FUZZ_CHECK(typed.has(key));
      }
      if (typed.error().status != 0) break;
    }
  }

  Answer copied = read(body);
  if (!copied.ok) check_error_json(body);

  // In place: the same bytes with padding capacity behind them.
  std::string padded(in);
  padded.resize(in.size() + http::kJsonPadding, '\0');
  JsonBody in_place(parser, std::string_view(padded.data(), in.size()), padded.size(), limits);
  const Answer placed = read(in_place);
  FUZZ_CHECK(placed.ok == copied.ok && placed.code == copied.code &&
             placed.field == copied.field && placed.reason == copied.reason &&
             placed.name == copied.name && placed.cpu == copied.cpu);

  JsonBody strict(parser, in, {.unknown_fields = http::UnknownFields::kReject, .max_depth = 8});
  if (!read(strict).ok) check_error_json(strict);
  return 0;
}
