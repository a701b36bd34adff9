// tests/deployments/model_id_test.cc: deployment ids (plugins/deployments/model_id.h).
#include "plugins/deployments/model_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringshard::deployments {
namespace RS_UNITY_ID {

TEST(DeploymentId, Shape) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_deployment_id();
    EXPECT_EQ(id.size(), 27u);
    EXPECT_TRUE(id.starts_with("deploy_"));
    EXPECT_TRUE(valid_deployment_id(id)) << id;
  }
}

TEST(DeploymentId, Distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) EXPECT_TRUE(seen.insert(new_deployment_id()).second);
}

TEST(DeploymentId, UsesTheWholeAlphabet) {
  // 20 characters x 400 ids: each of the 32 symbols shows up (the chance
  // that one does not is about 32 * (31/32)^8000, nil).
  std::set<char> chars;
  for (int i = 0; i < 400; ++i) {
    for (char c : new_deployment_id().substr(7)) chars.insert(c);
  }
  EXPECT_EQ(chars.size(), 32u);
}

TEST(DeploymentId, Validation) {
  EXPECT_TRUE(valid_deployment_id("deploy_abcdefghijklmnopqrst"));
  EXPECT_TRUE(valid_deployment_id("deploy_22222277777aaaaazzzz"));
  EXPECT_FALSE(valid_deployment_id(""));
  EXPECT_FALSE(valid_deployment_id("deploy_"));
  EXPECT_FALSE(valid_deployment_id("deploy_abcdefghijklmnopqrs"));    // 19
  EXPECT_FALSE(valid_deployment_id("deploy_abcdefghijklmnopqrstu"));  // 21
  EXPECT_FALSE(valid_deployment_id("deploy_abcdefghijklmnopqrs1"));   // 1 is not base32
  EXPECT_FALSE(valid_deployment_id("deploy_abcdefghijklmnopqrs8"));
  EXPECT_FALSE(valid_deployment_id("deploy_Abcdefghijklmnopqrst"));
  EXPECT_FALSE(valid_deployment_id("Deploy_abcdefghijklmnopqrst"));
  EXPECT_FALSE(valid_deployment_id("dep_abcdefghijklmnopqrstuvw"));
  EXPECT_FALSE(valid_deployment_id("deploy_abcdefghijklmnopqr/t"));
}

}  // namespace
}  // namespace ringshard::deployments
