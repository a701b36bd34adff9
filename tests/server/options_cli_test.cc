// Tests of the ringshard binary's --print-config and --check-config: the
// effective configuration on stdout, exit codes 0/64/78, and nothing bound
// (the HTTP port is held by the test, so a bind would fail).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "server/options.h"

namespace ringshard::server {
namespace RS_UNITY_ID {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Runs the binary with `args`; stdout captured, stderr discarded.
RunResult run_binary(const std::vector<std::string>& args) {
  int pipe_fds[2];
  EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(RINGSHARD_BINARY));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(RINGSHARD_BINARY, argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  RunResult run;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) run.out.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// A loopback TCP port held (bound and listening, no SO_REUSEPORT) for the
// test's lifetime.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(OptionsCli, PrintConfigPrintsTomlAndBindsNothing) {
  HeldPort http;
  const std::string hash(64, 'e');
  for (const char* action : {"--print-config", "--check-config"}) {
    SCOPED_TRACE(action);
    RunResult run = run_binary({action, "--no-plugins", "--listen", http.address(), "--tls-listen", "off",
                          "--admin-listen", "off", "--auth-token", "ci:" + hash + ":deploy",
                          "--rate-limit", "name=api,match=/v1/,key=ip,burst=10,rate=5/s"});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    EXPECT_NE(run.out.find("listen = \"" + http.address() + "\""), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("[[rate_limit]]\nname = \"api\""), std::string::npos) << run.out;
    // The token's hash is redacted, so the text reads back once it is put back.
    EXPECT_EQ(run.out.find(hash), std::string::npos) << run.out;
    std::string text = run.out;
    text.replace(text.find("<redacted>"), 10, hash);
    Options back;
    auto error = apply_config_text(text, "stdout", back);
    ASSERT_FALSE(error.has_value()) << error->message;
    EXPECT_EQ(back.listen, *parse_listen_address(http.address()));
    EXPECT_EQ(back.auth_tokens, (std::vector<AuthCredential>{{"ci", hash, {"deploy"}}}));
  }
}

TEST(OptionsCli, PrintConfigExitCodes) {
  EXPECT_EQ(run_binary({"--print-config", "--shards", "many"}).exit_code, 64);
  EXPECT_EQ(run_binary({"--print-config", "--rate-limit", "name=x"}).exit_code, 64);
  const std::string path = testing::TempDir() + "/ringshard_cli_bad.toml";
  std::ofstream(path) << "[[auth.token]]\nname = \"a\"\n";
  EXPECT_EQ(run_binary({"--print-config", "--config", path}).exit_code, 78);
  EXPECT_EQ(run_binary({"--check-config", "--config", path}).exit_code, 78);
  std::remove(path.c_str());
}

TEST(OptionsCli, ExampleConfigChecks) {
  // The file's plugin list is replaced by the built-in hello, so that the
  // check does not depend on which plugins this build produced.
  RunResult run = run_binary(
      {"--check-config", "--config", std::string(RINGSHARD_SOURCE_DIR) + "/config/ringshard.example.toml",
       "--plugin", "hello"});
  EXPECT_EQ(run.exit_code, 0) << run.out;
}

}  // namespace
}  // namespace ringshard::server
