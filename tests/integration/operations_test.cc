// Running the binary as a service: the server log's format and level,
// SIGHUP configuration reload (good and bad files), and the systemd
// notification protocol (READY, WATCHDOG, RELOADING, STOPPING) as a real
// datagram socket receives it.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "json/json.h"
#include "tests/integration/obs_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

void stop(ChildProcess& server) {
  server.signal(SIGTERM);
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

// A child whose environment points systemd's variables at `socket`.
std::function<void()> notify_env(const std::string& socket, const char* watchdog_usec = nullptr) {
  return [socket, watchdog_usec] {
    setenv("NOTIFY_SOCKET", socket.c_str(), 1);
    unsetenv("WATCHDOG_PID");
    if (watchdog_usec != nullptr) {
      setenv("WATCHDOG_USEC", watchdog_usec, 1);
    } else {
      unsetenv("WATCHDOG_USEC");
    }
  };
}

// --- server log -------------------------------------------------------------

TEST(Operations, JsonLogFormatMakesEveryLineJson) {
  ChildProcess server(obs_server_args({"--admin-listen", "127.0.0.1:0", "--log-format", "json"}));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  ASSERT_TRUE(wait_for_admin_port(server)) << server.output();
  auto r = get(*port, "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  server.signal(SIGHUP);
  ASSERT_TRUE(server.wait_for_line("configuration reloaded")) << server.output();
  server.signal(SIGUSR1);
  ASSERT_TRUE(server.wait_for_line("SIGUSR1: ")) << server.output();
  stop(server);

  const auto lines = split_lines(server.output());
  // listening, admin, reload, reopen, draining, drained at least.
  EXPECT_GE(lines.size(), 6u) << server.output();
  EXPECT_EQ(server.output().back(), '\n');
  const std::set<std::string> levels = {"debug", "info", "warn", "error"};
  for (const std::string& line : lines) {
    json::ParseError err;
    auto v = json::parse(line, &err);
    ASSERT_TRUE(v && v->is_object()) << err.message << ": " << line;
    const json::Value* time = v->find("time");
    const json::Value* level = v->find("level");
    const json::Value* shard = v->find("shard");
    const json::Value* msg = v->find("msg");
    ASSERT_TRUE(time && time->is_string() && level && level->is_string() && shard &&
                shard->is_string() && msg && msg->is_string())
        << line;
    EXPECT_EQ(time->as_string().size(), 24u) << line;
    EXPECT_EQ(levels.count(std::string(level->as_string())), 1u) << line;
    EXPECT_EQ(shard->as_string(), "main") << line;
    EXPECT_FALSE(msg->as_string().empty()) << line;
  }
}

// With --log-level warn nothing at info is written. There is no
// "listening on" line to wait for, so the systemd notifications (READY=1,
// then READY=1 after each reload) are the synchronisation points; an
// invalid reload logs at error level, which must still come through.
TEST(Operations, WarnLogLevelHidesInfoLines) {
  ScratchDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  ASSERT_TRUE(notify.ok());
  const std::string config = dir.file("ringshard.toml");
  write_file(config, "[http]\nmax_body_bytes = 4096\n");
  ChildProcess server(obs_server_args({"--admin-listen", "127.0.0.1:0", "--log-level", "warn",
                                       "--config", config}),
                      notify_env(notify.path()));
  auto ready = notify.receive_skipping_watchdog();
  ASSERT_TRUE(ready) << server.output();
  EXPECT_EQ(ready->rfind("READY=1", 0), 0u) << *ready;

  // A good reload (its notes are info).
  server.signal(SIGHUP);
  auto m = notify.receive_skipping_watchdog();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rfind("RELOADING=1", 0), 0u) << *m;
  m = notify.receive_skipping_watchdog();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rfind("READY=1", 0), 0u) << *m;

  write_file(config, "[http]\nmax_body_bytes = \"lots\"\n");
  server.signal(SIGHUP);
  auto error = server.wait_for_line("invalid configuration");
  ASSERT_TRUE(error) << server.output();
  EXPECT_NE(error->find(" error "), std::string::npos) << *error;
  stop(server);

  EXPECT_EQ(server.output().find(" info "), std::string::npos) << server.output();
  EXPECT_EQ(server.output().find("listening on"), std::string::npos) << server.output();
}

