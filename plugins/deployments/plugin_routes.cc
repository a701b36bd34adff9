// plugins/deployments/plugin_routes.cc: the REST routes (create, list, get,
// delete), the documents (OpenAPI, console) and the deprecated /v1/status.
//
// Every write is answered from the store's done() (after its commit):
// the handler defers, submits, and the answer comes back to this shard.
#include <chrono>
#include <memory>
#include <string>

#include "plugins/deployments/model.h"
#include "plugins/deployments/plugin_common.h"

namespace ringshard::deployments {
namespace {

// RFC 9745 / RFC 8594: /v1/status was the first health route; /health
// replaces it.
constexpr int64_t kStatusDeprecatedAt = 1764547200;  // 2025-12-01T00:00:00Z
constexpr int64_t kStatusSunsetAt = 1798761600;      // 2027-01-01T00:00:00Z

StoreOp op(StoreOp::Kind kind, std::string id = {}) {
  StoreOp o;
  o.kind = kind;
  o.id = std::move(id);
  return o;
}

void create(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res) || !check_json_content_type(req, res)) return;
  CreateRequest body;
  ApiError err;
  if (!parse_create(app.state(req.shard()).parser, req.body(), body, err)) {
    res.send(err.status, "application/json", render_error(err, req.request_id()));
    return;
  }
  std::string key;
  if (!idempotency_key(req, res, key)) return;

  auto sr = std::make_unique<StoreRequest>();
  StoreOp o = op(StoreOp::Kind::kCreate);
  Deployment& d = o.deployment;
  d.id = new_deployment_id();
  d.name = std::move(body.name);
  d.image = std::move(body.image);
  d.resources = body.resources;
  d.status = Status::kPending;
  d.created_at_ms = d.updated_at_ms = wall_ms();
  sr->ops.push_back(std::move(o));
  if (!key.empty()) {
    sr->idempotency_key = std::move(key);
    sr->body_hash = body_hash(req.body());
    sr->render = [](StoreRequest& r) {
      r.status = 201;
      r.body = render_deployment(*r.results[0].deployment);
    };
  }
  SharedAsync a = defer_shared(res);
  std::string rid(req.request_id());
  app.submit(req.shard(), std::move(sr), [&app, a, rid](rp::Shard& shard, StoreRequest& done) {
    if (answer_special(app, shard, *a, done, rid)) return;
    const Deployment& made = *done.results[0].deployment;
    shard.metric_add(app.metrics().created, 1);
    cache_put(app, app.state(shard), made);
    std::string json = done.body.empty() ? render_deployment(made) : done.body;
    a->header("Location", "/v1/deployments/" + made.id);
    a->send(201, "application/json", json);
  });
}

void get_one(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res)) return;
  std::string_view id = req.param("id");
  rp::Shard shard = req.shard();
  ShardState& st = app.state(shard);
  if (const CacheEntry* e = cached(app, st, id)) {
    shard.metric_add(app.metrics().cache_hits, 1);
    res.send(200, "application/json", e->json);
    return;
  }
  if (!valid_deployment_id(id)) {
    send_api_error(res, req, 404, "not_found", "no deployment with this id");
    return;
  }
  shard.metric_add(app.metrics().cache_misses, 1);
  SharedAsync a = defer_shared(res);
  read_deployment(app, shard, id, a, std::string(req.request_id()),
                  [a](rp::Shard&, const Deployment& d) {
                    a->send(200, "application/json", render_deployment(d));
                  });
}

