// json/json.h: JSON (RFC 8259) values: a bounded parser and a writer.
//
//   json::ParseError err;
//   std::optional<json::Value> v = json::parse(body, &err);
//   if (!v) -> 400 with err.message (err.offset says where)
//   const json::Value* type = v->find("type");
//   if (type && type->is_string()) use(type->as_string());
//
//   std::string out = "{\"name\":";
//   json::append_string(out, name);   // quoted and escaped
//
// The parser is strict (no comments, no trailing commas, no leading zeros,
// no lone surrogates in \u escapes, UTF-8 checked in strings, no bytes after
// the value except whitespace) and bounded: limits on nesting depth, input
// size and string/array/object sizes are checked before any other work, so
// hostile input costs at most linear time and bounded memory. Duplicate
// object keys: the first one wins in find() (all are kept in members()).
//
// Parsing allocates the Value tree (control plane and message handling,
// not the per-byte data path). Values are plain data; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringshard::json {

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

class Value {
 public:
  Value() = default;  // null
  static Value boolean(bool b);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(std::vector<Value> items);
  static Value object(std::vector<std::pair<std::string, Value>> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors of the wrong type return false / 0 / empty.
  bool as_bool() const { return type_ == Type::kBool && bool_; }
  double as_number() const { return type_ == Type::kNumber ? number_ : 0.0; }
  std::string_view as_string() const { return type_ == Type::kString ? std::string_view(string_) : std::string_view(); }
  const std::vector<Value>& items() const { return items_; }  // array elements
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }
  // An object's member by key (the first if repeated); null if absent or
  // not an object.
  const Value* find(std::string_view key) const;

  // Serialises compactly (no spaces), members in their order, strings as
  // append_string writes them. Numbers: integral values with |x| < 2^53 as
  // integers ("3", "-0" for negative zero), others in the shortest form
  // that reads back to the same double ("0.1", "1e+300"); NaN and infinity,
  // which parse() never produces, as null. parse(v.dump()) equals v for
  // every value parse() returns. Recursive: depth is bounded for parsed
  // values by max_depth, for hand-built ones by the caller.
  std::string dump() const;
  void dump_to(std::string& out) const;  // appends to `out`

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

struct ParseLimits {
  size_t max_bytes = 1 << 20;     // input size
  size_t max_depth = 64;          // nesting of arrays/objects
  size_t max_string_bytes = 1 << 20;
  size_t max_items = 100'000;     // elements of one array / members of one object
};

struct ParseError {
  size_t offset = 0;             // byte offset of the problem
  std::string_view message;      // static text: "unexpected character", ...
};

// Parses one JSON text: whitespace (space, tab, CR, LF only), one value,
// whitespace, end. Returns nullopt and fills *error (when given) on the
// first problem; never throws except std::bad_alloc. Numbers become the
// nearest double; one too large for a double is an error ("number out of
// range"), one too small rounds to (signed) zero. Memory: the Value tree,
// linear in the input. parse() itself does not recurse, but destroying or
// dumping a Value recurses once per level of nesting (up to about 1 KiB of
// stack a level in a sanitizer build), so keep max_depth in the hundreds.
//
// ParseError::offset for each message:
//   "input exceeds max_bytes"            max_bytes (checked first)
//   "nesting exceeds max_depth"          the '[' or '{' one level too deep
//   "array or object exceeds max_items"  the first item over the limit
//   "string exceeds max_string_bytes"    the string's opening quote (keys too;
//                                        the limit is on decoded bytes)
//   "number out of range"                the number's first byte
//   "lone surrogate in \u escape"        the backslash of the unpaired escape
//   "invalid UTF-8 in string"            the first byte of the bad sequence
//   "unexpected end of input"            the input's size
//   any other ("unexpected character", "expected ',' or ']'", "leading zero
//   in number", "control character in string", ...): the first byte that
//   cannot continue a valid document.
std::optional<Value> parse(std::string_view text, ParseError* error = nullptr,
                           const ParseLimits& limits = {});

// Appends `s` as a JSON string literal: quotes around it, '"' and '\\'
// escaped, control characters (< 0x20) as \n \r \t \b \f or \u00XX;
// every other byte as it is ('/' and non-ASCII included), so the output is
// valid JSON when `s` is valid UTF-8.
void append_string(std::string& out, std::string_view s);

}  // namespace ringshard::json
