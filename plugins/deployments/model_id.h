// plugins/deployments/model_id.h: deployment ids.
//
//   "deploy_" + 20 characters of lowercase RFC 4648 base32 ([a-z2-7]): 100
//   random bits from getrandom(2), e.g. "deploy_k3v7q2m4x9...". Ids are
//   unguessable and never reused (a collision needs about 2^50 ids).
//
// new_deployment_id() reads the kernel's random source (getrandom, no file
// descriptor), retrying on EINTR; it aborts if the kernel refuses, which
// a kernel with io_uring never does once booted (it is a broken
// invariant, not bad input). Any thread; allocates the result.
#pragma once

#include <string>
#include <string_view>

namespace ringshard::deployments {

inline constexpr std::string_view kDeploymentIdPrefix = "deploy_";
inline constexpr size_t kDeploymentIdRandomChars = 20;
inline constexpr size_t kDeploymentIdLength = 27;

std::string new_deployment_id();
// True for exactly "deploy_" followed by 20 of [a-z2-7]; pure.
bool valid_deployment_id(std::string_view id);

}  // namespace ringshard::deployments
