// http/status.h: status codes, reason phrases, pre-encoded status lines and
// the JSON error body every refusal carries:
//   {"error":{"code":"...","message":"...","details":{}}}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringshard::http {

std::string_view reason_phrase(uint16_t status);
// "HTTP/1.1 200 OK\r\n": pre-encoded for every code we send; built (and
// cached) for others. The view is static.
std::string_view status_line(uint16_t status);
// The machine-readable code for an error status: 400 -> "bad_request".
std::string_view error_code(uint16_t status);
// Appends `s` to `out` escaped as the inside of a JSON string.
void append_json_escaped(std::string& out, std::string_view s);
// The full JSON error body.
std::string error_body(uint16_t status, std::string_view message);
// The same with details.request_id (omitted when `request_id` is empty).
std::string error_body(uint16_t status, std::string_view message, std::string_view request_id);

}  // namespace ringshard::http
