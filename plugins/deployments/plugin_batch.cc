// plugins/deployments/plugin_batch.cc: POST /v1/batch, 1-100 operations
// (get, create, delete) answered in order in one 200 response, each with
// its own status and body. The operations that reach the store run in one
// request, hence one transaction: a batch's writes commit together.
//
// The route needs deployments:read; a create or delete inside it needs
// deployments:write too, or that operation alone is answered 403. An
// operation that failed validation is answered 400 in place; the others
// still run. Idempotency-Key works as on the single routes (the whole
// batch response is stored under the key).
#include <memory>
#include <string>
#include <vector>

#include "plugins/deployments/model.h"
#include "plugins/deployments/plugin_common.h"

namespace ringshard::deployments {
namespace {

struct Plan {
  std::vector<BatchOp> ops;
  std::vector<int> slot;  // per op: index in the store request's ops, -1: answered in place
  std::vector<BatchResult> fixed;  // per op: the in-place answer
};

BatchResult error_result(uint16_t status, std::string code, std::string message) {
  ApiError e;
  e.status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  return {status, render_error(e)};
}

std::string render_plan(const Plan& plan, const std::vector<StoreOpResult>& results) {
  std::vector<BatchResult> out;
  out.reserve(plan.ops.size());
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    if (plan.slot[i] < 0) {
      out.push_back(plan.fixed[i]);
      continue;
    }
    const StoreOpResult& r = results[static_cast<size_t>(plan.slot[i])];
    bool found = r.code == StoreOpResult::Code::kOk && r.deployment;
    switch (plan.ops[i].kind) {
      case BatchOp::Kind::kGet:
        out.push_back(found ? BatchResult{200, render_deployment(*r.deployment)}
                            : error_result(404, "not_found", "no deployment with this id"));
        break;
      case BatchOp::Kind::kCreate:
        out.push_back({201, render_deployment(*r.deployment)});
        break;
      case BatchOp::Kind::kDelete:
        out.push_back(found ? BatchResult{202, render_deployment(*r.deployment)}
                            : error_result(404, "not_found", "no deployment with this id"));
        break;
    }
  }
  return render_batch(out);
}

void batch(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res) || !check_json_content_type(req, res)) return;
  auto plan = std::make_shared<Plan>();
  ApiError err;
  if (!parse_batch(app.state(req.shard()).parser, req.body(), plan->ops, err)) {
    res.send(err.status, "application/json", render_error(err, req.request_id()));
    return;
  }
  std::string key;
  if (!idempotency_key(req, res, key)) return;

  bool may_write = req.has_scope(kScopeWrite);
  auto sr = std::make_unique<StoreRequest>();
  int64_t now = wall_ms();
  plan->slot.assign(plan->ops.size(), -1);
  plan->fixed.resize(plan->ops.size());
  for (size_t i = 0; i < plan->ops.size(); ++i) {
    BatchOp& b = plan->ops[i];
    if (!b.ok) {
      plan->fixed[i] = {b.error.status, render_error(b.error)};
      continue;
    }
    if (b.kind != BatchOp::Kind::kGet && !may_write) {
      plan->fixed[i] = error_result(403, "forbidden",
                                    "this operation needs the deployments:write scope");
      continue;
    }
    StoreOp o;
    switch (b.kind) {
      case BatchOp::Kind::kGet:
        o.kind = StoreOp::Kind::kGet;
        o.id = b.id;
        break;
      case BatchOp::Kind::kDelete:
        o.kind = StoreOp::Kind::kDelete;
        o.id = b.id;
        break;
      case BatchOp::Kind::kCreate: {
        o.kind = StoreOp::Kind::kCreate;
        Deployment& d = o.deployment;
        d.id = new_deployment_id();
        d.name = b.create.name;
        d.image = b.create.image;
        d.resources = b.create.resources;
        d.status = Status::kPending;
        d.created_at_ms = d.updated_at_ms = now;
        break;
      }
    }
    plan->slot[i] = static_cast<int>(sr->ops.size());
    sr->ops.push_back(std::move(o));
  }

  std::string rid(req.request_id());
  SharedAsync a = defer_shared(res);
  if (sr->ops.empty()) {
    a->send(200, "application/json", render_plan(*plan, {}));
    return;
  }
  if (!key.empty()) {
    sr->idempotency_key = std::move(key);
    sr->body_hash = body_hash(req.body());
    sr->render = [plan](StoreRequest& r) {
      r.status = 200;
      r.body = render_plan(*plan, r.results);
    };
  }
  app.submit(req.shard(), std::move(sr), [&app, a, plan, rid](rp::Shard& s, StoreRequest& done) {
    if (answer_special(app, s, *a, done, rid)) return;
    for (size_t i = 0; i < plan->ops.size(); ++i) {
      if (plan->slot[i] < 0) continue;
      const StoreOpResult& r = done.results[static_cast<size_t>(plan->slot[i])];
      if (plan->ops[i].kind == BatchOp::Kind::kCreate) s.metric_add(app.metrics().created, 1);
      if (plan->ops[i].kind == BatchOp::Kind::kDelete && r.changed) {
        s.metric_add(app.metrics().deleted, 1);
      }
    }
    a->send(200, "application/json",
            done.body.empty() ? render_plan(*plan, done.results) : done.body);
  });
}

}  // namespace

void add_batch_route(App& app, rp::Host& host) {
  rp::RouteOptions o;
  o.scope = kScopeRead;
  o.rate_limit = app.rate_limit();
  o.max_body = kBatchLimits.max_bytes;
  host.route("POST", "/v1/batch", [&app](rp::Request& q, rp::Response& r) { batch(app, q, r); },
             o);
}

}  // namespace ringshard::deployments
