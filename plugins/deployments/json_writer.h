// plugins/deployments/json_writer.h: the small writer every deployment API
// response is built with (responses are never built through a JSON
// library: the shapes are fixed, and appending to one string is cheap).
//
//   std::string out;
//   JsonWriter w(out);
//   w.begin_object().key("id").string(d.id).key("cpu").integer(2).end_object();
//   // out == {"id":"deploy_...","cpu":2}
//
// Contract:
//  - The writer appends to a string the caller owns; it allocates only by
//    growing that string. It tracks commas itself, up to kMaxDepth nested
//    objects/arrays (a bug past that: assert in debug builds).
//  - Strings are escaped for JSON: '"', '\\' and every control character
//    (U+0000..U+001F, and U+007F) are escaped; other valid UTF-8 passes
//    through unchanged. Bytes that are not valid UTF-8 become U+FFFD (as
//    "\ufffd"), one per bad byte, so the output is always valid JSON and
//    valid UTF-8 even when a string came from a URL or a header.
//  - raw() and raw_value() insert text that is already JSON (a rendered
//    body, a timestamp) unchecked.
//  - The writer produces a value only when calls are balanced; it does
//    not check that keys are only used inside objects.
//
// Thread: any; a JsonWriter is a short-lived local.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringshard::deployments {

// Appends `s` escaped as the inside of a JSON string (no quotes).
void append_json_escaped(std::string& out, std::string_view s);
// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  static constexpr int kMaxDepth = 63;

  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& integer(int64_t v);
  JsonWriter& uinteger(uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);
  // For a value appended piecewise: the comma (if due) is written, and the
  // caller appends one complete JSON value to the string returned.
  std::string& raw_value();

 private:
  void before_value();

  std::string& out_;
  // Bit d: the container at depth d already holds an element (a comma is
  // due before the next one).
  uint64_t has_element_ = 0;
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace ringshard::deployments
