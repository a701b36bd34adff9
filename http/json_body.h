// http/json_body.h: a declarative reader for JSON request bodies, over
// simdjson's On-Demand parser, that answers a bad body with the project's
// standard error:
//   {"error":{"code":"invalid_request","message":"...",
//             "details":{"field":"resources.cpu","reason":"must be between 1 and 64"}}}
//
//   if (!is_json_content_type(req.header("content-type")))
//     return res.send(415, "application/json", unsupported_media_type_json());
//   JsonBody body(shard_parser, req.body(), {.unknown_fields = UnknownFields::kReject});
//   auto name = body.string("name", {.min = 1, .max = 63, .allowed = is_dns_label,
//                                    .allowed_reason = "must contain only a-z, 0-9 and '-'"});
//   auto cpu = body.integer("resources.cpu", 1, 64);
//   auto gpu = body.optional_boolean("resources.gpu");
//   if (!body.ok())
//     return res.send(body.error().status, "application/json", body.error_json());
//   use(name, cpu, gpu.value_or(false));   // values valid only when ok()
//
// Semantics:
//  - The body must be one JSON object (RFC 8259; UTF-8 checked, invalid
//    escapes, trailing bytes and nesting over max_depth refused): otherwise
//    code "invalid_json" with details.reason, status 400. The constructor
//    walks the WHOLE document once (On-Demand by itself checks only what
//    is read), recording each object member under its dotted path
//    ("resources.cpu"); array elements are checked but not recorded.
//    A member name repeated (or colliding through a '.' in a key) is an
//    invalid_request: parsers disagree on which copy wins.
//  - Accessors look a path up. The first failure is kept (code
//    "invalid_request", details.field and .reason); later accessors return
//    defaults and record nothing. Required and absent: "is required"; an
//    ancestor that is not an object: "must be an object" on the ancestor;
//    wrong type: "must be a string" (integer, boolean); out of range: "must
//    be between MIN and MAX"; strings are measured in Unicode code points.
//    optional_* return nullopt when the member is absent or null.
//  - ok() ends the declarations: with UnknownFields::kReject it fails on the
//    first member (in document order) that no accessor asked for, with
//    reason "is not a known field" (an object counts as asked for when a
//    path below it was). Call it once, after the last accessor.
//
// Cost and memory: simdjson needs SIMDJSON_PADDING (64) readable bytes past
// the end of the input, so the body is copied once into a padded buffer
// (a memcpy, small beside parsing) unless the caller passes `capacity` and
// the bytes after the body are readable (then it is parsed in place). A
// JsonBodyParser keeps simdjson's buffers and the padded copy between
// bodies: hold one per shard (it is not thread-safe) and reading a body
// allocates only the JsonBody's own record of members (one string arena and
// one vector). The one-argument constructor makes a parser each time.
// Views returned by accessors point into the JsonBody and stay valid while
// it lives. Safe on arbitrary bytes: every limit is checked while walking,
// recursion is bounded by max_depth, numbers of any size are classified
// without being converted (an integer outside int64 is "out of range").
//
// Kernel: On-Demand has no runtime CPU dispatch; it runs the kernel
// json_body.cc was compiled for, on a baseline x86-64 build simdjson's
// portable "fallback" one. -DRINGSHARD_SIMDJSON_MARCH=haswell (or native)
// builds it for AVX2 (x86-64-v3 is not enough: it lacks PCLMUL), for
// machines known to have it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::http {

enum class UnknownFields : uint8_t { kIgnore, kReject };

struct JsonBodyLimits {
  UnknownFields unknown_fields = UnknownFields::kIgnore;
  uint32_t max_depth = 32;    // nested objects/arrays, the root object is 1;
                              // at most kJsonMaxDepthCeiling
  uint32_t max_fields = 256;  // object members recorded (not array items)
};

