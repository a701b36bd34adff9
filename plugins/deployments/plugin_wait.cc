// plugins/deployments/plugin_wait.cc: GET /v1/deployments/{id}/wait, the
// long-poll. 200 with the deployment once it is in the status asked for,
// 408 when the timeout passes first, 409 as soon as it can never get there
// (e.g. waiting for running on a failed one), 404 if there is no such
// deployment.
//
// A waiter is parked on the shard that holds the request, keyed by id;
// App::apply() wakes it with every committed change of that deployment
// (every shard applies every change). The state it starts from is read
// from the cache or the store, and any change committed after that read
// is applied on this shard after the read's answer arrived (the store's
// posts to a shard run in order), so no transition slips between the
// check and the parking.
#include <memory>
#include <string>

#include "plugins/deployments/model.h"
#include "plugins/deployments/plugin_common.h"

namespace ringshard::deployments {
namespace {

// The deferred request's own deadline sits past the wait's timeout, so the
// client gets our 408 rather than the server's 504.
constexpr uint32_t kDeadlineSlackMs = 5'000;

bool settle(rp::Async& a, const Deployment& d, Status target, std::string_view rid) {
  if (d.status == target) {
    a.send(200, "application/json", render_deployment(d));
    return true;
  }
  if (!can_reach(d.status, target)) {
    ApiError e;
    e.status = 409;
    e.code = "status_unreachable";
    e.message = "deployment is " + std::string(status_name(d.status)) +
                " and can no longer become " + std::string(status_name(target));
    a.send(409, "application/json", render_error(e, rid));
    return true;
  }
  return false;
}

void park(App& app, rp::Shard& shard, SharedAsync a, const Deployment& d, WaitQuery q,
          std::string rid) {
  if (settle(*a, d, q.status, rid)) return;
  ShardState& st = app.state(shard);
  if (st.draining) {
    a->header("Retry-After", "1");
    send_api_error(*a, 503, "shutting_down", "the server is shutting down; ask again", rid);
    return;
  }
  uint64_t token = st.next_waiter_token++;
  Waiter w;
  w.token = token;
  w.target = q.status;
  w.request_id = rid;
  w.answer = std::move(*a);
  w.timer = shard.after(q.timeout_ms, [&app, id = d.id, token, rid](rp::Shard& s) {
    ShardState& state = app.state(s);
    auto it = state.waiters.find(id);
    if (it == state.waiters.end()) return;
    auto& list = it->second;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].token != token) continue;
      send_api_error(list[i].answer, 408, "wait_timeout",
                     "the deployment did not reach the status in time", rid);
      list.erase(list.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
    if (list.empty()) state.waiters.erase(it);
  });
  st.waiters[d.id].push_back(std::move(w));
}

void wait(App& app, rp::Request& req, rp::Response& res) {
  if (!check_version(req, res)) return;
  WaitQuery q;
  ApiError err;
  if (!parse_wait_query(req.query(), q, err)) {
    res.send(err.status, "application/json", render_error(err, req.request_id()));
    return;
  }
  std::string_view id = req.param("id");
  if (!valid_deployment_id(id)) {
    send_api_error(res, req, 404, "not_found", "no deployment with this id");
    return;
  }
  rp::Shard shard = req.shard();
  std::string rid(req.request_id());
  auto a = std::make_shared<rp::Async>(res.defer(q.timeout_ms + kDeadlineSlackMs));
  if (const CacheEntry* e = cached(app, app.state(shard), id)) {
    park(app, shard, a, e->deployment, q, rid);
    return;
  }
  read_deployment(app, shard, id, a, rid, [&app, a, q, rid](rp::Shard& s, const Deployment& d) {
    park(app, s, a, d, q, rid);
  });
}

}  // namespace

void wake_waiters(App& app, rp::Shard& shard, const Deployment& d) {
  ShardState& st = app.state(shard);
  auto it = st.waiters.find(d.id);
  if (it == st.waiters.end()) return;
  auto& list = it->second;
  for (size_t i = 0; i < list.size();) {
    if (settle(list[i].answer, d, list[i].target, list[i].request_id)) {
      shard.cancel(list[i].timer);
      list.erase(list.begin() + static_cast<ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (list.empty()) st.waiters.erase(it);
}

void answer_waiters_draining(rp::Shard& shard, ShardState& st) {
  st.draining = true;
  for (auto& [id, list] : st.waiters) {
    for (Waiter& w : list) {
      shard.cancel(w.timer);
      w.answer.header("Retry-After", "1");
      send_api_error(w.answer, 503, "shutting_down",
                     "the server is shutting down; ask again", w.request_id);
    }
  }
  st.waiters.clear();
}

void release_waiters(ShardState& st) {
  // The shard has drained: whatever is parked lost its connection already
  // (the drain closed it); dropping the handles releases them.
  st.waiters.clear();
}

void add_wait_route(App& app, rp::Host& host) {
  rp::RouteOptions read;
  read.scope = kScopeRead;
  read.rate_limit = app.rate_limit();
  host.route("GET", "/v1/deployments/{id}/wait",
             [&app](rp::Request& q, rp::Response& r) { wait(app, q, r); }, read);
}

}  // namespace ringshard::deployments
