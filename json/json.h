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

  // Serialises compactly (no spaces), numbers as integers when integral
  // and within 2^53.
  std::string dump() const;
  void dump_to(std::string& out) const;

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

std::optional<Value> parse(std::string_view text, ParseError* error = nullptr,
                           const ParseLimits& limits = {});

// Appends `s` as a JSON string literal (quotes, escapes for '"', '\\' and
// control characters; other bytes as they are).
void append_string(std::string& out, std::string_view s);

}  // namespace ringshard::json