// The log level is reloadable: from warn in the file to info, a SIGHUP
// later the reload notes (info) appear.
TEST(Operations, LogLevelReloadsFromTheFile) {
  ScratchDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  ASSERT_TRUE(notify.ok());
  const std::string config = dir.file("ringshard.toml");
  write_file(config, "[log]\nlevel = \"warn\"\n");
  ChildProcess server(obs_server_args({"--admin-listen", "off", "--config", config}),
                      notify_env(notify.path()));
  auto ready = notify.receive_skipping_watchdog();
  ASSERT_TRUE(ready) << server.output();
  write_file(config, "[log]\nlevel = \"info\"\n");
  for (int i = 0; i < 2; ++i) {
    server.signal(SIGHUP);
    auto reloading = notify.receive_skipping_watchdog();
    ASSERT_TRUE(reloading);
    EXPECT_EQ(reloading->rfind("RELOADING=1", 0), 0u) << *reloading;
    auto again = notify.receive_skipping_watchdog();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->rfind("READY=1", 0), 0u) << *again;
  }
  // The first reload's notes were written under warn; the second's under info.
  auto line = server.wait_for_line("SIGHUP: configuration reloaded");
  ASSERT_TRUE(line) << server.output();
  stop(server);
  const std::string out = server.output();
  const size_t first = out.find("configuration reloaded");
  EXPECT_EQ(out.find("configuration reloaded", first + 1), std::string::npos) << out;
  EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
}

// --- SIGHUP reload -------------------------------------------------------------

// GET /plaintext with a body of `n` bytes on a fresh connection: the
// status (200 when the body is within max_body_bytes, 413 past it).
int status_with_body(uint16_t port, size_t n) {
  TestConnection c(port);
  if (!c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(n) +
              "\r\n\r\n" + std::string(n, 'b'))) {
    return -1;
  }
  auto r = c.read_response();
  return r ? r->status : -1;
}

// listen and shards come from the file here, not from flags: a flag
// overrides the file, so a change in the file would not be a change.
TEST(Operations, SighupReloadsLimitsNamesRestartOnlyChangesAndKeepsGoodConfigOnError) {
  ScratchDir dir;
  const std::string config = dir.file("ringshard.toml");
  const std::string server_section = "[server]\nlisten = \"127.0.0.1:0\"\nshards = 2\n";
  write_file(config, server_section + "[http]\nmax_body_bytes = 4096\n");
  ChildProcess server({RINGSHARD_BINARY, "--config", config, "--tls-listen", "off",
                       "--admin-listen", "off", "--no-plugins"});
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();
  EXPECT_EQ(status_with_body(*port, 2000), 200);

  // Lower the body limit (reloadable) and move the listener (restart only).
  write_file(config, "[server]\nlisten = \"127.0.0.1:1\"\nshards = 2\n[http]\nmax_body_bytes = 1024\n");
  server.signal(SIGHUP);
  auto restart = server.wait_for_line("needs a restart");
  ASSERT_TRUE(restart) << server.output();
  EXPECT_NE(restart->find("SIGHUP: listen changed"), std::string::npos) << *restart;
  ASSERT_TRUE(server.wait_for_line("SIGHUP: configuration reloaded")) << server.output();
  EXPECT_EQ(server.output().find("shards changed"), std::string::npos) << server.output();
  // The new limit holds on every shard (fresh connections land on either);
  // the listener stayed where it was.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(status_with_body(*port, 2000), 413);
    EXPECT_EQ(status_with_body(*port, 1000), 200);
  }

  write_file(config, server_section + "[http]\nmax_body_bytes = \"lots\"\n");
  server.signal(SIGHUP);
  auto kept = server.wait_for_line("SIGHUP: invalid configuration, keeping the running one");
  ASSERT_TRUE(kept) << server.output();
  EXPECT_NE(kept->find("max_body_bytes"), std::string::npos) << *kept;
  // Still serving, with the last good values.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(status_with_body(*port, 2000), 413);
    EXPECT_EQ(status_with_body(*port, 1000), 200);
  }
  stop(server);
}

