// The binary with plugins, as an operator meets it: every way a plugin can
// be broken is a startup error naming the plugin, exit 78 (never a crash);
// --check-config runs the plugins' own checks; a running plugin prints the
// development token, serves, and the process still drains and exits 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/obs_helpers.h"
#include "tests/support/certs.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

const std::string kDir = RINGSHARD_TEST_PLUGIN_DIR;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string quoted(const std::string& s) { return "'" + s + "'"; }

CommandResult run(const std::vector<std::string>& args) {
  std::string command = quoted(RINGSHARD_BINARY);
  for (const std::string& a : args) command += " " + quoted(a);
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class PluginProcess : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("ringshard-plugins-"); }
  void TearDown() override { remove_tree(dir_); }

  std::vector<std::string> server_args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {RINGSHARD_BINARY, "--listen", "127.0.0.1:0", "--shards", "2",
                                  "--tls-listen", "off", "--admin-listen", "off",
                                  "--data-dir", dir_ + "/data"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Starts the binary and expects exit 78 with `needle` in its log.
  void expect_refused(std::vector<std::string> extra, const std::string& needle) {
    ChildProcess p(server_args(std::move(extra)));
    EXPECT_EQ(p.wait_exit(), 78) << p.output();
    EXPECT_NE(p.output().find(needle), std::string::npos) << p.output();
    EXPECT_EQ(p.output().find("listening on"), std::string::npos) << p.output();
  }
  std::string config(const std::string& text) const {
    const std::string path = dir_ + "/ringshard.toml";
    write_file(path, text);
    return path;
  }

  std::string dir_;
};

TEST_F(PluginProcess, BrokenPluginsAreStartupErrorsNamingThem) {
  struct Case {
    std::string so;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"test_bad_abi999.so", "built for plugin ABI version 999, this server speaks version 1"},
      {"test_bad_null_entry.so", "ringshard_plugin_v1() returned NULL"},
      {"test_bad_small_struct.so", "(built against an older ringshard/plugin.h)"},
      {"test_bad_bad_name.so", "invalid plugin name 'Bad Name'"},
      {"test_bad_no_symbol.so", "no ringshard_plugin_v1 symbol"},
      {"test_bad_init_fails.so", "plugin 'bad': init failed: the database is on fire"},
      {"test_init_throws.so", "plugin 'throws': init failed: cannot reach the bank"},
      {"test_bad_bad_route.so",
       "plugin 'bad': add_route GET no-leading-slash: route pattern must start with '/'"},
      {"not_there.so", "not_there.so: no such file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.so);
    const std::string path = kDir + "/" + c.so;
    expect_refused({"--plugin", path}, c.needle);
  }
}

TEST_F(PluginProcess, NamesAreLookedUpAndMustBeUnique) {
  expect_refused({"--plugin", "nosuchplugin"}, "plugin 'nosuchplugin': not found");
  const std::string good = kDir + "/test_good.so";
  expect_refused({"--plugin", good, "--plugin", good}, "are both named 'testgood'");
  ChildProcess bad_name(server_args({"--plugin", "Not A Name"}));
  EXPECT_EQ(bad_name.wait_exit(), 64) << bad_name.output();
}

