// plugins/deployments/plugin_common.cc
#include "plugins/deployments/plugin_common.h"

#include <chrono>
#include <cstdio>

#include "plugins/deployments/model.h"

namespace ringshard::deployments {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

bool check_version(rp::Request& req, rp::Response& res) {
  std::string_view v = req.header("API-Version");
  if (v.empty()) return true;
  ApiError err;
  if (check_api_version(v, err)) return true;
  res.send(err.status, "application/json", render_error(err, req.request_id()));
  return false;
}

void send_api_error(rp::Response& res, const rp::Request& req, uint16_t status,
                    std::string_view code, std::string_view message) {
  ApiError e;
  e.status = status;
  e.code = std::string(code);
  e.message = std::string(message);
  res.send(status, "application/json", render_error(e, req.request_id()));
}

void send_api_error(rp::Async& a, uint16_t status, std::string_view code,
                    std::string_view message, std::string_view request_id) {
  ApiError e;
  e.status = status;
  e.code = std::string(code);
  e.message = std::string(message);
  a.send(status, "application/json", render_error(e, request_id));
}

bool check_json_content_type(const rp::Request& req, rp::Response& res) {
  std::string_view ct = req.header("Content-Type");
  if (iequals_prefix(ct, "application/json")) {
    std::string_view rest = ct.substr(16);
    if (rest.empty() || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t') return true;
  }
  send_api_error(res, req, 415, "unsupported_media_type",
                 ct.empty() ? "Content-Type must be application/json (none was given)"
                            : "Content-Type must be application/json");
  return false;
}

bool idempotency_key(const rp::Request& req, rp::Response& res, std::string& scoped) {
  scoped.clear();
  size_t n = req.header_count("Idempotency-Key");
  if (n == 0) return true;
  std::string_view key = req.header("Idempotency-Key");
  bool ok = n == 1 && !key.empty() && key.size() <= 255;
  for (char c : key) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    ApiError e;
    e.message = n > 1 ? "Idempotency-Key must be given once"
                      : "Idempotency-Key must be 1-255 visible ASCII characters";
    e.field = "Idempotency-Key";
    e.reason = n > 1 ? "repeated header" : "invalid key";
    res.send(400, "application/json", render_error(e, req.request_id()));
    return false;
  }
  scoped.reserve(req.principal().size() + req.method().size() + req.path().size() +
                 key.size() + 3);
  scoped.append(req.principal()).append("\n").append(req.method()).append(" ");
  scoped.append(req.path()).append("\n").append(key);
  return true;
}

std::string body_hash(std::string_view body) {
  // Two 64-bit FNV-1a variants with different bases, plus the length.
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : body) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x00000100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  char out[64];
  std::snprintf(out, sizeof out, "%016llx%016llx-%zu", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b), body.size());
  return out;
}

bool answer_special(App& app, rp::Shard& shard, rp::Async& a, StoreRequest& done,
                    std::string_view request_id) {
  switch (done.outcome) {
    case StoreRequest::Outcome::kDone:
      return false;
    case StoreRequest::Outcome::kReplayed: {
      shard.metric_add(app.metrics().replays, 1);
      a.header("Idempotent-Replayed", "true");
      if (done.status == 201) {
        std::string loc = location_of(done.body);
        if (!loc.empty()) a.header("Location", loc);
      }
      a.send(done.status, "application/json", done.body);
      return true;
    }
    case StoreRequest::Outcome::kKeyMismatch:
      send_api_error(a, 422, "idempotency_key_reused",
                     "this Idempotency-Key was used with a different request body",
                     request_id);
      return true;
    case StoreRequest::Outcome::kKeyInFlight:
      send_api_error(a, 409, "idempotency_key_in_flight",
                     "a request with this Idempotency-Key is still in progress; retry later",
                     request_id);
      return true;
    case StoreRequest::Outcome::kError:
      shard.metric_add(app.metrics().store_errors, 1);
      app.store_failed();
      app.host().log(RS_LOG_ERROR, "deployments: store error: " + done.error);
      a.header("Retry-After", "1");
      send_api_error(a, 503, "store_unavailable", "the deployment store failed; retry",
                     request_id);
      return true;
  }
  return false;
}

void read_deployment(App& app, const rp::Shard& shard, std::string_view id, SharedAsync a,
                     std::string request_id,
                     std::function<void(rp::Shard&, const Deployment&)> then) {
  auto sr = std::make_unique<StoreRequest>();
  StoreOp o;
  o.kind = StoreOp::Kind::kGet;
  o.id = std::string(id);
  sr->ops.push_back(std::move(o));
  app.submit(shard, std::move(sr),
             [&app, a, rid = std::move(request_id), then = std::move(then)](
                 rp::Shard& s, StoreRequest& done) {
               if (answer_special(app, s, *a, done, rid)) return;
               const StoreOpResult& r = done.results[0];
               if (r.code != StoreOpResult::Code::kOk || !r.deployment) {
                 send_api_error(*a, 404, "not_found", "no deployment with this id", rid);
                 return;
               }
               cache_put(app, app.state(s), *r.deployment);
               then(s, *r.deployment);
             });
}

std::string location_of(std::string_view body) {
  constexpr std::string_view kId = "\"id\":\"";
  size_t p = body.find(kId);
  if (p == std::string_view::npos) return {};
  p += kId.size();
  size_t e = body.find('"', p);
  if (e == std::string_view::npos) return {};
  return "/v1/deployments/" + std::string(body.substr(p, e - p));
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const CacheEntry* cached(App& app, ShardState& st, std::string_view id) {
  if (st.applied_version < app.store().committed_version()) return nullptr;
  auto it = st.cache.find(id);
  return it == st.cache.end() ? nullptr : &it->second;
}

void cache_put(App& app, ShardState& st, const Deployment& d) {
  if (app.config().cache_entries == 0) return;
  auto it = st.cache.find(d.id);
  if (it == st.cache.end()) {
    // Full: drop an arbitrary entry (the next read of it goes to the store).
    if (st.cache.size() >= app.config().cache_entries) st.cache.erase(st.cache.begin());
    it = st.cache.emplace(d.id, CacheEntry{}).first;
  }
  it->second.deployment = d;
  it->second.json = render_deployment(d);
}

}  // namespace ringshard::deployments