// A restart-only change is not applied by a reload, so every reload names
// it again until the file goes back to the running value.
TEST(Operations, SighupNamesAnUnappliedRestartOnlyChangeEveryTime) {
  ScratchDir dir;
  const std::string config = dir.file("ringshard.toml");
  write_file(config, "[server]\ndrain_timeout = \"10s\"\n");
  ChildProcess server(obs_server_args({"--config", config, "--admin-listen", "off"}));
  ASSERT_TRUE(server.wait_for_port()) << server.output();
  write_file(config, "[server]\ndrain_timeout = \"20s\"\n");
  for (int i = 0; i < 2; ++i) {
    server.signal(SIGHUP);
    auto note = server.wait_for_line("SIGHUP: ");
    ASSERT_TRUE(note) << server.output();
    EXPECT_NE(note->find("drain_timeout changed: it needs a restart"), std::string::npos)
        << "reload " << i << ": " << *note;
    if (note->find("configuration reloaded") == std::string::npos) {
      ASSERT_TRUE(server.wait_for_line("SIGHUP: configuration reloaded")) << server.output();
    }
  }
  write_file(config, "[server]\ndrain_timeout = \"10s\"\n");
  server.signal(SIGHUP);
  auto note = server.wait_for_line("SIGHUP: ");
  ASSERT_TRUE(note) << server.output();
  EXPECT_NE(note->find("SIGHUP: configuration reloaded"), std::string::npos) << *note;
  stop(server);
}

// --- systemd notify ------------------------------------------------------------

TEST(Operations, SystemdNotifyReadyWatchdogReloadingStopping) {
  ScratchDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  ASSERT_TRUE(notify.ok());
  ChildProcess server(obs_server_args({"--admin-listen", "off"}), notify_env(notify.path(), "200000"));

  // READY=1 first, with the main pid; by then the port is bound.
  auto ready = notify.receive();
  ASSERT_TRUE(ready) << server.output();
  EXPECT_EQ(*ready, "READY=1\nMAINPID=" + std::to_string(server.pid()));
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.output();

  // WATCHDOG=1 every half of WATCHDOG_USEC (100 ms): two within 5 s each.
  for (int i = 0; i < 2; ++i) {
    auto w = notify.receive();
    ASSERT_TRUE(w) << "watchdog " << i;
    EXPECT_EQ(*w, "WATCHDOG=1");
  }

  const uint64_t before = monotonic_usec();
  server.signal(SIGHUP);
  auto reloading = notify.receive_skipping_watchdog();
  const uint64_t after = monotonic_usec();
  ASSERT_TRUE(reloading);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(reloading->rfind(prefix, 0), 0u) << *reloading;
  const std::string usec = reloading->substr(prefix.size());
  ASSERT_FALSE(usec.empty());
  EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
  // The server's CLOCK_MONOTONIC is ours: the reload began between the
  // signal and the datagram's arrival.
  const uint64_t at = std::strtoull(usec.c_str(), nullptr, 10);
  EXPECT_GE(at, before);
  EXPECT_LE(at, after);
  auto again = notify.receive_skipping_watchdog();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, "READY=1\nMAINPID=" + std::to_string(server.pid()));

  // Still serving after the reload.
  auto r = get(*port, "/plaintext");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  server.signal(SIGTERM);
  auto stopping = notify.receive_skipping_watchdog();
  ASSERT_TRUE(stopping);
  EXPECT_EQ(*stopping, "STOPPING=1");
  auto code = server.wait_exit();
  ASSERT_TRUE(code) << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

}  // namespace
}  // namespace ringshard::test
