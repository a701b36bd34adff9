// plugins/deployments/model_render.h: the deployment API's response bodies.
// Built with JsonWriter (json_writer.h), never with a JSON library: the
// shapes are fixed and a response is one string appended to.
//
//   Deployment:  {"id":"deploy_...","name":"web","image":"nginx:1.27",
//                 "resources":{"cpu":2,"memory":512},"status":"pending",
//                 "created_at":"2026-12-05T18:03:04.123Z","updated_at":"..."}
//                (memory in MiB, times RFC 3339 UTC with milliseconds)
//   List:        {"deployments":[Deployment...],"next_cursor":"AQ..."|null}
//   Event:       {"type":"deployment.update","deployment_id":"deploy_...",
//                 "status":"running","timestamp":"...","seq":42}
//   Health:      {"status":"healthy","version":"0.1.0","uptime":3600}
//
// Pure; any thread; each function allocates its result (append_* only
// grows `out`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/deployments/deployment.h"

namespace ringshard::deployments {

void append_deployment(std::string& out, const Deployment& d);
std::string render_deployment(const Deployment& d);
// An empty next_cursor renders as null (the last page).
std::string render_list(const std::vector<Deployment>& page, std::string_view next_cursor);
std::string render_event(const Event& e);

// GET /health: {"status":"healthy","version":"0.1.0","uptime":3600}, uptime
// in whole seconds since the server started.
std::string render_health(std::string_view version, int64_t uptime_seconds);

// RFC 3339 UTC with milliseconds: 2026-12-05T18:03:04.123Z. Times before
// year 0000 or after 9999 are clamped to the first / last representable
// millisecond (RFC 3339 has four-digit years).
std::string format_rfc3339(int64_t unix_ms);
void append_rfc3339(std::string& out, int64_t unix_ms);

}  // namespace ringshard::deployments
