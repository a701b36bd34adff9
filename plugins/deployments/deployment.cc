// plugins/deployments/deployment.cc: status names and the lifecycle graph.
#include "plugins/deployments/deployment.h"

#include <array>

namespace ringshard::deployments {
namespace {

constexpr std::array<std::string_view, 5> kNames = {"pending", "running", "failed",
                                                    "terminating", "terminated"};

}  // namespace

std::string_view status_name(Status s) { return kNames[static_cast<size_t>(s)]; }

std::optional<Status> parse_status(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Status>(i);
  }
  return std::nullopt;
}

bool is_final(Status s) { return s == Status::kFailed || s == Status::kTerminated; }

bool can_reach(Status from, Status to) {
  if (from == to) return true;
  switch (from) {
    case Status::kPending:
      return true;  // running, failed, or terminating/terminated if deleted
    case Status::kRunning:
      return to == Status::kTerminating || to == Status::kTerminated;
    case Status::kFailed:
      // A failed deployment can still be deleted.
      return to == Status::kTerminating || to == Status::kTerminated;
    case Status::kTerminating:
      return to == Status::kTerminated;
    case Status::kTerminated:
      return false;
  }
  return false;
}

}  // namespace ringshard::deployments
