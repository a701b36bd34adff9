// libFuzzer target for plugins/deployments/model_batch.h (parse_batch),
// checked against json/json.h, the project's own strict parser. Besides
// crashes under the sanitizers it aborts when:
//  - an accepted batch does not hold 1..100 ops, or an op that is ok holds
//    an invalid id (get/delete) or an out-of-bounds create request, or an
//    op that is not ok has no 400/404 error with a code;
//  - a refused batch leaves ops behind, or its error is not 400/413 with
//    a code and a JSON error body;
//  - the two parsers disagree on what JSON is (as in deployment_body_fuzz);
//  - json::parse's tree contradicts the answer: an accepted batch whose
//    root has no array "batch" of the same length, or "op" values other
//    than get/create/delete;
//  - render_batch over the ops' answers is not valid JSON with one result
//    per op.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.h"
#include "plugins/deployments/model_batch.h"
#include "plugins/deployments/model_id.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard;
using namespace ringshard::deployments;

constexpr const char* kFuzzTarget = "batch";

void check_create(const CreateRequest& r) {
  FUZZ_CHECK(name_problem(r.name).empty());
  FUZZ_CHECK(image_problem(r.image).empty());
  FUZZ_CHECK(r.resources.cpu >= kMinCpu && r.resources.cpu <= kMaxCpu);
  FUZZ_CHECK(r.resources.memory_mib >= kMinMemoryMib && r.resources.memory_mib <= kMaxMemoryMib);
}

bool error_body_ok(const ApiError& e) {
  const std::optional<json::Value> body = json::parse(render_error(e));
  if (!body || !body->is_object()) return false;
  const json::Value* err = body->find("error");
  return err && err->is_object() && err->find("code") && err->find("message") &&
         err->find("details") && err->find("details")->is_object();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static BodyParser shared;

  std::vector<BatchOp> ops;
  ApiError err;
  const bool ok = parse_batch(shared, in, ops, err);

  json::ParseError perr;
  const std::optional<json::Value> v = json::parse(in, &perr);
  const std::string_view m = perr.message;
  const bool json_limit = !v && (m == "input exceeds max_bytes" ||
                                 m == "nesting exceeds max_depth" ||
                                 m == "array or object exceeds max_items" ||
                                 m == "string exceeds max_string_bytes" ||
                                 m == "number out of range");
  const bool own_limit = !ok && (err.code == "payload_too_large" ||
                                 err.reason.starts_with("nested deeper than") ||
                                 err.reason.starts_with("more than "));
  if (v) {
    FUZZ_CHECK(ok || err.code != "malformed_json");
  } else if (!json_limit && !own_limit) {
    FUZZ_CHECK(!ok && err.code == "malformed_json");
  }

  if (!ok) {
    FUZZ_CHECK(ops.empty());
    FUZZ_CHECK(err.status == 400 || err.status == 413);
    FUZZ_CHECK(!err.code.empty() && !err.message.empty());
    FUZZ_CHECK(error_body_ok(err));
    return 0;
  }

  FUZZ_CHECK(ops.size() >= 1 && ops.size() <= kMaxBatchOps);
  if (v) {
    const json::Value* batch = v->find("batch");
    FUZZ_CHECK(batch && batch->is_array() && batch->items().size() == ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      const json::Value* op = batch->items()[i].find("op");
      FUZZ_CHECK(op && op->is_string());
      const std::string_view kind = op->as_string();
      FUZZ_CHECK(kind == (ops[i].kind == BatchOp::Kind::kGet      ? "get"
                          : ops[i].kind == BatchOp::Kind::kCreate ? "create"
                                                                  : "delete"));
    }
  }

  std::vector<BatchResult> results;
  for (const BatchOp& op : ops) {
    if (!op.ok) {
      FUZZ_CHECK(op.error.status == 400 || op.error.status == 404);
      FUZZ_CHECK(!op.error.code.empty() && !op.error.message.empty());
      results.push_back({op.error.status, render_error(op.error)});
      continue;
    }
    if (op.kind == BatchOp::Kind::kCreate) {
      check_create(op.create);
      results.push_back({201, "{}"});
    } else {
      FUZZ_CHECK(valid_deployment_id(op.id));
      results.push_back({op.kind == BatchOp::Kind::kGet ? uint16_t{200} : uint16_t{202}, ""});
    }
  }
  const std::optional<json::Value> answer = json::parse(render_batch(results));
  FUZZ_CHECK(answer && answer->find("results") && answer->find("results")->is_array());
  FUZZ_CHECK(answer->find("results")->items().size() == ops.size());
  return 0;
}
