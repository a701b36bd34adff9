// tests/deployments/json_test_util.h: reading what the model renders with a
// parser that is not the model's own writer (simdjson's DOM, strict: it
// refuses invalid JSON and invalid UTF-8), for the deployment tests.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace ringshard::deployments::testing {

// The parsed document; check .error() first. Keep the parser alive while
// the element is used.
inline simdjson::simdjson_result<simdjson::dom::element> parse_json(
    simdjson::dom::parser& parser, std::string_view text) {
  return parser.parse(simdjson::padded_string(text));
}

inline bool is_valid_json(std::string_view text) {
  simdjson::dom::parser parser;
  return parse_json(parser, text).error() == simdjson::SUCCESS;
}

// A string member at a JSON pointer ("/error/code"); "<missing>" if absent
// or not a string.
inline std::string string_at(std::string_view json, std::string_view pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parse_json(parser, json).get(root)) return "<invalid json>";
  std::string_view s;
  if (root.at_pointer(pointer).get_string().get(s)) return "<missing>";
  return std::string(s);
}

}  // namespace ringshard::deployments::testing
