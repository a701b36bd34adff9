// plugins/deployments/model_batch.cc: the batch body's two levels of
// refusal. Whatever breaks the batch's own shape refuses the request; what
// is wrong inside one op is that op's answer, because a client sending
// 100 ops should learn about each bad one, not retry 100 times.
#include "plugins/deployments/model_batch.h"

#include "plugins/deployments/json_writer.h"
#include "plugins/deployments/model_id.h"

namespace ringshard::deployments {
namespace {

enum Member : unsigned { kOp = 1, kPath = 2, kBody = 4 };

bool refuse(ApiError& err, std::string field, std::string_view reason) {
  err = field_error(field, reason);
  return false;
}

std::string element_path(size_t index) { return "batch[" + std::to_string(index) + "]"; }

void op_error(BatchOp& op, ApiError e) {
  op.ok = false;
  op.error = std::move(e);
}

// The op's own answer for a get/delete path.
void read_path(const JsonNode* path, BatchOp& op) {
  if (path == nullptr) return op_error(op, field_error("path", "is required"));
  if (path->kind != JsonKind::kString) return op_error(op, field_error("path", "must be a string"));
  const std::string_view id = batch_path_id(path->text);
  if (id.empty()) {
    return op_error(op, field_error("path", "must be /deployments/{id} or /v1/deployments/{id}"));
  }
  if (!valid_deployment_id(id)) return op_error(op, not_found_error(id));
  op.id = std::string(id);
}

void read_body(const BodyParser& tree, uint32_t body, BatchOp& op) {
  if (body == kNoNode) return op_error(op, field_error("body", "is required"));
  if (tree.node(body).kind != JsonKind::kObject) {
    return op_error(op, field_error("body", "must be an object"));
  }
  ApiError e;
  if (!validate_create(tree, body, op.create, e)) op_error(op, std::move(e));
}

// One element of "batch": false (err set) when it breaks the whole request.
bool read_op(const BodyParser& tree, uint32_t index, size_t position, BatchOp& op,
             ApiError& err) {
  const JsonNode& element = tree.node(index);
  const std::string prefix = element_path(position);
  if (element.kind != JsonKind::kObject) return refuse(err, prefix, "must be an object");
  unsigned seen = 0;
  uint32_t op_node = kNoNode, path_node = kNoNode, body_node = kNoNode;
  for (uint32_t i = element.first_child; i != kNoNode; i = tree.node(i).next) {
    const JsonNode& m = tree.node(i);
    unsigned bit = 0;
    uint32_t* slot = nullptr;
    if (m.key == "op") {
      bit = kOp;
      slot = &op_node;
    } else if (m.key == "path") {
      bit = kPath;
      slot = &path_node;
    } else if (m.key == "body") {
      bit = kBody;
      slot = &body_node;
    } else {
      return refuse(err, prefix + '.' + clip_echo(m.key), "unknown field");
    }
    if (seen & bit) return refuse(err, prefix + '.' + std::string(m.key), "duplicate key");
    seen |= bit;
    *slot = i;
  }
  if (op_node == kNoNode) return refuse(err, prefix + ".op", "is required");
  const JsonNode& kind = tree.node(op_node);
  const std::string_view name = kind.kind == JsonKind::kString ? kind.text : std::string_view();
  if (name == "get") {
    op.kind = BatchOp::Kind::kGet;
  } else if (name == "create") {
    op.kind = BatchOp::Kind::kCreate;
  } else if (name == "delete") {
    op.kind = BatchOp::Kind::kDelete;
  } else {
    return refuse(err, prefix + ".op", "must be one of get, create, delete");
  }
  if (op.kind == BatchOp::Kind::kCreate) {
    if (path_node != kNoNode) {
      refuse(err, prefix + ".path", "unknown field");
      err.message += " (a create op has a body, not a path)";
      return false;
    }
    read_body(tree, body_node, op);
    return true;
  }
  if (body_node != kNoNode) {
    refuse(err, prefix + ".body", "unknown field");
    err.message += " (a get or delete op has a path, not a body)";
    return false;
  }
  read_path(path_node == kNoNode ? nullptr : &tree.node(path_node), op);
  return true;
}

bool read_batch(const BodyParser& tree, std::vector<BatchOp>& out, ApiError& err) {
  const JsonNode& root = tree.node(0);
  if (root.kind != JsonKind::kObject) {
    err = ApiError{};
    err.reason = "must be a JSON object";
    err.message = "request body must be a JSON object";
    return false;
  }
  uint32_t batch = kNoNode;
  for (uint32_t i = root.first_child; i != kNoNode; i = tree.node(i).next) {
    const JsonNode& m = tree.node(i);
    if (m.key != "batch") return refuse(err, clip_echo(m.key), "unknown field");
    if (batch != kNoNode) return refuse(err, "batch", "duplicate key");
    batch = i;
  }
  if (batch == kNoNode) return refuse(err, "batch", "is required");
  const JsonNode& list = tree.node(batch);
  if (list.kind != JsonKind::kArray) return refuse(err, "batch", "must be an array");
  if (list.children < 1 || list.children > kMaxBatchOps) {
    return refuse(err, "batch", "must contain between 1 and 100 operations");
  }
  out.resize(list.children);
  size_t position = 0;
  for (uint32_t i = list.first_child; i != kNoNode; i = tree.node(i).next, ++position) {
    if (!read_op(tree, i, position, out[position], err)) return false;
  }
  return true;
}

}  // namespace

std::string_view batch_path_id(std::string_view path) {
  if (path.starts_with("/v1/")) path.remove_prefix(3);
  constexpr std::string_view kPrefix = "/deployments/";
  if (!path.starts_with(kPrefix)) return {};
  path.remove_prefix(kPrefix.size());
  if (path.empty() || path.find('/') != std::string_view::npos) return {};
  return path;
}

bool parse_batch(BodyParser& parser, std::string_view body, std::vector<BatchOp>& out,
                 ApiError& err) {
  out.clear();
  if (!parser.parse(body, kBatchLimits, err)) return false;
  if (!read_batch(parser, out, err)) {
    out.clear();
    return false;
  }
  return true;
}

bool parse_batch(std::string_view body, std::vector<BatchOp>& out, ApiError& err) {
  BodyParser parser;
  return parse_batch(parser, body, out, err);
}

std::string render_batch(const std::vector<BatchResult>& results) {
  size_t size = 16;
  for (const BatchResult& r : results) size += r.body.size() + 24;
  std::string out;
  out.reserve(size);
  JsonWriter w(out);
  w.begin_object().key("results").begin_array();
  for (const BatchResult& r : results) {
    w.begin_object().key("status").uinteger(r.status).key("body");
    if (r.body.empty()) {
      w.null();  // a status without a body (204)
    } else {
      w.raw(r.body);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return out;
}

}  // namespace ringshard::deployments
