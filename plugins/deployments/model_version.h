// plugins/deployments/model_version.h: the API-Version request header.
//
//   ApiError err;
//   if (!check_api_version(req.header("api-version"), err)) return refuse(err);
//
// Absent or empty (after trimming spaces and tabs): the latest version.
// Otherwise it must be one of kApiVersions, spelt exactly (YYYY-MM-DD).
// Anything else is 400 code "unsupported_api_version", details.field
// "API-Version", details.reason "must be one of: 2026-12-01" and a message
// that echoes the value (clipped) and names every supported version.
// Versions are dates: a response's shape changes only under a new date.
//
// Pure; any thread; allocates only the error.
#pragma once

#include <array>
#include <string_view>

#include "plugins/deployments/model_error.h"

namespace ringshard::deployments {

inline constexpr std::string_view kCurrentApiVersion = "2026-12-01";
inline constexpr std::array<std::string_view, 1> kApiVersions = {kCurrentApiVersion};

bool check_api_version(std::string_view header, ApiError& err);

}  // namespace ringshard::deployments
