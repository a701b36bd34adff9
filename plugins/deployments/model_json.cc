// plugins/deployments/model_json.cc: the On-Demand walk behind BodyParser.
// Every value is read, because On-Demand validates only what is read:
// strings are unescaped (escapes and surrogates checked), numbers and
// literals are checked from their raw tokens (simdjson's converters would
// refuse valid JSON such as 1e400, and its root-scalar getters have let
// "falseu" pass), and the end of input is checked explicitly.
#include "plugins/deployments/model_json.h"

#include <simdjson.h>

#include <algorithm>
#include <string>

namespace ringshard::deployments {

namespace ondemand = simdjson::ondemand;

struct BodyParser::Impl {
  ondemand::parser parser;
  std::string padded;  // the body followed by SIMDJSON_PADDING spaces
};

BodyParser::BodyParser() : impl_(std::make_unique<Impl>()) {}
BodyParser::~BodyParser() = default;
BodyParser::BodyParser(BodyParser&&) noexcept = default;
BodyParser& BodyParser::operator=(BodyParser&&) noexcept = default;

namespace {

std::string_view describe(simdjson::error_code e) {
  switch (e) {
    case simdjson::EMPTY: return "empty body";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::UNCLOSED_STRING: return "unterminated string";
    case simdjson::UNESCAPED_CHARS: return "unescaped control character in a string";
    case simdjson::STRING_ERROR: return "invalid string escape";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid literal";
    case simdjson::NUMBER_ERROR: return "invalid number";
    case simdjson::CAPACITY: return "body too large to parse";
    // For a root object or array simdjson checks up front that the last
    // token closes it: "{" and "{} x" both land here.
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "unterminated object or array, or content after it";
    default: return "syntax error";
  }
}

std::string_view trim_trailing_space(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 8259 section 6: [ "-" ] int [ frac ] [ exp ]. `integral`: no frac, no exp.
bool scan_number(std::string_view s, bool& integral) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  integral = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
    integral = false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
    integral = false;
  }
  return i == s.size();
}

// A scalar's node from its raw token (numbers and literals); false when the
// token is not a valid one.
bool scalar_from_token(std::string_view token, JsonNode& node) {
  token = trim_trailing_space(token);
  if (token == "true" || token == "false") {
    node.kind = JsonKind::kBool;
    node.boolean = token == "true";
    return true;
  }
  if (token == "null") {
    node.kind = JsonKind::kNull;
    return true;
  }
  node.kind = JsonKind::kNumber;
  node.text = token;
  return scan_number(token, node.integral);
}

class Walker {
 public:
  Walker(std::vector<JsonNode>& nodes, const JsonLimits& limits, ApiError& err)
      : nodes_(nodes), limits_(limits), err_(err) {}

  bool malformed(std::string_view reason) {
    err_ = ApiError{};
    err_.status = 400;
    err_.code = "malformed_json";
    err_.reason = std::string(reason);
    err_.message = "request body is not valid JSON: " + err_.reason;
    return false;
  }
  bool malformed(simdjson::error_code e) { return malformed(describe(e)); }

  bool limit(std::string reason) {
    err_ = ApiError{};
    err_.reason = std::move(reason);
    err_.message = "request body refused: " + err_.reason;
    return false;
  }

  bool add_node(uint32_t& index) {
    if (nodes_.size() >= limits_.max_values) {
      return limit("more than " + std::to_string(limits_.max_values) + " JSON values");
    }
    index = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    return true;
  }

