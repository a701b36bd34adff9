// server/plugin_config.h: rs_config, a plugin's [plugins.NAME] section
// through the getters of plugin.h (dotted keys, types, key iteration).
#include "server/plugin_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringshard::server {
namespace RS_UNITY_ID {

PluginConfigPtr section(const std::string& body) {
  Options o;
  auto err = apply_config_text("[plugins.p]\n" + body, "test.toml", o);
  EXPECT_FALSE(err) << err->message;
  EXPECT_EQ(o.plugin_sections.size(), 1u);
  std::string error;
  PluginConfigPtr c = make_plugin_config("p", &o.plugin_sections.at(0), error);
  EXPECT_TRUE(c) << error;
  return c;
}

std::vector<std::string> keys(const rs_config* c, const char* table) {
  std::vector<std::string> out;
  rs_str k{};
  for (size_t i = 0; plugin_config_key(c, table, i, &k) == 1; ++i) out.emplace_back(k.data, k.size);
  return out;
}

TEST(PluginConfig, TypedGettersSayPresentAbsentOrWrongType) {
  PluginConfigPtr c = section(
      "name = \"x\"\ncount = 42\nratio = 0.5\non = true\nexecutor.delay_ms = 7\n"
      "[plugins.p.sub.deeper]\nleaf = \"y\"\n");
  rs_str s{};
  ASSERT_EQ(plugin_config_string(c.get(), "name", &s), 1);
  EXPECT_EQ(std::string(s.data, s.size), "x");
  int64_t i = 0;
  ASSERT_EQ(plugin_config_int(c.get(), "count", &i), 1);
  EXPECT_EQ(i, 42);
  ASSERT_EQ(plugin_config_int(c.get(), "executor.delay_ms", &i), 1);
  EXPECT_EQ(i, 7);
  double d = 0;
  ASSERT_EQ(plugin_config_double(c.get(), "ratio", &d), 1);
  EXPECT_EQ(d, 0.5);
  ASSERT_EQ(plugin_config_double(c.get(), "count", &d), 1);  // an integer reads as a double
  EXPECT_EQ(d, 42.0);
  int b = 0;
  ASSERT_EQ(plugin_config_bool(c.get(), "on", &b), 1);
  EXPECT_EQ(b, 1);
  ASSERT_EQ(plugin_config_string(c.get(), "sub.deeper.leaf", &s), 1);
  EXPECT_EQ(std::string(s.data, s.size), "y");

  EXPECT_EQ(plugin_config_string(c.get(), "missing", &s), 0);
  EXPECT_EQ(plugin_config_string(c.get(), "sub.missing.leaf", &s), 0);
  EXPECT_EQ(plugin_config_string(c.get(), "name.child", &s), 0);
  EXPECT_EQ(plugin_config_string(c.get(), "", &s), 0);
  EXPECT_EQ(plugin_config_string(c.get(), "a..b", &s), 0);
  EXPECT_EQ(plugin_config_string(c.get(), "count", &s), -1);
  EXPECT_EQ(plugin_config_int(c.get(), "ratio", &i), -1);
  EXPECT_EQ(plugin_config_bool(c.get(), "name", &b), -1);
  EXPECT_EQ(plugin_config_double(c.get(), "on", &d), -1);
  EXPECT_EQ(plugin_config_int(c.get(), "sub", &i), -1);  // a table
}

TEST(PluginConfig, KeysInSortedOrderPerTable) {
  PluginConfigPtr c = section("zeta = 1\nalpha = 2\n[plugins.p.mid]\nb = 1\na = 2\n");
  EXPECT_EQ(keys(c.get(), ""), (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(keys(c.get(), "mid"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(keys(c.get(), "zeta").empty());    // not a table
  EXPECT_TRUE(keys(c.get(), "nothing").empty());
}

TEST(PluginConfig, NoSectionIsAnEmptyOne) {
  std::string error;
  PluginConfigPtr c = make_plugin_config("p", nullptr, error);
  ASSERT_TRUE(c);
  rs_str s{};
  EXPECT_EQ(plugin_config_string(c.get(), "anything", &s), 0);
  EXPECT_TRUE(keys(c.get(), "").empty());
}

TEST(PluginConfig, AHandBuiltSectionThatIsNotOneIsRefused) {
  PluginSection wrong{"p", "[plugins.q]\nx = 1\n"};
  std::string error;
  EXPECT_FALSE(make_plugin_config("p", &wrong, error));
  EXPECT_NE(error.find("[plugins.p]"), std::string::npos);
  PluginSection broken{"p", "[plugins.p\n"};
  EXPECT_FALSE(make_plugin_config("p", &broken, error));
}

}  // namespace
}  // namespace ringshard::server
