// The plugin settings of server/options.h: --plugin, --no-plugins,
// [plugins] load, [plugins.NAME] sections (kept as TOML for the plugin),
// and their --print-config round trip.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/options.h"
#include "tests/server/options_test_support.h"

namespace ringshard::server {
namespace RS_UNITY_ID {

Options parse_ok(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  if (auto* error = std::get_if<OptionsError>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
    return {};
  }
  return std::get<ParsedOptions>(result).options;
}

Options from_toml(const std::string& text) {
  Options o;
  if (auto err = apply_config_text(text, "test.toml", o)) ADD_FAILURE() << err->message;
  return o;
}

std::string toml_error(const std::string& text) {
  Options o;
  auto err = apply_config_text(text, "test.toml", o);
  if (!err) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return "";
  }
  EXPECT_EQ(err->exit_code(), 78);
  return err->message;
}

using Plugins = std::vector<std::string>;

TEST(PluginOptions, DefaultLoadsDeployments) {
  EXPECT_EQ(Options{}.plugins, Plugins{"deployments"});
  EXPECT_EQ(parse_ok({}).plugins, Plugins{"deployments"});
}

TEST(PluginOptions, FlagsReplaceTheListThenAddUp) {
  EXPECT_EQ(parse_ok({"--plugin", "hello"}).plugins, Plugins{"hello"});
  EXPECT_EQ(parse_ok({"--plugin", "hello", "--plugin=./x.so"}).plugins,
            (Plugins{"hello", "./x.so"}));
  EXPECT_EQ(parse_ok({"--no-plugins"}).plugins, Plugins{});
  EXPECT_EQ(parse_ok({"--no-plugins", "--plugin", "hello"}).plugins, Plugins{"hello"});
  EXPECT_EQ(parse_ok({"--plugin", "hello", "--no-plugins"}).plugins, Plugins{});
}

TEST(PluginOptions, BadReferencesAreUsageErrors) {
  for (const char* bad : {"Hello", "he llo", "", "a.b"}) {
    auto r = parse({"--plugin", bad});
    auto* err = std::get_if<OptionsError>(&r);
    ASSERT_TRUE(err) << bad;
    EXPECT_EQ(err->exit_code(), 64);
    EXPECT_NE(err->message.find("--plugin"), std::string::npos) << err->message;
  }
  auto r = parse({"--no-plugins=yes"});
  ASSERT_TRUE(std::get_if<OptionsError>(&r));
}

TEST(PluginOptions, FileListAndSections) {
  Options o = from_toml(
      "[plugins]\n"
      "load = [\"deployments\", \"/opt/x.so\"]\n"
      "[plugins.deployments]\n"
      "store = \"sqlite\"\n"
      "executor.delay_ms = 5\n"
      "[plugins.x]\n"
      "y = { z = true }\n");
  EXPECT_EQ(o.plugins, (Plugins{"deployments", "/opt/x.so"}));
  ASSERT_EQ(o.plugin_sections.size(), 2u);
  EXPECT_EQ(o.plugin_sections[0].name, "deployments");
  EXPECT_NE(o.plugin_sections[0].toml.find("[plugins.deployments]"), std::string::npos);
  EXPECT_NE(o.plugin_sections[0].toml.find("store = 'sqlite'"), std::string::npos)
      << o.plugin_sections[0].toml;
  EXPECT_EQ(o.plugin_sections[1].name, "x");
  // Flags replace the file's list, not its sections.
  Options flags = o;
  const std::string path = testing::TempDir() + "plugin_options.toml";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_TRUE(f);
    std::fputs("[plugins]\nload = [\"a\"]\n[plugins.b]\nk = 1\n", f);
    std::fclose(f);
  }
  Options both = parse_ok({"--config", path, "--plugin", "b"});
  EXPECT_EQ(both.plugins, Plugins{"b"});
  ASSERT_EQ(both.plugin_sections.size(), 1u);
  EXPECT_EQ(both.plugin_sections[0].name, "b");
}

TEST(PluginOptions, InlineTableSectionsAreSectionsToo) {
  Options o = from_toml("[plugins]\nhello = { greeting = \"Hi\" }\n");
  ASSERT_EQ(o.plugin_sections.size(), 1u);
  EXPECT_EQ(o.plugin_sections[0].name, "hello");
  EXPECT_NE(o.plugin_sections[0].toml.find("[plugins.hello]\ngreeting = 'Hi'"), std::string::npos)
      << o.plugin_sections[0].toml;
}

TEST(PluginOptions, FileErrorsSayWhere) {
  EXPECT_NE(toml_error("[plugins]\nload = [\"Bad\"]\n").find("test.toml:2"), std::string::npos);
  EXPECT_NE(toml_error("[plugins]\nextra = 1\n").find("unknown key 'extra' in [plugins]"),
            std::string::npos);
  EXPECT_NE(toml_error("[plugins.Bad]\nx = 1\n").find("[plugins.Bad]: not a plugin name"),
            std::string::npos);
  // A top-level array beside [plugins.NAME] tables is not TOML at all.
  EXPECT_NE(toml_error("plugins = [\"a\"]\n[plugins.a]\nx = 1\n").find("test.toml"),
            std::string::npos);
}

TEST(PluginOptions, PrintConfigRoundTrips) {
  Options o = from_toml(
      "[plugins]\n"
      "load = [\"hello\", \"./build/plugins/x.so\"]\n"
      "[plugins.hello]\n"
      "greeting = \"Hi \\\"you\\\"\"\n"
      "interval_ms = 250\n"
      "[plugins.hello.nested]\n"
      "list = [1, 2]\n"
      "[plugins.empty]\n");
  Options back;
  auto err = apply_config_text(effective_config_text(o, Redact::kNothing), "printed", back);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(back.plugins, o.plugins);
  EXPECT_EQ(back.plugin_sections, o.plugin_sections);
  EXPECT_EQ(back, o);
}

TEST(PluginOptions, PrintConfigRedactsWhatLooksSecret) {
  Options o = from_toml(
      "[plugins.db]\npassword = \"p1\"\napi_key = \"p2\"\ntoken = \"p3\"\nname = \"shown\"\n"
      "[plugins.db.inner]\nclient_secret = \"p4\"\n");
  const std::string text = effective_config_text(o);
  for (const char* secret : {"p1", "p2", "p3", "p4"}) {
    EXPECT_EQ(text.find(std::string("'") + secret + "'"), std::string::npos) << text;
  }
  EXPECT_NE(text.find("name = 'shown'"), std::string::npos) << text;
  EXPECT_NE(text.find("password = '<redacted>'"), std::string::npos) << text;
}

TEST(PluginOptions, HelpNamesTheFlags) {
  const std::string help = usage_text();
  EXPECT_NE(help.find("--plugin NAME|PATH"), std::string::npos);
  EXPECT_NE(help.find("--no-plugins"), std::string::npos);
  EXPECT_NE(help.find("[deployments]"), std::string::npos);
}

}  // namespace
}  // namespace ringshard::server
