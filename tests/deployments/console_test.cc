// tests/deployments/console_test.cc: the console page
// (plugins/deployments/console.h) is self-contained and has the element
// ids the browser test drives. (Its behaviour is tested in a browser.)
#include "plugins/deployments/console.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::deployments {
namespace RS_UNITY_ID {

TEST(Console, HasTheStableIds) {
  const std::string_view page = console_html();
  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  for (std::string_view id : {"token", "create-form", "name", "image", "cpu", "memory",
                              "create", "deployments", "stream-state", "error"}) {
    EXPECT_NE(page.find("id=\"" + std::string(id) + "\""), std::string_view::npos) << id;
  }
}

TEST(Console, LoadsNothingFromElsewhere) {
  const std::string_view page = console_html();
  for (std::string_view needle : {"<script src", "stylesheet", "@import", "http://",
                                  "https://", "url(", "innerHTML"}) {
    EXPECT_EQ(page.find(needle), std::string_view::npos) << needle;
  }
}

TEST(Console, UsesTheApiAsDocumented) {
  const std::string_view page = console_html();
  for (std::string_view needle : {"/v1/deployments", "/v1/stream", "access_token=",
                                  "Authorization", "Bearer ", "localStorage", "location.hash",
                                  "wss:", "ws:", "deployment.update", "4410",
                                  "dataset.id", "\"status\""}) {
    EXPECT_NE(page.find(needle), std::string_view::npos) << needle;
  }
}

}  // namespace
}  // namespace ringshard::deployments
