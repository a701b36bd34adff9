// plugins/deployments/model_batch.h: POST /v1/batch, the body and the answer.
//
//   {"batch":[{"op":"get","path":"/deployments/deploy_..."},
//             {"op":"create","body":{"name":"web","image":"nginx","resources":{...}}},
//             {"op":"delete","path":"/v1/deployments/deploy_..."}]}
//
//   std::vector<BatchOp> ops;
//   ApiError err;
//   if (!parse_batch(shard_parser, body, ops, err)) return refuse(err);
//   for (BatchOp& op : ops) op.ok ? run(op) : answer(op.error.status, render_error(op.error));
//   res.send(200, "application/json", render_batch(results));
//
// THE WHOLE REQUEST is refused (false, err; code invalid_request, 400,
// unless the first two) when:
//   413 payload_too_large   body over kBatchLimits.max_bytes (1 MiB)
//   malformed_json          not JSON (model_json.h)
//   ""               "nested deeper than 16 levels" / "more than 4096 JSON values"
//   ""               "must be a JSON object"     the root is not an object
//   <key>            "unknown field"             a top-level member but "batch"
//   batch            "duplicate key" / "is required" / "must be an array" /
//                    "must contain between 1 and 100 operations"
//   batch[i]         "must be an object"
//   batch[i].<key>   "unknown field"    anything but op, path (get, delete)
//                                       and body (create): a path on a create
//                                       or a body on a get is unknown too
//   batch[i].<key>   "duplicate key"
//   batch[i].op      "is required" / "must be one of get, create, delete"
// checked element by element, in order, so the first such problem wins.
//
// ONE OP is answered in place (ok = false, its own error; the others
// still run) when:
//   get/delete  path  "is required" / "must be a string" /
//                     "must be /deployments/{id} or /v1/deployments/{id}"
//               an id that valid_deployment_id() refuses: 404 not_found,
//                     as GET /v1/deployments/{that id} would answer
//   create      body  "is required" / "must be an object"
//               the body's own parse_create error (fields relative to the
//               body: "resources.cpu"), as POST /v1/deployments would answer
//
// Pure; any thread; allocates the ops and their strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/deployments/model_create.h"
#include "plugins/deployments/model_error.h"
#include "plugins/deployments/model_json.h"

namespace ringshard::deployments {

inline constexpr size_t kMaxBatchOps = 100;
inline constexpr JsonLimits kBatchLimits{.max_bytes = 1024 * 1024, .max_depth = 16,
                                         .max_values = 4096};

struct BatchOp {
  enum class Kind : uint8_t { kGet, kCreate, kDelete } kind = Kind::kGet;
  std::string id;        // get/delete
  CreateRequest create;  // create
  bool ok = true;
  ApiError error;        // when !ok
};

// On true, `out` holds 1..kMaxBatchOps ops in request order; on false it
// is empty and `err` says why.
bool parse_batch(std::string_view body, std::vector<BatchOp>& out, ApiError& err);
bool parse_batch(BodyParser& parser, std::string_view body, std::vector<BatchOp>& out,
                 ApiError& err);

// The path of a get/delete op to the deployment id it names; empty when it
// has neither form (the id itself is not checked).
std::string_view batch_path_id(std::string_view path);

struct BatchResult {
  uint16_t status = 200;
  std::string body;  // JSON text, inserted as is; empty renders as null
};
// {"results":[{"status":201,"body":{...}}, ...]} in order.
std::string render_batch(const std::vector<BatchResult>& results);

}  // namespace ringshard::deployments
