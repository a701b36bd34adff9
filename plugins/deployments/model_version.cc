// plugins/deployments/model_version.cc: API-Version.
#include "plugins/deployments/model_version.h"

namespace ringshard::deployments {

bool check_api_version(std::string_view header, ApiError& err) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  if (header.empty()) return true;
  for (std::string_view v : kApiVersions) {
    if (header == v) return true;
  }
  std::string supported;
  for (std::string_view v : kApiVersions) {
    if (!supported.empty()) supported += ", ";
    supported += v;
  }
  err = ApiError{};
  err.code = "unsupported_api_version";
  err.field = "API-Version";
  err.reason = "must be one of: " + supported;
  err.message = "API-Version \"" + clip_echo(header) + "\" is not supported; supported: " +
                supported;
  return false;
}

}  // namespace ringshard::deployments