void remove(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res)) return;
  std::string_view id = req.param("id");
  if (!valid_deployment_id(id)) {
    send_api_error(res, req, 404, "not_found", "no deployment with this id");
    return;
  }
  std::string key;
  if (!idempotency_key(req, res, key)) return;
  auto sr = std::make_unique<StoreRequest>();
  sr->ops.push_back(op(StoreOp::Kind::kDelete, std::string(id)));
  if (!key.empty()) {
    sr->idempotency_key = std::move(key);
    sr->body_hash = body_hash(req.body());
    sr->render = [](StoreRequest& r) {
      const StoreOpResult& o = r.results[0];
      if (o.code == StoreOpResult::Code::kOk && o.deployment) {
        r.status = 202;
        r.body = render_deployment(*o.deployment);
      } else {
        ApiError e;
        e.status = 404;
        e.code = "not_found";
        e.message = "no deployment with this id";
        r.status = 404;
        r.body = render_error(e);
      }
    };
  }
  SharedAsync a = defer_shared(res);
  std::string rid(req.request_id());
  app.submit(req.shard(), std::move(sr), [&app, a, rid](rp::Shard& s, StoreRequest& done) {
    if (answer_special(app, s, *a, done, rid)) return;
    const StoreOpResult& r = done.results[0];
    if (r.code != StoreOpResult::Code::kOk || !r.deployment) {
      send_api_error(*a, 404, "not_found", "no deployment with this id", rid);
      return;
    }
    if (r.changed) s.metric_add(app.metrics().deleted, 1);
    a->send(202, "application/json", done.body.empty() ? render_deployment(*r.deployment)
                                                       : done.body);
  });
}

void list(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res)) return;
  ListQuery q;
  ApiError err;
  if (!parse_list_query(req.query(), q, err)) {
    res.send(err.status, "application/json", render_error(err, req.request_id()));
    return;
  }
  auto sr = std::make_unique<StoreRequest>();
  StoreOp o = op(StoreOp::Kind::kList);
  o.limit = q.limit;
  o.after_position = q.after_position;
  o.status_filter = q.status;
  sr->ops.push_back(std::move(o));
  SharedAsync a = defer_shared(res);
  std::string rid(req.request_id());
  app.submit(req.shard(), std::move(sr), [&app, a, rid](rp::Shard& s, StoreRequest& done) {
    if (answer_special(app, s, *a, done, rid)) return;
    const StoreOpResult& r = done.results[0];
    std::string cursor = r.next_position != 0 ? encode_cursor(r.next_position) : std::string();
    a->send(200, "application/json", render_list(r.deployments, cursor));
  });
}

std::string health_body(App& app) {
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                             app.started())
                .count();
  return R"({"status":"healthy","version":")" + std::string(app.host().server_version()) +
         R"(","uptime":)" + std::to_string(up) + "}";
}

}  // namespace

void add_routes(App& app, rp::Host& host) {
  rp::RouteOptions read;
  read.scope = kScopeRead;
  read.rate_limit = app.rate_limit();
  rp::RouteOptions write = read;
  write.scope = kScopeWrite;
  write.max_body = kCreateLimits.max_bytes;

  host.route("POST", "/v1/deployments",
             [&app](rp::Request& q, rp::Response& r) { create(app, q, r); }, write);
  host.route("GET", "/v1/deployments",
             [&app](rp::Request& q, rp::Response& r) { list(app, q, r); }, read);
  host.route("GET", "/v1/deployments/{id}",
             [&app](rp::Request& q, rp::Response& r) { get_one(app, q, r); }, read);
  host.route("DELETE", "/v1/deployments/{id}",
             [&app](rp::Request& q, rp::Response& r) { remove(app, q, r); }, write);

  host.route("GET", "/v1/openapi.json", [](rp::Request&, rp::Response& r) {
    r.send(200, "application/json", openapi_json());
  });
  host.route("GET", "/v1/console", [](rp::Request&, rp::Response& r) {
    r.header("Content-Security-Policy",
             "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "img-src 'self' data:; connect-src 'self' ws: wss:");
    r.send(200, "text/html; charset=utf-8", console_html());
  });
  rp::RouteOptions deprecated;
  deprecated.deprecated_at = kStatusDeprecatedAt;
  deprecated.sunset_at = kStatusSunsetAt;
  deprecated.deprecation_link = "/v1/openapi.json";
  host.route("GET", "/v1/status",
             [&app](rp::Request&, rp::Response& r) {
               r.send(200, "application/json", health_body(app));
             },
             deprecated);
}

}  // namespace ringshard::deployments
