// plugins/deployments/model_create.h: POST /v1/deployments, the body.
//
//   CreateRequest req;
//   ApiError err;
//   if (!parse_create(shard_parser, req_body, req, err))
//     return res.send(err.status, "application/json", render_error(err, request_id));
//
// The body must be exactly
//   {"name":"web-1","image":"nginx:1.27","resources":{"cpu":2,"memory":512}}
// (members in any order). Refusals, the first found wins (status 400 unless
// said; details.field is a dotted path):
//   413 payload_too_large   over kCreateLimits.max_bytes (64 KiB)
//   malformed_json          not JSON (model_json.h lists what that covers)
//   invalid_request, field and reason:
//     ""             "nested deeper than 16 levels" / "more than 512 JSON values"
//     ""             "must be a JSON object"            (an array, a string...)
//   then each member in document order:
//     <key>          "unknown field"                    (resources.<key> inside)
//     <key>          "duplicate key"                    (a known member given twice)
//     name, image    "must be a string"                 (null included)
//     resources      "must be an object"
//     resources.cpu, resources.memory
//                    "must be an integer"   (any other type; 2.0 and 2e0 are
//                                            not integers: no fraction or exponent)
//                    "must be between 1 and 64" / "must be between 64 and 1048576"
//                                           (huge integers such as 1e30 written
//                                            out in digits included)
//     name           "must be between 1 and 63 characters long"
//                    "must contain only a-z, 0-9 and '-'"
//                    "must start and end with a letter or a digit"
//                    (an RFC 1123 label: the name is used as a hostname)
//     image          "must not be empty" / "must be at most 255 bytes"
//                    "must not contain control characters" (U+0000-001F,
//                                           U+007F-009F)
//   then what is absent, in this order:
//     name, image, resources, resources.cpu, resources.memory  "is required"
// Unknown-field and duplicate-key names are echoed clipped (clip_echo).
// On false, `out` is unspecified (partly filled); on true every field is
// within its rule.
//
// Pure: no I/O, any thread. The parser overload allocates nothing beyond
// `out`'s strings and the error once the parser has grown; the other one
// makes a parser per call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plugins/deployments/deployment.h"
#include "plugins/deployments/model_error.h"
#include "plugins/deployments/model_json.h"

namespace ringshard::deployments {

struct CreateRequest {
  std::string name;
  std::string image;
  Resources resources;
};

inline constexpr size_t kMaxNameLength = 63;
inline constexpr size_t kMaxImageBytes = 255;
inline constexpr int64_t kMinCpu = 1;
inline constexpr int64_t kMaxCpu = 64;
inline constexpr int64_t kMinMemoryMib = 64;
inline constexpr int64_t kMaxMemoryMib = 1048576;
inline constexpr JsonLimits kCreateLimits{.max_bytes = 64 * 1024, .max_depth = 16,
                                          .max_values = 512};

bool parse_create(std::string_view body, CreateRequest& out, ApiError& err);
bool parse_create(BodyParser& parser, std::string_view body, CreateRequest& out,
                  ApiError& err);

// The checks above on node `index` of an already parsed tree (parse_batch
// uses it for each create op's "body"); field paths are relative to it.
bool validate_create(const BodyParser& tree, uint32_t index, CreateRequest& out,
                     ApiError& err);

// The reason a name / image is refused, or empty when it is valid.
std::string_view name_problem(std::string_view name);
std::string_view image_problem(std::string_view image);

}  // namespace ringshard::deployments
