// plugins/deployments/model_json.h: how the model reads a JSON request body:
// simdjson's On-Demand parser walks the WHOLE document once (On-Demand by
// itself checks only what is read) and records every value as a node of a
// small tree; the validators (model_create.cc, model_batch.cc) then look at
// the tree in any order they like.
//
//   BodyParser parser;                        // one per shard, reused
//   ApiError err;
//   if (!parser.parse(body, kCreateLimits, err)) return refuse(err);
//   const JsonNode& root = parser.node(0);    // any JSON value
//   for (uint32_t i = root.first_child; i != kNoNode; i = parser.node(i).next) ...
//
// What parse() refuses, in the order it is checked (first failure wins):
//   payload_too_large (413)  body.size() > limits.max_bytes, before any work
//   malformed_json (400)     not RFC 8259 JSON: syntax, invalid UTF-8 anywhere,
//                            bad escapes or lone surrogates, unescaped control
//                            characters in strings, bad numbers or literals,
//                            anything but whitespace after the value, empty
//   invalid_request (400)    valid so far but nested deeper than max_depth
//                            (the root is depth 1) or more than max_values
//                            values: the walk stops there, so malformed JSON
//                            later in the body is not reported
// Numbers are not converted: a node keeps the token as written and whether
// it is integral (no fraction, no exponent), so 1e400 and 2^64 are valid
// JSON here (the validators call them out of range or not integers).
// Duplicate member names are kept, in document order: validators decide.
//
// Memory: the parser keeps simdjson's buffers, a padded copy of the body
// and the node vector between bodies, growing to the largest body seen;
// parsing a body allocates nothing once they are big enough. Node views
// (key, text) point into the parser and stay valid until the next parse()
// or the parser's destruction. Not thread-safe: one per shard (or a local).
// Safe on arbitrary bytes: recursion is bounded by max_depth.
//
// Kernel: On-Demand has no runtime CPU dispatch; model_json.cc runs the
// kernel it was compiled for (the portable one on a baseline x86-64
// build; -DRINGSHARD_SIMDJSON_MARCH=haswell, as for http/json_body.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "plugins/deployments/model_error.h"

namespace ringshard::deployments {

inline constexpr uint32_t kNoNode = UINT32_MAX;

enum class JsonKind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

struct JsonNode {
  JsonKind kind = JsonKind::kNull;
  bool boolean = false;   // kBool
  bool integral = false;  // kNumber: written without fraction or exponent
  uint32_t first_child = kNoNode;  // kObject members / kArray items
  uint32_t next = kNoNode;         // the next sibling
  uint32_t children = 0;           // how many members / items
  std::string_view key;   // member name, unescaped, when the parent is an object
  std::string_view text;  // kString: unescaped value; kNumber: the token as written
};

struct JsonLimits {
  size_t max_bytes = 64 * 1024;
  uint32_t max_depth = 16;
  uint32_t max_values = 1024;
};

class BodyParser {
 public:
  BodyParser();
  ~BodyParser();
  BodyParser(BodyParser&&) noexcept;
  BodyParser& operator=(BodyParser&&) noexcept;

  // True when `body` is one JSON value within `limits`; node(0) is the root.
  // On false, `err` says why and the tree is empty.
  bool parse(std::string_view body, const JsonLimits& limits, ApiError& err);

  const JsonNode& node(uint32_t index) const { return nodes_[index]; }
  size_t size() const { return nodes_.size(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<JsonNode> nodes_;
};

// A JSON value's kind in words, for reasons: "an object", "a string"...
std::string_view kind_name(JsonKind kind);

// Integral number token to int64 (false: out of int64's range).
bool json_token_to_int64(std::string_view token, int64_t& out);

}  // namespace ringshard::deployments
