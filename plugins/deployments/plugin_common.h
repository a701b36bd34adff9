// plugins/deployments/plugin_common.h: small pieces the handlers share:
// answering from a finished StoreRequest, idempotency keys, content type.
//
// Thread: the request's shard.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "plugins/deployments/plugin_state.h"

namespace ringshard::deployments {

// A deferred answer that std::function can carry (it copies its callable).
using SharedAsync = std::shared_ptr<rp::Async>;
inline SharedAsync defer_shared(rp::Response& res) {
  return std::make_shared<rp::Async>(res.defer());
}

// Request checks common to the write routes. Each answers and returns
// false when the request is refused.
// POST bodies must be application/json (415 otherwise).
bool check_json_content_type(const rp::Request& req, rp::Response& res);
// Idempotency-Key: absent (true, key empty), or one field of 1-255 visible
// ASCII characters (true, `scoped` set: the key qualified by the caller,
// the method and the path, so that two callers' keys never meet); 400
// otherwise.
bool idempotency_key(const rp::Request& req, rp::Response& res, std::string& scoped);
// Reads deployment `id` through the store (a cache miss) for a deferred
// request: a failed store or a missing deployment is answered on `a` (503,
// 404); otherwise the deployment goes into the shard's cache and `then`
// runs with it, on the shard, to answer.
void read_deployment(App& app, const rp::Shard& shard, std::string_view id, SharedAsync a,
                     std::string request_id,
                     std::function<void(rp::Shard&, const Deployment&)> then);
// A 128-bit hash of the body, hex, to tell a retry from a different
// request under the same key (not a security boundary: the key is the
// caller's own).
std::string body_hash(std::string_view body);

// Answers a keyed request the store did not run (replayed, mismatch, in
// flight) or a failed one; false when the ops ran and the caller answers.
bool answer_special(App& app, rp::Shard& shard, rp::Async& a, StoreRequest& done,
                    std::string_view request_id);
void send_api_error(rp::Async& a, uint16_t status, std::string_view code,
                    std::string_view message, std::string_view request_id);
// The Location of a 201 body ({"id":"deploy_..."}), empty if none.
std::string location_of(std::string_view body);
// Unix milliseconds, wall clock (created_at / updated_at).
int64_t wall_ms();

}  // namespace ringshard::deployments
