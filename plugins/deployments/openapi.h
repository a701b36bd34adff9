// plugins/deployments/openapi.h: the OpenAPI 3.1 document of every route
// the deployment plugin serves, as served at GET /v1/openapi.json.
//
// The document is plugins/deployments/openapi.json, embedded into the
// library when CMake configures (an edit re-runs the configure step), so
// it can be linted as a file (npx @redocly/cli lint
// plugins/deployments/openapi.json) and served without reading a file.
//
// The view is static (valid for the process); any thread; no allocation.
#pragma once

#include <string_view>

namespace ringshard::deployments {

// application/json; UTF-8.
std::string_view openapi_json();

}  // namespace ringshard::deployments