// A name is found beside the binary (the build tree) and in the installed
// tree's lib/ringshard/plugins, relative to the binary wherever it runs.
TEST_F(PluginProcess, NamesAreFoundBesideTheBinaryAndInTheInstalledTree) {
  namespace fs = std::filesystem;
  // A copy of the binary in DIR/bin, with test_good.so as PLUGIN_DIR/FILE.
  auto tree = [&](const std::string& name, const std::string& plugin_dir, const std::string& file) {
    const std::string root = dir_ + "/" + name;
    fs::create_directories(root + "/bin");
    fs::create_directories(root + "/" + plugin_dir);
    fs::copy_file(RINGSHARD_BINARY, root + "/bin/ringshard");
    fs::copy_file(kDir + "/test_good.so", root + "/" + plugin_dir + "/" + file);
    return root;
  };
  struct Layout {
    std::string name, plugin_dir, shown;
  };
  for (const Layout& l : {Layout{"build", "bin/plugins", "bin/plugins"},
                          Layout{"installed", "lib/ringshard/plugins", "bin/../lib/ringshard/plugins"}}) {
    SCOPED_TRACE(l.name);
    const std::string root = tree(l.name, l.plugin_dir, "testgood.so");
    std::vector<std::string> args = server_args({"--plugin", "testgood"});
    args[0] = root + "/bin/ringshard";
    ChildProcess server(args);
    ASSERT_TRUE(server.wait_for_port()) << server.output();
    EXPECT_NE(server.output().find("plugin testgood: version 0.0.1 (" + root + "/" + l.shown +
                                   "/testgood.so) started"),
              std::string::npos)
        << server.output();
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(), 0) << server.output();
  }
  // Found by name, it must call itself that name.
  const std::string root = tree("misnamed", "bin/plugins", "other.so");
  std::vector<std::string> args = server_args({"--plugin", "other"});
  args[0] = root + "/bin/ringshard";
  ChildProcess server(args);
  EXPECT_EQ(server.wait_exit(), 78) << server.output();
  EXPECT_NE(server.output().find("it calls itself 'testgood', not 'other'"), std::string::npos)
      << server.output();
}

TEST_F(PluginProcess, SectionsMustNameALoadedPlugin) {
  const std::string path = config("[plugins.ghost]\nx = 1\n");
  expect_refused({"--config", path, "--no-plugins"},
                 "[plugins.ghost]: no plugin named 'ghost' is loaded (loaded: none)");
}

TEST_F(PluginProcess, ValidateRefusesItsSectionAtStartAndInCheckConfig) {
  const std::string so = kDir + "/test_bad_validate_fails.so";
  const std::string refused =
      config("[plugins]\nload = [\"" + so + "\"]\n[plugins.validating]\nrefuse = true\n");
  expect_refused({"--config", refused},
                 "plugin 'validating': invalid [plugins.validating]: refuse is set");
  CommandResult check = run({"--config", refused, "--check-config"});
  EXPECT_EQ(check.exit_code, 78) << check.output;
  EXPECT_NE(check.output.find("invalid [plugins.validating]: refuse is set"), std::string::npos)
      << check.output;

  const std::string fine =
      config("[plugins]\nload = [\"" + so + "\"]\n[plugins.validating]\nrefuse = false\n");
  CommandResult ok = run({"--config", fine, "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("# plugin validating 0.0.1 (" + so + "): [plugins.validating] OK"),
            std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("# ringshard: configuration OK"), std::string::npos);
}

TEST_F(PluginProcess, PrintConfigShowsPluginsAndSections) {
  const std::string path =
      config("[plugins]\nload = [\"hello\"]\n[plugins.hello]\ngreeting = \"Hi\"\n"
             "db_password = \"hunter2\"\n");
  CommandResult r = run({"--config", path, "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[plugins]\nload = [\"hello\"]\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[plugins.hello]\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("greeting = 'Hi'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
  CommandResult none = run({"--no-plugins", "--print-config"});
  EXPECT_NE(none.output.find("[plugins]\nload = []\n"), std::string::npos) << none.output;
}

TEST_F(PluginProcess, RunningPluginPrintsTheDevelopmentTokenAndDrainsCleanly) {
  ChildProcess server(server_args({"--plugin", kDir + "/test_good.so"}));
  // Logged before the listening line (wait_for_* read the log in order).
  auto line = server.wait_for_line("development token (all scopes: t:read t:write): ");
  ASSERT_TRUE(line) << server.output();
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  std::string token;
  {
    std::ifstream in(dir_ + "/data/dev-token");
    ASSERT_TRUE(std::getline(in, token));
  }
  EXPECT_NE(line->find(token), std::string::npos) << *line;
  TestConnection c(*port);
  ASSERT_TRUE(c.send("GET /t/read HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                     "\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "principal=dev write=1");
  // A deferred request still waiting on the plugin's thread, and a timer
  // armed: the drain, shard_stop, destroy and dlclose still end in exit 0.
  TestConnection waiting(*port);
  ASSERT_TRUE(waiting.send("GET /t/defer HTTP/1.1\r\nHost: x\r\n\r\n"));
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 0) << server.output();
  EXPECT_NE(server.output().find("drained, exiting"), std::string::npos) << server.output();
}

}  // namespace
}  // namespace ringshard::test