inline constexpr uint32_t kJsonMaxDepthCeiling = 256;
inline constexpr size_t kJsonPadding = 64;  // == SIMDJSON_PADDING

struct StringRule {
  size_t min = 0;     // length in code points
  size_t max = 1024;
  bool (*allowed)(std::string_view) = nullptr;  // charset check, or none
  std::string_view allowed_reason = "contains characters that are not allowed";
};

struct JsonBodyError {
  uint16_t status = 0;     // 400, or 0 while none
  std::string_view code;   // "invalid_json" or "invalid_request"
  std::string field;       // dotted path; empty for body-wide errors
  std::string reason;
};

// simdjson's parser and a padded buffer, reused across bodies. One per
// shard; not thread-safe. Holds memory for the largest body seen so far.
class JsonBodyParser {
 public:
  JsonBodyParser();
  ~JsonBodyParser();
  JsonBodyParser(JsonBodyParser&&) noexcept;
  JsonBodyParser& operator=(JsonBodyParser&&) noexcept;

 private:
  friend class JsonBody;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class JsonBody {
 public:
  explicit JsonBody(std::string_view body, const JsonBodyLimits& limits = {});
  JsonBody(JsonBodyParser& parser, std::string_view body,
           const JsonBodyLimits& limits = {});
  // `capacity`: bytes readable from body.data(); at least body.size() +
  // kJsonPadding lets the body be parsed in place, without the copy.
  JsonBody(JsonBodyParser& parser, std::string_view body, size_t capacity,
           const JsonBodyLimits& limits);

  std::string_view string(std::string_view path, const StringRule& rule = {});
  std::optional<std::string_view> optional_string(std::string_view path,
                                                  const StringRule& rule = {});
  int64_t integer(std::string_view path, int64_t min, int64_t max);
  std::optional<int64_t> optional_integer(std::string_view path, int64_t min,
                                          int64_t max);
  bool boolean(std::string_view path);
  std::optional<bool> optional_boolean(std::string_view path);
  // Whether the member exists (any type, null included). Marks it asked for.
  bool has(std::string_view path);

  // True when the body parsed and every accessor so far succeeded; applies
  // the unknown-field policy (see above).
  bool ok();
  const JsonBodyError& error() const { return error_; }
  // The standard error body for error() ({} members as above).
  std::string error_json() const;

 private:
  enum class Kind : uint8_t { kNull, kBool, kInteger, kNumber, kString, kArray, kObject };
  struct Entry {
    uint32_t path_offset = 0;
    uint32_t path_size = 0;
    uint32_t text_offset = 0;  // kString: the unescaped value in arena_
    uint32_t text_size = 0;
    int64_t integer = 0;
    Kind kind = Kind::kNull;
    bool boolean = false;
    bool out_of_range = false;  // kInteger outside int64
    bool asked = false;
  };
  struct Walker;
  friend struct Walker;

  void parse(JsonBodyParser& parser, std::string_view body, size_t capacity);
  std::string_view path_of(const Entry& e) const;
  Entry* lookup(std::string_view path, bool required);
  void fail(std::string_view field, std::string reason);
  void fail_json(std::string reason);
  std::optional<std::string_view> read_string(std::string_view path,
                                              const StringRule& rule, bool required);
  std::optional<int64_t> read_integer(std::string_view path, int64_t min,
                                      int64_t max, bool required);
  std::optional<bool> read_boolean(std::string_view path, bool required);

  JsonBodyLimits limits_;
  std::string arena_;  // paths and unescaped strings
  std::vector<Entry> entries_;
  JsonBodyError error_;
};

// Content-Type is application/json or application/<anything>+json, with a
// charset parameter, if any, of utf-8 (case-insensitive; RFC 8259 8.1 makes
// JSON UTF-8). Other parameters are ignored.
bool is_json_content_type(std::string_view content_type);

// The 415 body for a request whose Content-Type is not JSON.
std::string unsupported_media_type_json();

}  // namespace ringshard::http
