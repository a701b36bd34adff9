// plugins/deployments/deployment.h: the deployment record and its
// lifecycle, shared by the model (validation, JSON), the store and the
// plugin glue. Plain values; no I/O.
//
// Lifecycle: pending -> running | failed; running -> terminating;
// pending -> terminating (deleted before it ran); failed -> terminating
// (a delete releases what a failed deployment holds); terminating ->
// terminated. terminated is final; failed is final unless deleted, so
// is_final(kFailed) is true for the executor and can_reach() still lets a
// wait for terminated succeed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringshard::deployments {

enum class Status : uint8_t { kPending, kRunning, kFailed, kTerminating, kTerminated };

std::string_view status_name(Status s);                      // "pending"...
std::optional<Status> parse_status(std::string_view name);   // nullopt: unknown
// True when a deployment now in `from` can still reach `to` (wait's 409).
bool can_reach(Status from, Status to);
bool is_final(Status s);

struct Resources {
  int64_t cpu = 0;         // 1..64
  int64_t memory_mib = 0;  // 64..1048576
};

struct Deployment {
  std::string id;          // "deploy_" + 20 lowercase base32 characters
  std::string name;        // 1..63 of [a-z0-9-]
  std::string image;       // 1..255 bytes
  Resources resources;
  Status status = Status::kPending;
  int64_t created_at_ms = 0;  // Unix ms, UTC
  int64_t updated_at_ms = 0;
  // Position in creation order (the list cursor); assigned by the store.
  int64_t position = 0;
};

// A lifecycle event: seq is assigned by the store when the change commits,
// gap-free and increasing.
struct Event {
  uint64_t seq = 0;
  std::string deployment_id;
  Status status = Status::kPending;
  int64_t timestamp_ms = 0;
};

}  // namespace ringshard::deployments
