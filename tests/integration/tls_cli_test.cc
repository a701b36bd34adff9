// The ringshard binary over HTTPS, driven by Debian's own clients: curl and
// `openssl s_client` (OpenSSL 3, an implementation independent of the
// server's BoringSSL).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/certs.h"
#include "tests/support/process.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class TlsCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("ringshard-tls-cli-"); }
  void TearDown() override {
    server_.reset();
    remove_tree(dir_);
  }

  // Starts the binary with HTTPS on a free port; extra flags appended.
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {RINGSHARD_BINARY, "--listen",     "127.0.0.1:0",
                                     "--tls-listen",   "127.0.0.1:0",  "--shards",
                                     "2",              "--data-dir",   dir_,
                                     "--admin-listen", "off",          "--no-plugins"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_.emplace(args);
    auto line = server_->wait_for_line("https on");
    ASSERT_TRUE(line) << server_->output();
    port_ = std::stoi(line->substr(line->rfind(':') + 1));
    ASSERT_GT(port_, 0);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const {
    return "https://" + target() + path;
  }
  // openssl s_client with `flags`, sending `input` (then EOF).
  CommandResult s_client(const std::string& flags, const std::string& input = "") {
    // With a request, -ign_eof waits for the server's close (the request
    // says Connection: close) instead of leaving at the end of stdin.
    return run("printf '" + input + "' | timeout 10 openssl s_client -connect " + target() +
               (input.empty() ? " " : " -ign_eof ") + flags);
  }

  std::string dir_;
  std::optional<ChildProcess> server_;
  int port_ = 0;
};

TEST_F(TlsCli, CurlGetsPlaintextOverTls13WithTheDevCertificate) {
  start();
  EXPECT_NE(server_->output().find("generated a self-signed development certificate"),
            std::string::npos)
      << server_->output();
  auto r = run("curl -sS -k --tlsv1.3 --http1.1 -w ' %{http_code} %{ssl_verify_result}' " +
               url("/plaintext"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, 17), "Hello, World! 200") << r.output;
  // The dev certificate verifies as itself (a real self-signed localhost cert).
  auto v = run("curl -sS --cacert " + dir_ + "/tls/dev-cert.pem --resolve localhost:" +
               std::to_string(port_) + ":127.0.0.1 https://localhost:" + std::to_string(port_) +
               "/plaintext");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_EQ(v.output, "Hello, World!");
}

TEST_F(TlsCli, OpensslSeesTls13AesGcmX25519AndAlpn) {
  start();
  auto r = s_client("-tls1_3 -alpn http/1.1 -servername localhost",
                    "GET /plaintext HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n");
  // AES-GCM either way (OpenSSL's client prefers the 256-bit suite and
  // BoringSSL follows the client's order in TLS 1.3).
  EXPECT_NE(r.output.find("New, TLSv1.3, Cipher is TLS_AES_"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("_GCM_"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ALPN protocol: http/1.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Server Temp Key: X25519"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Hello, World!"), std::string::npos) << r.output;
}

TEST_F(TlsCli, Tls12AndForeignAlpnAreRefused) {
  start();
  auto old = s_client("-tls1_2");
  EXPECT_NE(old.exit_code, 0);
  EXPECT_NE(old.output.find("alert protocol version"), std::string::npos) << old.output;
  auto curl_old = run("curl -sS -k --tls-max 1.2 " + url("/plaintext"));
  EXPECT_EQ(curl_old.exit_code, 35) << curl_old.output;  // SSL connect error
  auto h2 = s_client("-alpn h2");
  EXPECT_NE(h2.exit_code, 0);
  EXPECT_NE(h2.output.find("no application protocol"), std::string::npos) << h2.output;
  // Still serving.
  auto ok = run("curl -sS -k " + url("/plaintext"));
  EXPECT_EQ(ok.output, "Hello, World!");
}

TEST_F(TlsCli, Tls12AllowedByFlagUsesEcdheAead) {
  start({"--tls-min-version", "1.2"});
  auto r = s_client("-tls1_2");
  EXPECT_NE(r.output.find("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
            std::string::npos)
      << r.output;
  auto weak = s_client("-tls1_2 -cipher AES128-SHA");  // RSA key exchange, CBC
  EXPECT_NE(weak.exit_code, 0) << weak.output;
}

TEST_F(TlsCli, OpensslResumesWithATicket) {
  start();
  const std::string sess = dir_ + "/session.pem";
  auto first = s_client("-sess_out " + sess,
                        "GET /plaintext HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n");
  ASSERT_NE(first.output.find("Hello, World!"), std::string::npos) << first.output;
  int reused = 0;
  for (int i = 0; i < 4; ++i) {
    auto again = s_client("-sess_in " + sess,
                          "GET /plaintext HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n");
    reused += again.output.find("Reused, TLSv1.3") != std::string::npos;
  }
  EXPECT_EQ(reused, 4);
}

TEST_F(TlsCli, SighupReloadsTheCertificateFromItsFiles) {
  const auto a = make_certificate(dir_, "site", "first.test", {"first.test"});
  start({"--cert", a.cert, "--key", a.key});
  auto before = s_client("-servername first.test");
  EXPECT_NE(before.output.find("CN = first.test"), std::string::npos) << before.output;

  make_certificate(dir_, "site", "second.test", {"second.test"});
  server_->signal(SIGHUP);
  ASSERT_TRUE(server_->wait_for_line("SIGHUP: reloaded")) << server_->output();
  auto after = s_client("");
  EXPECT_NE(after.output.find("CN = second.test"), std::string::npos) << after.output;

  // A broken key: the old certificate stays, the log says why.
  run("echo broken > " + a.key);
  server_->signal(SIGHUP);
  auto line = server_->wait_for_line("keeping the current certificates");
  ASSERT_TRUE(line) << server_->output();
  EXPECT_NE(line->find(a.key), std::string::npos) << *line;
  auto still = run("curl -sS -k " + url("/plaintext"));
  EXPECT_EQ(still.output, "Hello, World!");
}

TEST_F(TlsCli, UnloadableCertificateExits78NamingTheFile) {
  const std::string missing = dir_ + "/missing.pem";
  ChildProcess server({RINGSHARD_BINARY, "--listen", "127.0.0.1:0", "--tls-listen",
                       "127.0.0.1:0", "--admin-listen", "off", "--no-plugins", "--cert", missing,
                       "--key", missing});
  EXPECT_EQ(server.wait_exit(), 78);
  EXPECT_NE(server.output().find(missing), std::string::npos) << server.output();
}

}  // namespace
}  // namespace ringshard::test
