// plugins/deployments/model_error.h: the deployment API's error value and
// its JSON body. Every refusal of the model (and of the plugin glue) is an
// ApiError rendered as
//   {"error":{"code":"invalid_request","message":"resources.cpu must be between 1 and 64",
//             "details":{"field":"resources.cpu","reason":"must be between 1 and 64",
//                        "request_id":"..."}}}
// which is the host's standard error body (http/status.h) with more in
// "details". "details" is always present (possibly {}); "field", "reason"
// and "request_id" appear only when non-empty.
//
// Codes the model produces (status in brackets):
//   malformed_json (400)            the body is not JSON (details.reason says why)
//   invalid_request (400)           valid JSON or query, wrong content
//   unsupported_api_version (400)   API-Version header (model_version.h)
//   payload_too_large (413)         a body over the parser's size limit
//   not_found (404)                 a batch get/delete whose id cannot exist
//
// Plain values, no I/O; any thread. render_error allocates the result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringshard::deployments {

struct ApiError {
  uint16_t status = 400;
  std::string code = "invalid_request";
  std::string message;
  std::string field;   // details.field (dotted path: "resources.cpu"); empty: none
  std::string reason;  // details.reason; empty: none
};

// The standard error body; request_id (if non-empty) goes into
// details.request_id too. An empty message becomes "field reason" when a
// field is set, else the reason, else a generic text for the status.
std::string render_error(const ApiError& e, std::string_view request_id = {});

// An invalid_request (400) about `field`: message "<field> <reason>".
ApiError field_error(std::string_view field, std::string_view reason);

// 404 not_found for a deployment id ("deployment <id> not found").
ApiError not_found_error(std::string_view id);

// Client-supplied text to echo in an error (an unknown field's name, a
// parameter value): at most kMaxEcho bytes, cut at a UTF-8 boundary, so an
// error never grows with the client's input.
inline constexpr size_t kMaxEcho = 80;
std::string clip_echo(std::string_view s);

}  // namespace ringshard::deployments