  bool enter(uint32_t depth) {
    if (depth <= limits_.max_depth) return true;
    return limit("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  // Links child `index` as the last child of `parent` (after `last`).
  void link(uint32_t parent, uint32_t& last, uint32_t index) {
    if (last == kNoNode) {
      nodes_[parent].first_child = index;
    } else {
      nodes_[last].next = index;
    }
    last = index;
    ++nodes_[parent].children;
  }

  bool object(ondemand::object obj, uint32_t index, uint32_t depth) {
    if (!enter(depth)) return false;
    nodes_[index].kind = JsonKind::kObject;
    uint32_t last = kNoNode;
    for (auto member : obj) {
      ondemand::field field;
      if (auto e = std::move(member).get(field)) return malformed(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return malformed(e);
      uint32_t child = 0;
      if (!add_node(child)) return false;
      nodes_[child].key = key;
      link(index, last, child);
      if (!value(field.value(), child, depth + 1)) return false;
    }
    return true;
  }

  bool array(ondemand::array arr, uint32_t index, uint32_t depth) {
    if (!enter(depth)) return false;
    nodes_[index].kind = JsonKind::kArray;
    uint32_t last = kNoNode;
    for (auto item : arr) {
      ondemand::value v;
      if (auto e = std::move(item).get(v)) return malformed(e);
      uint32_t child = 0;
      if (!add_node(child)) return false;
      link(index, last, child);
      if (!value(v, child, depth + 1)) return false;
    }
    return true;
  }

  // Fills node `index` from `v`, a value at container depth `depth` (the
  // depth it has if it is an object or an array).
  bool value(ondemand::value v, uint32_t index, uint32_t depth) {
    ondemand::json_type type;
    if (auto e = v.type().get(type)) return malformed(e);
    switch (type) {
      case ondemand::json_type::object: {
        ondemand::object obj;
        if (auto e = v.get_object().get(obj)) return malformed(e);
        return object(obj, index, depth);
      }
      case ondemand::json_type::array: {
        ondemand::array arr;
        if (auto e = v.get_array().get(arr)) return malformed(e);
        return array(arr, index, depth);
      }
      case ondemand::json_type::string: {
        std::string_view s;
        if (auto e = v.get_string().get(s)) return malformed(e);
        nodes_[index].kind = JsonKind::kString;
        nodes_[index].text = s;
        return true;
      }
      case ondemand::json_type::number:
      case ondemand::json_type::boolean:
      case ondemand::json_type::null:
        if (!scalar_from_token(v.raw_json_token(), nodes_[index])) {
          return malformed(type == ondemand::json_type::number ? "invalid number"
                                                               : "invalid literal");
        }
        return true;
    }
    return malformed("syntax error");
  }

 private:
  std::vector<JsonNode>& nodes_;
  const JsonLimits& limits_;
  ApiError& err_;
};

// The whole document into `nodes` (node 0 the root); false with the error
// recorded by `walk`.
bool walk_document(ondemand::parser& parser, const simdjson::padded_string_view& input,
                   Walker& walk, std::vector<JsonNode>& nodes) {
  const char* input_end = input.data() + input.size();
  ondemand::document doc;
  if (auto e = parser.iterate(input).get(doc)) return walk.malformed(e);
  ondemand::json_type type;
  if (auto e = doc.type().get(type)) return walk.malformed(e);
  uint32_t root = 0;
  if (!walk.add_node(root)) return false;
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object obj;
      if (auto e = doc.get_object().get(obj)) return walk.malformed(e);
      if (!walk.object(obj, root, 1)) return false;
      break;
    }
    case ondemand::json_type::array: {
      ondemand::array arr;
      if (auto e = doc.get_array().get(arr)) return walk.malformed(e);
      if (!walk.array(arr, root, 1)) return false;
      break;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      if (auto e = doc.get_string().get(s)) return walk.malformed(e);
      nodes[root].kind = JsonKind::kString;
      nodes[root].text = s;
      break;
    }
    case ondemand::json_type::number:
    case ondemand::json_type::boolean:
    case ondemand::json_type::null: {
      // raw_json_token() peeks without consuming, so current_location()
      // would still point at the token: the token must reach the end.
      std::string_view token;
      if (auto e = doc.raw_json_token().get(token)) return walk.malformed(e);
      if (token.data() + token.size() != input_end) {
        return walk.malformed("content after the JSON value");
      }
      if (!scalar_from_token(token, nodes[root])) {
        return walk.malformed(type == ondemand::json_type::number ? "invalid number"
                                                                  : "invalid literal");
      }
      return true;
    }
  }
  // At the end of the input current_location() is OUT_OF_BOUNDS; anything
  // else is a token after the root value.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return walk.malformed("content after the JSON value");
  }
  return true;
}

}  // namespace

bool BodyParser::parse(std::string_view body, const JsonLimits& limits, ApiError& err) {
  nodes_.clear();
  if (body.size() > limits.max_bytes) {
    err = ApiError{};
    err.status = 413;
    err.code = "payload_too_large";
    err.reason = "must be at most " + std::to_string(limits.max_bytes) + " bytes";
    err.message = "request body too large: " + err.reason;
    return false;
  }
  // resize() reallocates only when a bigger body than ever before comes.
  impl_->padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
  std::copy(body.begin(), body.end(), impl_->padded.begin());
  std::fill(impl_->padded.begin() + static_cast<std::ptrdiff_t>(body.size()),
            impl_->padded.end(), ' ');
  const simdjson::padded_string_view input(impl_->padded.data(), body.size(),
                                           impl_->padded.size());
  Walker walk(nodes_, limits, err);
  if (!walk_document(impl_->parser, input, walk, nodes_)) {
    nodes_.clear();  // a half-walked document answers no questions
    return false;
  }
  return true;
}

std::string_view kind_name(JsonKind kind) {
  switch (kind) {
    case JsonKind::kNull: return "null";
    case JsonKind::kBool: return "a boolean";
    case JsonKind::kNumber: return "a number";
    case JsonKind::kString: return "a string";
    case JsonKind::kArray: return "an array";
    case JsonKind::kObject: return "an object";
  }
  return "a value";
}

bool json_token_to_int64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty()) return false;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace ringshard::deployments
