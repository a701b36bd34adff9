// What an operator sees of the running binary: /metrics (exact request
// counts, judged by promtool), /health and /ready through a drain, and the
// JSON access log (every request one line, none lost across a SIGUSR1
// reopen).
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "json/json.h"
#include "tests/integration/obs_helpers.h"
#include "tests/obs/promtool.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_server.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

// Sends `count` GETs of `path` on one keep-alive connection; each must be
// answered with `status`.
void send_requests(uint16_t port, const std::string& path, int count, int status) {
  TestConnection c(port);
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.error();
    ASSERT_EQ(r->status, status) << path;
  }
}

void stop(ChildProcess& server) {
  server.signal(SIGTERM);
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

// --- /metrics ---------------------------------------------------------------

TEST(Observability, MetricsCountEveryRequestExactlyAndPassPromtool) {
  ChildProcess server(obs_server_args({"--admin-listen", "127.0.0.1:0"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  auto admin = wait_for_admin_port(server);
  ASSERT_TRUE(admin) << server.output();
  ASSERT_NE(*admin, *port);

  constexpr int kPlain = 37, kMissing = 3;
  send_requests(*port, "/plaintext", kPlain, 200);
  send_requests(*port, "/no/such/route", kMissing, 404);
  // The admin listener serves the admin routes only; that 404 is counted
  // with the unmatched ones too.
  send_requests(*admin, "/plaintext", 1, 404);

  auto r = get(*admin, "/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
      << r->header("content-type");
  const std::string& m = r->body;

  EXPECT_EQ(sample_value(m, R"(ringshard_http_requests_total{route="/plaintext",method="GET",code="200"})"),
            kPlain) << m;
  EXPECT_EQ(sample_value(m, R"x(ringshard_http_requests_total{route="(unmatched)",method="*",code="404"})x"),
            kMissing + 1) << m;
  // Nothing else was answered on the main routes.
  for (const std::string& line : sample_lines(m, "ringshard_http_requests_total{route=\"/plaintext\"")) {
    EXPECT_NE(line.find("code=\"200\""), std::string::npos) << line;
  }

  // The latency histogram: cumulative buckets ending in +Inf == _count == N.
  const std::string hist = "ringshard_http_request_duration_seconds";
  const std::string labels = R"({route="/plaintext",method="GET")";
  const auto buckets = sample_lines(m, hist + "_bucket" + labels + ",le=");
  EXPECT_GE(buckets.size(), 5u) << m;
  double previous = 0;
  for (const std::string& b : buckets) {
    const double v = std::strtod(b.c_str() + b.rfind(' ') + 1, nullptr);
    EXPECT_GE(v, previous) << b;
    previous = v;
  }
  EXPECT_EQ(sample_value(m, hist + "_bucket" + labels + R"(,le="+Inf"})"), kPlain) << m;
  EXPECT_EQ(sample_value(m, hist + "_count" + labels + "}"), kPlain) << m;
  auto sum = sample_value(m, hist + "_sum" + labels + "}");
  ASSERT_TRUE(sum) << m;
  EXPECT_GT(*sum, 0.0);

  EXPECT_EQ(sample_value(m, "ringshard_shards"), 2) << m;
  EXPECT_EQ(sample_lines(m, "ringshard_build_info{").size(), 1u) << m;
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds",
                           "process_threads"}) {
    auto v = sample_value(m, name);
    EXPECT_TRUE(v) << name << " missing";
    if (v && std::string(name) != "process_cpu_seconds_total") {
      EXPECT_GT(*v, 0) << name;
    }
  }
  // Seconds since the epoch (not since boot): within a few minutes of now.
  const double started = sample_value(m, "process_start_time_seconds").value_or(0);
  EXPECT_NEAR(started, static_cast<double>(std::time(nullptr)), 300.0);
  // Two shards plus the main thread at least.
  EXPECT_GE(sample_value(m, "process_threads").value_or(0), 3);

  if (!obs::promtool_available()) {
    stop(server);
    GTEST_SKIP() << obs::kPromtool << " missing (Debian package prometheus)";
  }
  const obs::PromtoolResult lint = obs::run_promtool_check(m);
  EXPECT_EQ(lint.exit_status, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << lint.output;
  stop(server);
}

TEST(Observability, MetricsOnMainServesThemOnTheMainPort) {
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--metrics-on-main"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  send_requests(*port, "/plaintext", 5, 200);
  auto r = get(*port, "/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_EQ(sample_value(r->body, R"(ringshard_http_requests_total{route="/plaintext",method="GET",code="200"})"),
            5) << r->body;
  stop(server);
  EXPECT_EQ(server.output().find("admin on"), std::string::npos) << server.output();
}

TEST(Observability, AdminOffMeansNoAdminPortAndNoMetricsOnMain) {
  ChildProcess server(obs_server_args({"--admin-listen", "off"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  auto r = get(*port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  stop(server);
  // The whole log, startup to exit: no admin line.
  EXPECT_EQ(server.output().find("admin on"), std::string::npos) << server.output();
}

// --- /health and /ready -------------------------------------------------------

TEST(Observability, ReadyTurns503WhileDrainingAndTheServerStillExitsZero) {
  // A long idle grace, so the drain does not close the probe's idle
  // keep-alive connection before it asks.
  ChildProcess server(obs_server_args({"--admin-listen", "127.0.0.1:0", "--drain-timeout", "30s",
                                       "--drain-idle-grace", "30s"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  auto admin = wait_for_admin_port(server);
  ASSERT_TRUE(admin) << server.output();

  auto health = get(*admin, "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // {"status":"healthy","version":"X.Y.Z","uptime":N}
  EXPECT_TRUE(health->body.starts_with(R"({"status":"healthy","version":")")) << health->body;
  EXPECT_NE(health->body.find(R"(","uptime":)"), std::string::npos) << health->body;

  TestConnection probe(*admin);
  ASSERT_TRUE(probe.send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto ready = probe.read_response();
  ASSERT_TRUE(ready) << probe.error();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready"})");
  EXPECT_NE(ready->header("connection"), "close");

  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("draining")) << server.output();
  // Every shard has begun draining once none of them accepts any more.
  ASSERT_TRUE(refuses_connections(*admin));
  ASSERT_TRUE(refuses_connections(*port));

  ASSERT_TRUE(probe.send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto draining = probe.read_response();
  ASSERT_TRUE(draining) << probe.error();
  EXPECT_EQ(draining->status, 503);
  EXPECT_EQ(draining->body, R"({"status":"draining"})");
  EXPECT_EQ(draining->header("connection"), "close");
  EXPECT_TRUE(probe.wait_closed());

  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

// --- access log ----------------------------------------------------------------

// Checks one access log line; returns its path ("" if the line is bad).
std::string check_access_line(const std::string& line) {
  json::ParseError err;
  auto v = json::parse(line, &err);
  EXPECT_TRUE(v) << err.message << ": " << line;
  if (!v || !v->is_object()) return "";
  auto string_field = [&](const char* key) {
    const json::Value* f = v->find(key);
    EXPECT_TRUE(f && f->is_string()) << key << " in " << line;
    return f ? std::string(f->as_string()) : std::string();
  };
  auto number_field = [&](const char* key) {
    const json::Value* f = v->find(key);
    EXPECT_TRUE(f && f->is_number()) << key << " in " << line;
    return f ? f->as_number() : -1.0;
  };
  EXPECT_EQ(string_field("method"), "GET") << line;
  EXPECT_EQ(number_field("status"), 200) << line;
  EXPECT_GT(number_field("bytes_in"), 0) << line;
  EXPECT_GT(number_field("bytes_out"), 0) << line;
  EXPECT_GE(number_field("duration"), 0) << line;
  const double shard = number_field("shard");
  EXPECT_TRUE(shard == 0 || shard == 1) << line;
  EXPECT_EQ(string_field("request_id").size(), 32u) << line;  // generated: 128 bits in hex
  EXPECT_EQ(string_field("trace_id").size(), 32u) << line;
  EXPECT_EQ(string_field("time").size(), 24u) << line;  // 2024-05-01T12:34:56.789Z
  EXPECT_EQ(string_field("user_agent"), "obs-test") << line;
  return string_field("path");
}

// Client `client` sends requests i = 0.. on one keep-alive connection, to
// the unique path /plaintext?c=<client>&i=<i>, while more() says so.
template <typename More>
int send_numbered(uint16_t port, int client, More&& more) {
  TestConnection c(port);
  int i = 0;
  for (; more(i); ++i) {
    const std::string path = "/plaintext?c=" + std::to_string(client) + "&i=" + std::to_string(i);
    if (!c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nUser-Agent: obs-test\r\n\r\n")) break;
    auto r = c.read_response();
    if (!r || r->status != 200) {
      ADD_FAILURE() << path << ": " << c.error();
      break;
    }
  }
  return i;
}

std::set<std::string> expected_paths(const std::vector<int>& per_client) {
  std::set<std::string> out;
  for (size_t c = 0; c < per_client.size(); ++c) {
    for (int i = 0; i < per_client[c]; ++i) {
      out.insert("/plaintext?c=" + std::to_string(c) + "&i=" + std::to_string(i));
    }
  }
  return out;
}

TEST(Observability, AccessLogHasOneValidJsonLinePerRequest) {
  ScratchDir dir;
  const std::string log = dir.file("access.log");
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--access-log", log}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();

  constexpr int kClients = 4, kEach = 60;
  std::vector<int> sent(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { sent[c] = send_numbered(*port, c, [](int i) { return i < kEach; }); });
  }
  for (auto& t : clients) t.join();
  stop(server);

  const auto lines = read_lines(log);
  EXPECT_EQ(lines.size(), size_t{kClients * kEach});
  std::set<std::string> paths;
  for (const std::string& line : lines) paths.insert(check_access_line(line));
  EXPECT_EQ(paths, expected_paths(sent));
}

TEST(Observability, AccessLogDashWritesToStdout) {
  ScratchDir dir;
  const std::string out = dir.file("stdout");
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--access-log", "-"}), [&out] {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) _exit(120);
  });
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  const int sent = send_numbered(*port, 0, [](int i) { return i < 10; });
  stop(server);
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 10u) << read_file(out);
  std::set<std::string> paths;
  for (const std::string& line : lines) paths.insert(check_access_line(line));
  EXPECT_EQ(paths, expected_paths({sent}));
  // Not mixed into the server log.
  EXPECT_EQ(server.output().find("/plaintext?c="), std::string::npos) << server.output();
}

// logrotate: rename the file, SIGUSR1. Lines already written stay in the
// renamed file; requests answered after the reopen go to the new one.
TEST(Observability, AccessLogReopenOnSigusr1SplitsLinesAtTheReopen) {
  ScratchDir dir;
  const std::string log = dir.file("access.log");
  const std::string rotated = dir.file("access.log.1");
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--access-log", log}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();

  const int before = send_numbered(*port, 0, [](int i) { return i < 25; });
  // The shards hand their lines to the logger on a timer: wait until all
  // are in the file.
  ASSERT_TRUE(TestServer::wait_until([&] { return read_lines(log).size() == 25u; }))
      << read_lines(log).size();
  std::filesystem::rename(log, rotated);
  server.signal(SIGUSR1);
  ASSERT_TRUE(server.wait_for_line("SIGUSR1: access log reopened")) << server.output();
  // The logger thread reopens asynchronously: the new file appears then.
  ASSERT_TRUE(TestServer::wait_until([&] { return std::filesystem::exists(log); }));
  const int after = send_numbered(*port, 1, [](int i) { return i < 30; });
  stop(server);

  std::set<std::string> old_paths, new_paths;
  for (const std::string& line : read_lines(rotated)) old_paths.insert(check_access_line(line));
  for (const std::string& line : read_lines(log)) new_paths.insert(check_access_line(line));
  EXPECT_EQ(read_lines(rotated).size(), 25u);
  EXPECT_EQ(read_lines(log).size(), 30u);
  EXPECT_EQ(old_paths, expected_paths({before}));
  EXPECT_EQ(new_paths, expected_paths({0, after}));
}

// The same with 4 clients sending throughout: lines still buffered in the
// shards when the file is renamed land in one file or the other (the new
// one: a reopen does not flush the shards' buffers), never nowhere and
// never twice.
TEST(Observability, AccessLogReopenUnderLoadLosesNoLine) {
  ScratchDir dir;
  const std::string log = dir.file("access.log");
  const std::string rotated = dir.file("access.log.1");
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--access-log", log}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();

  constexpr int kClients = 4, kAfterReopen = 50;
  std::atomic<int> progress{0};
  std::atomic<bool> reopened{false};
  std::vector<int> sent(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      int reopened_at = -1;
      sent[c] = send_numbered(*port, c, [&](int i) {
        ++progress;
        if (reopened_at < 0 && reopened) reopened_at = i;
        return reopened_at < 0 ? i < 100'000 : i < reopened_at + kAfterReopen;
      });
    });
  }
  // Rename once some lines are in the file and more are still buffered in
  // the shards (each hands its buffer over about once a second).
  ASSERT_TRUE(TestServer::wait_until(
      [&] { return progress >= 400 && !read_lines(log).empty(); }, 30'000));
  std::filesystem::rename(log, rotated);
  server.signal(SIGUSR1);
  const bool line_seen = server.wait_for_line("SIGUSR1: access log reopened").has_value();
  const bool file_seen = TestServer::wait_until([&] { return std::filesystem::exists(log); });
  reopened = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(line_seen) << server.output();
  ASSERT_TRUE(file_seen);
  stop(server);

  const auto old_lines = read_lines(rotated), new_lines = read_lines(log);
  std::multiset<std::string> paths;
  for (const std::string& line : old_lines) paths.insert(check_access_line(line));
  for (const std::string& line : new_lines) paths.insert(check_access_line(line));
  const std::set<std::string> expected = expected_paths(sent);
  EXPECT_EQ(paths.size(), expected.size()) << "lines lost or written twice";
  EXPECT_EQ(std::set<std::string>(paths.begin(), paths.end()), expected);
  EXPECT_GE(new_lines.size(), size_t{kClients * kAfterReopen});
  EXPECT_GT(old_lines.size(), 0u);
}

}  // namespace
}  // namespace ringshard::test
