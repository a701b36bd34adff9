// Tests for server/options.h: flags, TOML, precedence, errors and exit codes,
// value syntax, listen addresses, TLS settings, --help.
#include "server/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/server/options_test_support.h"

namespace ringshard::server {
namespace RS_UNITY_ID {

using Mutate = std::function<void(Options&)>;

// The options parsed from `args`, failing the test on an error.
ParsedOptions parse_ok(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  if (auto* error = std::get_if<OptionsError>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
    return {};
  }
  return std::get<ParsedOptions>(result);
}

OptionsError parse_error(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  if (auto* error = std::get_if<OptionsError>(&result)) return *error;
  ADD_FAILURE() << "expected an error";
  return {OptionsError::kConfig, ""};
}

Options with(const Mutate& mutate) {
  Options o;
  mutate(o);
  return o;
}

std::string join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

void expect_one_line(const std::string& message) {
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_FALSE(message.empty());
}

// ---- Defaults, --help, --version ------------------------------------------

TEST(Options, NoFlagsGiveDefaults) {
  ParsedOptions parsed = parse_ok({});
  EXPECT_EQ(parsed.action, Action::kRun);
  EXPECT_EQ(parsed.options, Options{});
  EXPECT_EQ(parsed.options.listen.host, "0.0.0.0");
  EXPECT_EQ(parsed.options.listen.port, 8080);
  EXPECT_EQ(parsed.options.tls_listen, (ListenAddress{"0.0.0.0", 8443}));
  EXPECT_TRUE(parsed.options.tls_certs.empty());
  EXPECT_TRUE(parsed.options.tls_keys.empty());
  EXPECT_FALSE(parsed.options.tls_allow_12);
  EXPECT_EQ(parsed.options.tls_ticket_rotation_ms, 3'600'000u);
  EXPECT_EQ(parsed.options.tls_handshake_timeout_ms, 10'000u);
}

struct ActionCase {
  std::vector<std::string> args;
  Action action;
};

void PrintTo(const ActionCase& c, std::ostream* os) { *os << join(c.args); }

class ActionTest : public testing::TestWithParam<ActionCase> {};

TEST_P(ActionTest, SetsAction) {
  EXPECT_EQ(parse_ok(GetParam().args).action, GetParam().action);
}

INSTANTIATE_TEST_SUITE_P(
    Options, ActionTest,
    testing::Values(
        ActionCase{{"--help"}, Action::kHelp}, ActionCase{{"-h"}, Action::kHelp},
        ActionCase{{"--version"}, Action::kVersion},
        ActionCase{{"-V"}, Action::kVersion},
        ActionCase{{"--check-config"}, Action::kCheckConfig},
        // Help wins over version, over bad flags and over an unreadable file.
        ActionCase{{"--version", "--help"}, Action::kHelp},
        ActionCase{{"--bogus", "--help"}, Action::kHelp},
        ActionCase{{"--shards", "x", "-h"}, Action::kHelp},
        ActionCase{{"--listen", "--help"}, Action::kHelp},
        ActionCase{{"--config", "/nonexistent/x.toml", "--help"}, Action::kHelp},
        ActionCase{{"--bogus", "-V"}, Action::kVersion},
        ActionCase{{"--check-config", "--version"}, Action::kVersion}));

TEST(Options, VersionText) {
  EXPECT_EQ(version_text().rfind("ringshard ", 0), 0u);
  EXPECT_EQ(version_text().find('\n'), std::string::npos);
}

TEST(Options, UsageListsEveryFlagWithDefaults) {
  std::string usage = usage_text();
  for (const char* flag :
       {"--help", "-h,", "--version", "-V,", "--config FILE", "--check-config",
        "--listen HOST:PORT", "--shards N", "--data-dir DIR",
        "--header-timeout DUR", "--body-timeout DUR", "--idle-timeout DUR",
        "--drain-timeout DUR", "--max-head-bytes SIZE", "--max-target-bytes SIZE",
        "--max-headers N", "--max-body-bytes SIZE", "--max-connections N",
        "--send-queue-limit SIZE", "--recv-buffer-size SIZE", "--recv-buffers N",
        "--access-log FILE|-|off", "--no-flag", "--tls-listen HOST:PORT|off",
        "--cert FILE", "--key FILE", "--tls-min-version 1.2|1.3",
        "--tls-ticket-rotation DUR", "--tls-handshake-timeout DUR",
        "--ws-max-message SIZE", "--ws-ping-interval DUR", "--ws-deflate",
        "--no-ws-deflate", "--ws-deflate-window-bits N"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
  for (const char* text :
       {"[0.0.0.0:8080]", "[./data]", "[10s]", "[30s]", "[1m]", "[16KiB]",
        "[8KiB]", "[100]", "[1MiB]", "[65536]", "[1024]", "[off]", "[0]",
        "64", "78", "SIGTERM", "SIGINT", "second signal exits at once",
        "Server:", "HTTP:", "Engine:", "Exit codes:", "TLS:", "[0.0.0.0:8443]",
        "[1.3]", "[1h]", "SIGHUP", "self-signed", "WebSocket:", "[16MiB]"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
  std::istringstream lines(usage);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_EQ(usage.back(), '\n');
}

// ---- Every flag, valid, in both forms -------------------------------------

struct FlagCase {
  std::string flag;
  std::string value;
  Mutate expect;
};

void PrintTo(const FlagCase& c, std::ostream* os) { *os << c.flag << " " << c.value; }

class ValidFlagTest : public testing::TestWithParam<FlagCase> {};

TEST_P(ValidFlagTest, SeparateValue) {
  const FlagCase& c = GetParam();
  EXPECT_EQ(parse_ok({c.flag, c.value}).options, with(c.expect));
}

TEST_P(ValidFlagTest, EqualsValue) {
  const FlagCase& c = GetParam();
  EXPECT_EQ(parse_ok({c.flag + "=" + c.value}).options, with(c.expect));
}

INSTANTIATE_TEST_SUITE_P(
    Options, ValidFlagTest,
    testing::Values(
        FlagCase{"--listen", "127.0.0.1:9000",
                 [](Options& o) { o.listen = {"127.0.0.1", 9000}; }},
        FlagCase{"--listen", "[::1]:443",
                 [](Options& o) { o.listen = {"::1", 443}; }},
        FlagCase{"--listen", ":8081",
                 [](Options& o) { o.listen = {"0.0.0.0", 8081}; }},
        FlagCase{"--listen", "*:80", [](Options& o) { o.listen = {"0.0.0.0", 80}; }},
        FlagCase{"--listen", "localhost:0",
                 [](Options& o) { o.listen = {"localhost", 0}; }},
        FlagCase{"--shards", "0", [](Options& o) { o.shards = 0; }},
        FlagCase{"--shards", "4", [](Options& o) { o.shards = 4; }},
        FlagCase{"--shards", "1024", [](Options& o) { o.shards = 1024; }},
        FlagCase{"--shards", "007", [](Options& o) { o.shards = 7; }},
        FlagCase{"--data-dir", "/var/lib/ringshard",
                 [](Options& o) { o.data_dir = "/var/lib/ringshard"; }},
        FlagCase{"--data-dir", "-h", [](Options& o) { o.data_dir = "-h"; }},
        FlagCase{"--header-timeout", "250ms",
                 [](Options& o) { o.header_timeout_ms = 250; }},
        FlagCase{"--header-timeout", "1ms",
                 [](Options& o) { o.header_timeout_ms = 1; }},
        FlagCase{"--header-timeout", "5",
                 [](Options& o) { o.header_timeout_ms = 5000; }},
        FlagCase{"--header-timeout", "2m",
                 [](Options& o) { o.header_timeout_ms = 120'000; }},
        FlagCase{"--header-timeout", "24h",
                 [](Options& o) { o.header_timeout_ms = 86'400'000; }},
        FlagCase{"--header-timeout", "86400",
                 [](Options& o) { o.header_timeout_ms = 86'400'000; }},
        FlagCase{"--header-timeout", "86400000ms",
                 [](Options& o) { o.header_timeout_ms = 86'400'000; }},
        FlagCase{"--body-timeout", "45s",
                 [](Options& o) { o.body_timeout_ms = 45'000; }},
        FlagCase{"--idle-timeout", "1h",
                 [](Options& o) { o.idle_timeout_ms = 3'600'000; }},
        FlagCase{"--drain-timeout", "0",
                 [](Options& o) { o.drain_timeout_ms = 0; }},
        FlagCase{"--drain-timeout", "0ms",
                 [](Options& o) { o.drain_timeout_ms = 0; }},
        FlagCase{"--drain-timeout", "30s",
                 [](Options& o) { o.drain_timeout_ms = 30'000; }},
        FlagCase{"--max-head-bytes", "8192",
                 [](Options& o) { o.max_head_bytes = 8192; }},
        FlagCase{"--max-head-bytes", "32k",
                 [](Options& o) { o.max_head_bytes = 32768; }},
        FlagCase{"--max-head-bytes", "32K",
                 [](Options& o) { o.max_head_bytes = 32768; }},
        FlagCase{"--max-head-bytes", "32KiB",
                 [](Options& o) { o.max_head_bytes = 32768; }},
        FlagCase{"--max-head-bytes", "1m",
                 [](Options& o) { o.max_head_bytes = 1 << 20; }},
        FlagCase{"--max-head-bytes", "1M",
                 [](Options& o) { o.max_head_bytes = 1 << 20; }},
        FlagCase{"--max-head-bytes", "1MiB",
                 [](Options& o) { o.max_head_bytes = 1 << 20; }},
        FlagCase{"--max-target-bytes", "64",
                 [](Options& o) { o.max_target_bytes = 64; }},
        FlagCase{"--max-target-bytes", "16KiB",  // equal to max_head_bytes
                 [](Options& o) { o.max_target_bytes = 16384; }},
        FlagCase{"--max-headers", "1", [](Options& o) { o.max_headers = 1; }},
        FlagCase{"--max-headers", "256", [](Options& o) { o.max_headers = 256; }},
        FlagCase{"--max-body-bytes", "0",
                 [](Options& o) { o.max_body_bytes = 0; }},
        FlagCase{"--max-body-bytes", "64GiB",
                 [](Options& o) { o.max_body_bytes = 64ull << 30; }},
        FlagCase{"--max-body-bytes", "64g",
                 [](Options& o) { o.max_body_bytes = 64ull << 30; }},
        FlagCase{"--max-body-bytes", "2G",
                 [](Options& o) { o.max_body_bytes = 2ull << 30; }},
        FlagCase{"--max-body-bytes", "68719476736",
                 [](Options& o) { o.max_body_bytes = 64ull << 30; }},
        FlagCase{"--max-connections", "1",
                 [](Options& o) { o.max_connections = 1; }},
        FlagCase{"--max-connections", "1000000",
                 [](Options& o) { o.max_connections = 1'000'000; }},
        FlagCase{"--send-queue-limit", "4k",
                 [](Options& o) { o.send_queue_limit = 4096; }},
        FlagCase{"--send-queue-limit", "1GiB",
                 [](Options& o) { o.send_queue_limit = 1u << 30; }},
        FlagCase{"--recv-buffer-size", "1k",
                 [](Options& o) { o.recv_buffer_size = 1024; }},
        FlagCase{"--recv-buffer-size", "2048",
                 [](Options& o) { o.recv_buffer_size = 2048; }},
        FlagCase{"--recv-buffer-size", "1MiB",
                 [](Options& o) { o.recv_buffer_size = 1 << 20; }},
        FlagCase{"--recv-buffers", "16",
                 [](Options& o) { o.recv_buffer_count = 16; }},
        FlagCase{"--recv-buffers", "32768",
                 [](Options& o) { o.recv_buffer_count = 32768; }},
        FlagCase{"--tls-listen", "127.0.0.1:9443",
                 [](Options& o) { o.tls_listen = ListenAddress{"127.0.0.1", 9443}; }},
        FlagCase{"--tls-listen", "[::1]:443",
                 [](Options& o) { o.tls_listen = ListenAddress{"::1", 443}; }},
        FlagCase{"--tls-listen", ":0",
                 [](Options& o) { o.tls_listen = ListenAddress{"0.0.0.0", 0}; }},
        FlagCase{"--tls-listen", "off", [](Options& o) { o.tls_listen.reset(); }},
        FlagCase{"--tls-min-version", "1.2", [](Options& o) { o.tls_allow_12 = true; }},
        FlagCase{"--tls-min-version", "1.3", [](Options& o) { o.tls_allow_12 = false; }},
        FlagCase{"--tls-ticket-rotation", "0",
                 [](Options& o) { o.tls_ticket_rotation_ms = 0; }},
        FlagCase{"--tls-ticket-rotation", "0ms",
                 [](Options& o) { o.tls_ticket_rotation_ms = 0; }},
        FlagCase{"--tls-ticket-rotation", "1s",
                 [](Options& o) { o.tls_ticket_rotation_ms = 1000; }},
        FlagCase{"--tls-ticket-rotation", "1000ms",
                 [](Options& o) { o.tls_ticket_rotation_ms = 1000; }},
        FlagCase{"--tls-ticket-rotation", "30m",
                 [](Options& o) { o.tls_ticket_rotation_ms = 1'800'000; }},
        FlagCase{"--tls-ticket-rotation", "168h",  // 7 days
                 [](Options& o) { o.tls_ticket_rotation_ms = 604'800'000; }},
        FlagCase{"--tls-ticket-rotation", "604800",
                 [](Options& o) { o.tls_ticket_rotation_ms = 604'800'000; }},
        FlagCase{"--tls-handshake-timeout", "1ms",
                 [](Options& o) { o.tls_handshake_timeout_ms = 1; }},
        FlagCase{"--tls-handshake-timeout", "2500ms",
                 [](Options& o) { o.tls_handshake_timeout_ms = 2500; }},
        FlagCase{"--tls-handshake-timeout", "1h",
                 [](Options& o) { o.tls_handshake_timeout_ms = 3'600'000; }},
        FlagCase{"--tls-handshake-timeout", "3600",
                 [](Options& o) { o.tls_handshake_timeout_ms = 3'600'000; }},
        FlagCase{"--ws-max-message", "1KiB", [](Options& o) { o.ws_max_message_bytes = 1024; }},
        FlagCase{"--ws-max-message", "1GiB",
                 [](Options& o) { o.ws_max_message_bytes = 1ull << 30; }},
        FlagCase{"--ws-max-frame", "64KiB", [](Options& o) { o.ws_max_frame_bytes = 65536; }},
        FlagCase{"--ws-max-send-queue", "4GiB",
                 [](Options& o) { o.ws_max_send_queue = 4ull << 30; }},
        FlagCase{"--ws-ping-interval", "0", [](Options& o) { o.ws_ping_interval_ms = 0; }},
        FlagCase{"--ws-ping-interval", "45s", [](Options& o) { o.ws_ping_interval_ms = 45'000; }},
        FlagCase{"--ws-pong-timeout", "250ms", [](Options& o) { o.ws_pong_timeout_ms = 250; }},
        FlagCase{"--ws-idle-timeout", "10m", [](Options& o) { o.ws_idle_timeout_ms = 600'000; }},
        FlagCase{"--ws-close-timeout", "2s", [](Options& o) { o.ws_close_timeout_ms = 2000; }},
        FlagCase{"--ws-deflate-window-bits", "9",
                 [](Options& o) { o.ws_deflate_window_bits = 9; }},
        FlagCase{"--ws-deflate-mem-level", "1", [](Options& o) { o.ws_deflate_mem_level = 1; }},
        FlagCase{"--ws-deflate-min-size", "0", [](Options& o) { o.ws_deflate_min_size = 0; }}));

struct AccessLogCase {
  std::vector<std::string> args;
  std::string access_log;
};

void PrintTo(const AccessLogCase& c, std::ostream* os) { *os << join(c.args); }

class AccessLogFlagTest : public testing::TestWithParam<AccessLogCase> {};

TEST_P(AccessLogFlagTest, Sets) {
  EXPECT_EQ(parse_ok(GetParam().args).options.access_log, GetParam().access_log);
}

INSTANTIATE_TEST_SUITE_P(
    Options, AccessLogFlagTest,
    testing::Values(AccessLogCase{{}, ""}, AccessLogCase{{"--access-log", "-"}, "-"},
                    AccessLogCase{{"--access-log=-"}, "-"},
                    AccessLogCase{{"--access-log", "/var/log/rs.log"}, "/var/log/rs.log"},
                    AccessLogCase{{"--access-log", "off"}, ""},
                    AccessLogCase{{"--access-log="}, ""},
                    AccessLogCase{{"--no-access-log"}, ""},
                    AccessLogCase{{"--access-log", "a.log", "--no-access-log"}, ""},
                    AccessLogCase{{"--no-access-log", "--access-log", "a.log"}, "a.log"}));

TEST(Options, AccessLogNeedsAValue) {
  EXPECT_EQ(parse_error({"--access-log"}).message, "--access-log: missing value (see --help)");
  EXPECT_EQ(parse_error({"--access-log", "--shards", "2"}).message,
            "--access-log: missing value (see --help)");
  EXPECT_EQ(parse_error({"--no-access-log=x"}).message,
            "--no-access-log: does not take a value (see --help)");
}

// Every bool flag has its --no- form.
TEST(Options, NoFormTurnsEveryBoolOff) {
  Options o = parse_ok({"--no-ws-deflate", "--no-defer-accept", "--no-request-id",
                        "--no-trace-context", "--no-brotli"})
                  .options;
  EXPECT_FALSE(o.ws_deflate);
  EXPECT_FALSE(o.defer_accept);
  EXPECT_FALSE(o.request_id_enabled);
  EXPECT_FALSE(o.trace_context_enabled);
  EXPECT_FALSE(o.brotli);
  EXPECT_EQ(parse_error({"--no-shards"}).message, "unknown flag '--no-shards' (see --help)");
}

TEST(Options, SmallestHeadNeedsSmallerTarget) {
  Options o = parse_ok({"--max-head-bytes", "1k", "--max-target-bytes", "64"}).options;
  EXPECT_EQ(o.max_head_bytes, 1024u);
  EXPECT_EQ(o.max_target_bytes, 64u);
}

TEST(Options, RepeatedFlagLastWins) {
  EXPECT_EQ(parse_ok({"--shards", "2", "--shards=3"}).options.shards, 3u);
}

TEST(Options, ValueStartingWithDashesNeedsEqualsForm) {
  EXPECT_EQ(parse_ok({"--data-dir=--odd"}).options.data_dir, "--odd");
}

TEST(Options, CheckConfigKeepsFlags) {
  ParsedOptions parsed = parse_ok({"--check-config", "--shards", "8"});
  EXPECT_EQ(parsed.action, Action::kCheckConfig);
  EXPECT_EQ(parsed.options.shards, 8u);
}

// ---- Every flag, invalid, in both forms -----------------------------------

struct BadFlagCase {
  std::string flag;
  std::string value;
  std::string message;  // must appear in the error
};

void PrintTo(const BadFlagCase& c, std::ostream* os) { *os << c.flag << " '" << c.value << "'"; }

class InvalidFlagTest : public testing::TestWithParam<BadFlagCase> {
 protected:
  void check(const OptionsError& e) {
    const BadFlagCase& c = GetParam();
    EXPECT_EQ(e.kind, OptionsError::kUsage);
    EXPECT_EQ(e.exit_code(), 64);
    EXPECT_EQ(e.message.rfind(c.flag + ": ", 0), 0u) << e.message;
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("(see --help)"), std::string::npos) << e.message;
    expect_one_line(e.message);
  }
};

TEST_P(InvalidFlagTest, SeparateValue) {
  check(parse_error({GetParam().flag, GetParam().value}));
}

TEST_P(InvalidFlagTest, EqualsValue) {
  check(parse_error({GetParam().flag + "=" + GetParam().value}));
}

INSTANTIATE_TEST_SUITE_P(
    Options, InvalidFlagTest,
    testing::Values(
        BadFlagCase{"--listen", "", "is not HOST:PORT"},
        BadFlagCase{"--listen", "8080", "'8080' is not HOST:PORT"},
        BadFlagCase{"--listen", "example.com:80", "is not HOST:PORT"},
        BadFlagCase{"--listen", "1.2.3.4:65536", "is not HOST:PORT"},
        BadFlagCase{"--listen", "::1:80", "is not HOST:PORT"},
        BadFlagCase{"--shards", "", "'' is not a number"},
        BadFlagCase{"--shards", "-1", "'-1' is not a number"},
        BadFlagCase{"--shards", "+1", "is not a number"},
        BadFlagCase{"--shards", " 1", "is not a number"},
        BadFlagCase{"--shards", "1 ", "is not a number"},
        BadFlagCase{"--shards", "0x10", "is not a number"},
        BadFlagCase{"--shards", "1.0", "is not a number"},
        BadFlagCase{"--shards", "4k", "is not a number"},
        BadFlagCase{"--shards", "1025", "'1025' is out of range 0..1024"},
        BadFlagCase{"--shards", "99999999999999999999999", "is out of range"},
        BadFlagCase{"--data-dir", "", "must not be empty"},
        BadFlagCase{"--header-timeout", "", "is not a duration"},
        BadFlagCase{"--header-timeout", "0", "'0' is out of range 1ms..24h"},
        BadFlagCase{"--header-timeout", "0ms", "is out of range 1ms..24h"},
        BadFlagCase{"--header-timeout", "1.5s", "'1.5s' is not a duration"},
        BadFlagCase{"--header-timeout", "10 s", "is not a duration"},
        BadFlagCase{"--header-timeout", "10S", "is not a duration"},
        BadFlagCase{"--header-timeout", "10sec", "is not a duration"},
        BadFlagCase{"--header-timeout", "s", "is not a duration"},
        BadFlagCase{"--header-timeout", "-1s", "is not a duration"},
        BadFlagCase{"--header-timeout", "+1s", "is not a duration"},
        BadFlagCase{"--header-timeout", "1d", "is not a duration"},
        BadFlagCase{"--header-timeout", "25h", "'25h' is out of range"},
        BadFlagCase{"--header-timeout", "86401", "is out of range"},
        BadFlagCase{"--header-timeout", "86400001ms", "is out of range"},
        BadFlagCase{"--header-timeout", "99999999999999999999ms", "is out of range"},
        BadFlagCase{"--header-timeout", "18446744073709551615h", "is out of range"},
        BadFlagCase{"--body-timeout", "0s", "is out of range"},
        BadFlagCase{"--body-timeout", "fast", "is not a duration"},
        BadFlagCase{"--idle-timeout", "0", "is out of range"},
        BadFlagCase{"--idle-timeout", "2d", "is not a duration"},
        BadFlagCase{"--drain-timeout", "25h", "is out of range 0s..24h"},
        BadFlagCase{"--drain-timeout", "-0", "is not a duration"},
        BadFlagCase{"--max-head-bytes", "1023", "'1023' is out of range 1KiB..1MiB"},
        BadFlagCase{"--max-head-bytes", "2MiB", "is out of range"},
        BadFlagCase{"--max-head-bytes", "16KB", "is not a size"},
        BadFlagCase{"--max-head-bytes", "16kb", "is not a size"},
        BadFlagCase{"--max-head-bytes", "16 KiB", "is not a size"},
        BadFlagCase{"--max-head-bytes", "1.5k", "is not a size"},
        BadFlagCase{"--max-head-bytes", "1e4", "is not a size"},
        BadFlagCase{"--max-head-bytes", "k", "is not a size"},
        BadFlagCase{"--max-target-bytes", "63", "is out of range 64..max_head_bytes"},
        BadFlagCase{"--max-target-bytes", "32k", "32KiB is larger than max-head-bytes (16KiB)"},
        BadFlagCase{"--max-headers", "0", "is out of range 1..256"},
        BadFlagCase{"--max-headers", "257", "is out of range 1..256"},
        BadFlagCase{"--max-body-bytes", "65GiB", "is out of range 0..64GiB"},
        BadFlagCase{"--max-body-bytes", "68719476737", "is out of range"},
        BadFlagCase{"--max-body-bytes", "17179869184g", "is out of range"},
        BadFlagCase{"--max-connections", "0", "is out of range 1..1000000"},
        BadFlagCase{"--max-connections", "1000001", "is out of range"},
        BadFlagCase{"--send-queue-limit", "4095", "is out of range 4KiB..1GiB"},
        BadFlagCase{"--send-queue-limit", "2GiB", "is out of range"},
        BadFlagCase{"--recv-buffer-size", "3k", "'3k' is not a power of two in 1KiB..1MiB"},
        BadFlagCase{"--recv-buffer-size", "512", "is not a power of two in 1KiB..1MiB"},
        BadFlagCase{"--recv-buffer-size", "2MiB", "is not a power of two in"},
        BadFlagCase{"--recv-buffers", "0", "is not a power of two in 16..32768"},
        BadFlagCase{"--recv-buffers", "1000", "is not a power of two in 16..32768"},
        BadFlagCase{"--recv-buffers", "65536", "is not a power of two in 16..32768"},
        BadFlagCase{"--recv-buffers", "8", "is not a power of two in 16..32768"},
        BadFlagCase{"--tls-listen", "", "'' is not HOST:PORT or off"},
        BadFlagCase{"--tls-listen", "8443", "'8443' is not HOST:PORT or off"},
        BadFlagCase{"--tls-listen", "OFF", "'OFF' is not HOST:PORT or off"},
        BadFlagCase{"--tls-listen", "on", "is not HOST:PORT or off"},
        BadFlagCase{"--tls-listen", "none", "is not HOST:PORT or off"},
        BadFlagCase{"--cert", "", "must not be empty"},
        BadFlagCase{"--key", "", "must not be empty"},
        BadFlagCase{"--tls-min-version", "1.1", "'1.1' is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "1.0", "is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "1.4", "is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "", "'' is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "TLSv1.3", "is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "1.3 ", "is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-min-version", "13", "is not allowed; use 1.2 or 1.3"},
        BadFlagCase{"--tls-ticket-rotation", "1ms",
                    "'1ms' is out of range 0s or 1s..168h"},
        BadFlagCase{"--tls-ticket-rotation", "999ms", "is out of range 0s or 1s..168h"},
        BadFlagCase{"--tls-ticket-rotation", "169h", "is out of range 0s or 1s..168h"},
        BadFlagCase{"--tls-ticket-rotation", "604801", "is out of range"},
        BadFlagCase{"--tls-ticket-rotation", "604800001ms", "is out of range"},
        BadFlagCase{"--tls-ticket-rotation", "7d", "'7d' is not a duration"},
        BadFlagCase{"--tls-ticket-rotation", "off", "is not a duration"},
        BadFlagCase{"--tls-ticket-rotation", "-1", "is not a duration"},
        BadFlagCase{"--tls-handshake-timeout", "0", "'0' is out of range 1ms..1h"},
        BadFlagCase{"--tls-handshake-timeout", "0ms", "is out of range 1ms..1h"},
        BadFlagCase{"--tls-handshake-timeout", "61m", "is out of range 1ms..1h"},
        BadFlagCase{"--tls-handshake-timeout", "3601", "is out of range 1ms..1h"},
        BadFlagCase{"--tls-handshake-timeout", "3600001ms", "is out of range 1ms..1h"},
        BadFlagCase{"--tls-handshake-timeout", "1.5s", "is not a duration"},
        BadFlagCase{"--ws-max-message", "1000", "is out of range 1KiB..1GiB"},
        BadFlagCase{"--ws-max-message", "2GiB", "is out of range 1KiB..1GiB"},
        BadFlagCase{"--ws-max-send-queue", "1KiB", "is out of range"},
        BadFlagCase{"--ws-pong-timeout", "0", "is out of range 1ms..1h"},
        BadFlagCase{"--ws-deflate-window-bits", "8", "is out of range 9..15"},
        BadFlagCase{"--ws-deflate-window-bits", "16", "is out of range 9..15"},
        BadFlagCase{"--ws-deflate-mem-level", "0", "is out of range 1..9"}));

TEST(Options, BadBoolValue) {
  OptionsError e = parse_error({"--defer-accept=1"});
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message,
            "--defer-accept: '1' is not a boolean; use true or false (see --help)");
}

// ---- Command-line syntax errors -------------------------------------------

struct SyntaxCase {
  std::vector<std::string> args;
  std::string message;  // the whole message
};

void PrintTo(const SyntaxCase& c, std::ostream* os) { *os << join(c.args); }

class SyntaxErrorTest : public testing::TestWithParam<SyntaxCase> {};

TEST_P(SyntaxErrorTest, IsUsageError) {
  OptionsError e = parse_error(GetParam().args);
  EXPECT_EQ(e.kind, OptionsError::kUsage);
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Options, SyntaxErrorTest,
    testing::Values(
        SyntaxCase{{"--nope"}, "unknown flag '--nope' (see --help)"},
        SyntaxCase{{"--nope=1"}, "unknown flag '--nope' (see --help)"},
        SyntaxCase{{"--shard", "2"}, "unknown flag '--shard' (see --help)"},
        SyntaxCase{{"-x"}, "unknown flag '-x' (see --help)"},
        SyntaxCase{{"-help"}, "unknown flag '-help' (see --help)"},
        SyntaxCase{{"serve"}, "unexpected argument 'serve' (see --help)"},
        SyntaxCase{{"--"}, "unexpected argument '--' (see --help)"},
        SyntaxCase{{"-"}, "unexpected argument '-' (see --help)"},
        SyntaxCase{{""}, "unexpected argument '' (see --help)"},
        SyntaxCase{{"--shards", "2", "3"}, "unexpected argument '3' (see --help)"},
        SyntaxCase{{"--shards"}, "--shards: missing value (see --help)"},
        SyntaxCase{{"--listen", "--shards", "2"},
                   "--listen: missing value (see --help)"},
        SyntaxCase{{"--config"}, "--config: missing value (see --help)"},
        SyntaxCase{{"--config="}, "--config: must not be empty (see --help)"},
        SyntaxCase{{"--check-config=yes"},
                   "--check-config: does not take a value (see --help)"},
        SyntaxCase{{"--help=me"}, "--help: does not take a value (see --help)"},
        SyntaxCase{{"--version=2"}, "--version: does not take a value (see --help)"},
        SyntaxCase{{"--no-access-log=true"},
                   "--no-access-log: does not take a value (see --help)"},
        SyntaxCase{{"--unknown\n\x01"}, "unknown flag '--unknown\\x0a\\x01' (see --help)"},
        // The first error is reported.
        SyntaxCase{{"--a", "--b"}, "unknown flag '--a' (see --help)"},
        SyntaxCase{{"--shards", "x", "--b"}, "unknown flag '--b' (see --help)"}));

TEST(Options, LongValueIsCutInMessage) {
  OptionsError e = parse_error({"--shards", std::string(1000, '9') + "x"});
  EXPECT_LT(e.message.size(), 200u);
  EXPECT_NE(e.message.find("...'"), std::string::npos) << e.message;
}

// ---- Config file and precedence -------------------------------------------

TEST(Options, ConfigFileIsRead) {
  TempFile file(
      "[server]\nlisten = \"127.0.0.1:9090\"\nshards = 2\n"
      "[http]\nmax_headers = 50\n");
  ParsedOptions parsed = parse_ok({"--config", file.path()});
  EXPECT_EQ(parsed.options.listen, (ListenAddress{"127.0.0.1", 9090}));
  EXPECT_EQ(parsed.options.shards, 2u);
  EXPECT_EQ(parsed.options.max_headers, 50u);
  EXPECT_EQ(parsed.options.config_path, file.path());
  EXPECT_EQ(parsed.options.idle_timeout_ms, 60'000u);  // untouched default
}

TEST(Options, FlagsOverrideFileWhateverTheOrder) {
  TempFile file("[server]\nshards = 2\naccess_log = \"a.log\"\n[http]\nmax_headers = 50\n");
  for (auto args : std::vector<std::vector<std::string>>{
           {"--shards", "3", "--no-access-log", "--config", file.path()},
           {"--config", file.path(), "--shards", "3", "--no-access-log"},
           {"--shards=3", "--config=" + file.path(), "--no-access-log"}}) {
    ParsedOptions parsed = parse_ok(args);
    EXPECT_EQ(parsed.options.shards, 3u);
    EXPECT_EQ(parsed.options.access_log, "");
    EXPECT_EQ(parsed.options.max_headers, 50u);
  }
}

TEST(Options, LastConfigFlagWins) {
  TempFile first("[server]\nshards = 2\n");
  TempFile second("[server]\nshards = 5\n");
  EXPECT_EQ(parse_ok({"--config", first.path(), "--config", second.path()})
                .options.shards,
            5u);
}

TEST(Options, CheckConfigWithGoodFile) {
  TempFile file("[engine]\nrecv_buffers = 64\n");
  ParsedOptions parsed = parse_ok({"--check-config", "--config", file.path()});
  EXPECT_EQ(parsed.action, Action::kCheckConfig);
  EXPECT_EQ(parsed.options.recv_buffer_count, 64u);
}

TEST(Options, BadFileIsConfigErrorEvenWithCheckConfig) {
  TempFile file("[server]\nshards = 5000\n");
  OptionsError e = parse_error({"--check-config", "--config", file.path()});
  EXPECT_EQ(e.kind, OptionsError::kConfig);
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message, file.path() + ":2:10: [server] shards: '5000' is out of range 0..1024");
}

TEST(Options, FileErrorIsReportedEvenIfAFlagSetsTheSameKey) {
  TempFile file("[server]\nshards = 5000\n");
  OptionsError e = parse_error({"--config", file.path(), "--shards", "2"});
  EXPECT_EQ(e.exit_code(), 78);
}

TEST(Options, BadFlagAfterGoodFileIsUsageError) {
  TempFile file("[server]\nshards = 2\n");
  OptionsError e = parse_error({"--config", file.path(), "--shards", "x"});
  EXPECT_EQ(e.exit_code(), 64);
}

TEST(Options, MissingFileIsConfigError) {
  OptionsError e = parse_error({"--config", "/nonexistent/ringshard.toml"});
  EXPECT_EQ(e.kind, OptionsError::kConfig);
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message,
            "cannot read config file '/nonexistent/ringshard.toml': No such "
            "file or directory");
}

TEST(Options, DirectoryAsFileIsConfigError) {
  OptionsError e = parse_error({"--config", testing::TempDir()});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_NE(e.message.find("Is a directory"), std::string::npos) << e.message;
}

TEST(Options, HugeFileIsConfigError) {
  TempFile file(std::string((1 << 20) + 1, '#'));
  OptionsError e = parse_error({"--config", file.path()});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_NE(e.message.find("larger than 1MiB"), std::string::npos) << e.message;
}

TEST(Options, NotTomlIsConfigErrorWithPosition) {
  TempFile file("[server]\nshards = = 2\n");
  OptionsError e = parse_error({"--config", file.path()});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message.rfind(file.path() + ":2:", 0), 0u) << e.message;
  expect_one_line(e.message);
}

// max_target_bytes <= max_head_bytes is checked after the flags, which may
// repair a file that breaks it; the error names whoever broke it.
TEST(Options, FlagCanRepairFileHeadTargetConflict) {
  TempFile file("[http]\nmax_head_bytes = \"4k\"\n");
  ParsedOptions parsed = parse_ok({"--config", file.path(), "--max-target-bytes", "2k"});
  EXPECT_EQ(parsed.options.max_head_bytes, 4096u);
  EXPECT_EQ(parsed.options.max_target_bytes, 2048u);
}

TEST(Options, FileHeadTargetConflictIsConfigError) {
  TempFile file("[http]\nmax_head_bytes = \"4k\"\n");
  OptionsError e = parse_error({"--config", file.path()});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message, file.path() +
                           ":2:18: [http] max_head_bytes: 4KiB is smaller than "
                           "max_target_bytes (8KiB); lower max_target_bytes too");
}

TEST(Options, FlagHeadTargetConflictIsUsageError) {
  OptionsError e = parse_error({"--max-head-bytes", "4k"});
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message,
            "--max-head-bytes: 4KiB is smaller than max-target-bytes (8KiB); "
            "lower --max-target-bytes too (see --help)");
  TempFile file("[http]\nmax_target_bytes = 2048\n");
  EXPECT_EQ(parse_error({"--config", file.path(), "--max-head-bytes", "1k"}).exit_code(),
            64);
}

// ---- TLS: certificates, keys and the listen address ------------------------

using Strings = std::vector<std::string>;

TEST(Options, CertAndKeyFlagsAddUpInOrder) {
  for (auto args : std::vector<Strings>{
           {"--cert", "a.pem", "--key", "a-key.pem", "--cert", "b.pem", "--key",
            "b-key.pem"},
           {"--cert=a.pem", "--cert=b.pem", "--key=a-key.pem", "--key=b-key.pem"}}) {
    Options o = parse_ok(args).options;
    EXPECT_EQ(o.tls_certs, (Strings{"a.pem", "b.pem"})) << join(args);
    EXPECT_EQ(o.tls_keys, (Strings{"a-key.pem", "b-key.pem"})) << join(args);
  }
}

TEST(Options, CertFilesAreNotReadWhileParsing) {
  ParsedOptions parsed = parse_ok({"--check-config", "--cert", "/nonexistent/c.pem",
                                   "--key", "/nonexistent/k.pem"});
  EXPECT_EQ(parsed.action, Action::kCheckConfig);
  EXPECT_EQ(parsed.options.tls_certs, Strings{"/nonexistent/c.pem"});
}

struct PairCase {
  Strings args;
  std::string counts;
};

void PrintTo(const PairCase& c, std::ostream* os) { *os << join(c.args); }

class UnpairedFlagsTest : public testing::TestWithParam<PairCase> {};

TEST_P(UnpairedFlagsTest, IsUsageError) {
  OptionsError e = parse_error(GetParam().args);
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message, "--cert and --key must come in pairs " + GetParam().counts +
                           " (see --help)");
}

INSTANTIATE_TEST_SUITE_P(
    Options, UnpairedFlagsTest,
    testing::Values(
        PairCase{{"--cert", "a.pem"}, "(1 certificate, 0 keys)"},
        PairCase{{"--key", "a.pem"}, "(0 certificates, 1 key)"},
        PairCase{{"--cert", "a", "--cert", "b", "--key", "k"},
                 "(2 certificates, 1 key)"},
        PairCase{{"--cert", "a", "--key", "k", "--key", "l"},
                 "(1 certificate, 2 keys)"}));

TEST(Options, CertKeyFlagsReplaceFileLists) {
  TempFile file(
      "[tls]\ncerts = [\"f1.pem\", \"f2.pem\"]\nkeys = [\"k1.pem\", \"k2.pem\"]\n"
      "min_version = \"1.2\"\n");
  for (auto args : std::vector<Strings>{
           {"--config", file.path(), "--cert", "x.pem", "--key", "y.pem"},
           {"--cert", "x.pem", "--key", "y.pem", "--config", file.path()},
           {"--cert", "x.pem", "--config", file.path(), "--key", "y.pem"}}) {
    Options o = parse_ok(args).options;
    EXPECT_EQ(o.tls_certs, Strings{"x.pem"}) << join(args);
    EXPECT_EQ(o.tls_keys, Strings{"y.pem"}) << join(args);
    EXPECT_TRUE(o.tls_allow_12);  // the rest of [tls] still applies
  }
  Options from_file = parse_ok({"--config", file.path()}).options;
  EXPECT_EQ(from_file.tls_certs, (Strings{"f1.pem", "f2.pem"}));
  EXPECT_EQ(from_file.tls_keys, (Strings{"k1.pem", "k2.pem"}));
}

// One --cert replaces both of the file's lists, so the pairs are exactly the
// command line's, and a lone --cert is unpaired even if the file has keys.
TEST(Options, OneCertFlagReplacesBothFileLists) {
  TempFile file("[tls]\ncerts = [\"f.pem\"]\nkeys = [\"k.pem\"]\n");
  OptionsError e = parse_error({"--config", file.path(), "--cert", "x.pem"});
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message,
            "--cert and --key must come in pairs (1 certificate, 0 keys) (see --help)");
}

TEST(Options, UnpairedFileIsConfigError) {
  TempFile file("[tls]\ncerts = [\"a.pem\", \"b.pem\"]\nkeys = [\"a-key.pem\"]\n");
  OptionsError e = parse_error({"--check-config", "--config", file.path(), "--shards", "2"});
  EXPECT_EQ(e.kind, OptionsError::kConfig);
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message, file.path() +
                           ":2:9: [tls] certs and keys must come in pairs (2 "
                           "certificates, 1 key)");
}

TEST(Options, CertKeyFlagsRepairUnpairedFile) {
  TempFile file("[tls]\ncerts = [\"a.pem\"]\n");
  Options o = parse_ok({"--config", file.path(), "--cert", "c", "--key", "k"}).options;
  EXPECT_EQ(o.tls_certs, Strings{"c"});
  EXPECT_EQ(o.tls_keys, Strings{"k"});
}

TEST(Options, AtMost64CertKeyPairs) {
  Strings args;
  for (int i = 0; i < 64; ++i) {
    args.push_back("--cert=c" + std::to_string(i));
    args.push_back("--key=k" + std::to_string(i));
  }
  EXPECT_EQ(parse_ok(args).options.tls_certs.size(), 64u);
  args.push_back("--key=k64");
  args.push_back("--cert=c64");
  OptionsError e = parse_error(args);
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message, "--key: given more than 64 times (see --help)");
}

TEST(Options, AtMost64CertsInFile) {
  std::string list;
  for (int i = 0; i < 65; ++i) list += (i == 0 ? "\"c" : ", \"c") + std::to_string(i) + "\"";
  Options o;
  ASSERT_FALSE(apply_config_text("[tls]\ncerts = [" + list.substr(6) + "]\nkeys = [" +
                                     list.substr(6) + "]\n",
                                 "cfg", o));
  EXPECT_EQ(o.tls_certs.size(), 64u);
  auto error = apply_config_text("[tls]\ncerts = [" + list + "]\n", "cfg", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "cfg:2:9: [tls] certs: at most 64 entries, got 65");
}

// The engine binds with SO_REUSEPORT, which would let HTTP and HTTPS share
// one address and split its connections; the options refuse it instead.
struct ListenConflictCase {
  Strings args;
  std::string message;  // the whole message
};

void PrintTo(const ListenConflictCase& c, std::ostream* os) { *os << join(c.args); }

class ListenConflictTest : public testing::TestWithParam<ListenConflictCase> {};

TEST_P(ListenConflictTest, IsUsageError) {
  OptionsError e = parse_error(GetParam().args);
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Options, ListenConflictTest,
    testing::Values(
        ListenConflictCase{{"--tls-listen", ":8080"},
                           "--tls-listen: tls listen address 0.0.0.0:8080 is the "
                           "same as listen (see --help)"},
        ListenConflictCase{{"--listen", ":8443"},
                           "--listen: tls listen address 0.0.0.0:8443 is the same "
                           "as listen; move HTTPS with --tls-listen or turn it off "
                           "with --tls-listen off (see --help)"},
        ListenConflictCase{{"--listen=[::1]:9000", "--tls-listen=[0:0::1]:9000"},
                           "--tls-listen: tls listen address [0:0::1]:9000 is the "
                           "same as listen (see --help)"},
        ListenConflictCase{{"--listen", "localhost:9000", "--tls-listen", "127.0.0.1:9000"},
                           "--tls-listen: tls listen address 127.0.0.1:9000 is the "
                           "same as listen (see --help)"},
        ListenConflictCase{{"--listen", "127.0.0.1:9000", "--tls-listen", ":9000"},
                           "--tls-listen: tls listen address 0.0.0.0:9000 overlaps "
                           "listen (127.0.0.1:9000) (see --help)"},
        ListenConflictCase{{"--listen", "[::]:9000", "--tls-listen", "[::1]:9000"},
                           "--tls-listen: tls listen address [::1]:9000 overlaps "
                           "listen ([::]:9000) (see --help)"},
        ListenConflictCase{{"--listen", "[::]:9000", "--tls-listen", "10.0.0.1:9000"},
                           "--tls-listen: tls listen address 10.0.0.1:9000 overlaps "
                           "listen ([::]:9000) (see --help)"}));

struct NoConflictCase {
  Strings args;
};

void PrintTo(const NoConflictCase& c, std::ostream* os) { *os << join(c.args); }

class ListenNoConflictTest : public testing::TestWithParam<NoConflictCase> {};

TEST_P(ListenNoConflictTest, IsAccepted) { parse_ok(GetParam().args); }

INSTANTIATE_TEST_SUITE_P(
    Options, ListenNoConflictTest,
    testing::Values(
        NoConflictCase{{"--listen", ":8443", "--tls-listen", "off"}},
        NoConflictCase{{"--tls-listen", "off", "--listen", ":8443"}},
        NoConflictCase{{"--listen", ":8443", "--tls-listen", ":8444"}},
        NoConflictCase{{"--listen", ":0", "--tls-listen", ":0"}},  // two free ports
        NoConflictCase{{"--listen", "127.0.0.1:9000", "--tls-listen", "127.0.0.2:9000"}},
        NoConflictCase{{"--listen", "[::1]:9000", "--tls-listen", "127.0.0.1:9000"}},
        NoConflictCase{{"--listen", "0.0.0.0:9000", "--tls-listen", "[::1]:9000"}}));

TEST(Options, FileListenConflictIsConfigError) {
  TempFile file("[server]\nlisten = \":8443\"\n");
  OptionsError e = parse_error({"--config", file.path()});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_EQ(e.message, file.path() +
                           ":2:10: [server] listen: tls listen address 0.0.0.0:8443 "
                           "is the same as listen; change [tls] listen or set it to "
                           "\"off\"");
}

TEST(Options, FlagsRepairFileListenConflict) {
  TempFile file("[server]\nlisten = \":8443\"\n");
  EXPECT_FALSE(parse_ok({"--config", file.path(), "--tls-listen", "off"})
                   .options.tls_listen.has_value());
  EXPECT_EQ(parse_ok({"--tls-listen", ":9443", "--config", file.path()})
                .options.tls_listen,
            (ListenAddress{"0.0.0.0", 9443}));
  EXPECT_EQ(parse_ok({"--config", file.path(), "--listen", ":80"}).options.listen,
            (ListenAddress{"0.0.0.0", 80}));
}

// The file's error is kept per check: a flag that repairs one check does not
// hide the file's other broken one.
TEST(Options, FileKeepsItsOtherCrossErrorAfterAFlagRepair) {
  TempFile file("[server]\nlisten = \":8443\"\n[http]\nmax_head_bytes = \"4k\"\n");
  OptionsError e = parse_error({"--config", file.path(), "--max-target-bytes", "1k"});
  EXPECT_EQ(e.exit_code(), 78);
  EXPECT_NE(e.message.find(":2:10: [server] listen: tls listen address"), std::string::npos)
      << e.message;
}

TEST(Options, FileListenConflictBlamesTheFlagThatKeepsIt) {
  TempFile file("[tls]\nlisten = \":9000\"\n");
  OptionsError e = parse_error({"--config", file.path(), "--listen", ":9000"});
  EXPECT_EQ(e.exit_code(), 64);
  EXPECT_EQ(e.message.rfind("--listen: tls listen address 0.0.0.0:9000 is the same", 0), 0u)
      << e.message;
}

// ---- Every TOML key --------------------------------------------------------

struct TomlCase {
  std::string text;
  Mutate expect;
};

void PrintTo(const TomlCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class ValidTomlTest : public testing::TestWithParam<TomlCase> {};

TEST_P(ValidTomlTest, Applies) {
  Options o;
  auto error = apply_config_text(GetParam().text, "cfg.toml", o);
  EXPECT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(o, with(GetParam().expect));
}

INSTANTIATE_TEST_SUITE_P(
    Options, ValidTomlTest,
    testing::Values(
        TomlCase{"", [](Options&) {}},
        TomlCase{"# only a comment\n\n[server]\n[http]\n[engine]\n", [](Options&) {}},
        TomlCase{"[server]\nlisten = \"[::]:443\"",
                 [](Options& o) { o.listen = {"::", 443}; }},
        TomlCase{"[server]\nlisten = \":0\"",
                 [](Options& o) { o.listen = {"0.0.0.0", 0}; }},
        TomlCase{"[server]\nshards = 16", [](Options& o) { o.shards = 16; }},
        TomlCase{"[server]\ndata_dir = \"/srv/rs\"",
                 [](Options& o) { o.data_dir = "/srv/rs"; }},
        TomlCase{"[server]\ndrain_timeout = 0",
                 [](Options& o) { o.drain_timeout_ms = 0; }},
        TomlCase{"[server]\ndrain_timeout = \"1500ms\"",
                 [](Options& o) { o.drain_timeout_ms = 1500; }},
        TomlCase{"[server]\naccess_log = \"-\"", [](Options& o) { o.access_log = "-"; }},
        TomlCase{"[server]\naccess_log = \"/var/log/a.log\"",
                 [](Options& o) { o.access_log = "/var/log/a.log"; }},
        TomlCase{"[server]\naccess_log = \"off\"", [](Options&) {}},
        TomlCase{"[server]\naccess_log = \"\"", [](Options&) {}},
        TomlCase{"[http]\nheader_timeout = 5",
                 [](Options& o) { o.header_timeout_ms = 5000; }},
        TomlCase{"[http]\nheader_timeout = \"250ms\"",
                 [](Options& o) { o.header_timeout_ms = 250; }},
        TomlCase{"[http]\nheader_timeout = \"7\"",
                 [](Options& o) { o.header_timeout_ms = 7000; }},
        TomlCase{"[http]\nbody_timeout = \"2m\"",
                 [](Options& o) { o.body_timeout_ms = 120'000; }},
        TomlCase{"[http]\nidle_timeout = 86400",
                 [](Options& o) { o.idle_timeout_ms = 86'400'000; }},
        TomlCase{"[http]\nmax_head_bytes = 65536",
                 [](Options& o) { o.max_head_bytes = 65536; }},
        TomlCase{"[http]\nmax_head_bytes = \"1MiB\"",
                 [](Options& o) { o.max_head_bytes = 1 << 20; }},
        TomlCase{"[http]\nmax_target_bytes = \"1k\"",
                 [](Options& o) { o.max_target_bytes = 1024; }},
        TomlCase{"[http]\nmax_headers = 32", [](Options& o) { o.max_headers = 32; }},
        TomlCase{"[http]\nmax_body_bytes = 0", [](Options& o) { o.max_body_bytes = 0; }},
        TomlCase{"[http]\nmax_body_bytes = \"64GiB\"",
                 [](Options& o) { o.max_body_bytes = 64ull << 30; }},
        TomlCase{"[engine]\nmax_connections = 1000000",
                 [](Options& o) { o.max_connections = 1'000'000; }},
        TomlCase{"[engine]\nsend_queue_limit = \"256k\"",
                 [](Options& o) { o.send_queue_limit = 256 * 1024; }},
        TomlCase{"[engine]\nrecv_buffer_size = 4096",
                 [](Options& o) { o.recv_buffer_size = 4096; }},
        TomlCase{"[engine]\nrecv_buffers = 256",
                 [](Options& o) { o.recv_buffer_count = 256; }},
        // Non-ASCII in strings and comments, a BOM, CRLF line ends.
        TomlCase{"# caf\xc3\xa9\n[server] # \xc5\x85\ndata_dir = \"/srv/jos\xc3\xa9\"\n",
                 [](Options& o) { o.data_dir = "/srv/jos\xc3\xa9"; }},
        TomlCase{"server.data_dir='''\xe3\x80\x81\xc5\x85'''",
                 [](Options& o) { o.data_dir = "\xe3\x80\x81\xc5\x85"; }},
        TomlCase{"server.data_dir=\"\"\"\\\n  x\xc3\xa9\\\"\"\"\"",
                 [](Options& o) { o.data_dir = "x\xc3\xa9\""; }},
        TomlCase{"\xef\xbb\xbf[server]\r\nshards = 3\r\n",
                 [](Options& o) { o.shards = 3; }},
        // Inline tables and dotted keys are the same tables to TOML.
        TomlCase{"server = { shards = 3, access_log = \"-\" }",
                 [](Options& o) {
                   o.shards = 3;
                   o.access_log = "-";
                 }},
        TomlCase{"http.max_headers = 9\nengine.recv_buffers = 32",
                 [](Options& o) {
                   o.max_headers = 9;
                   o.recv_buffer_count = 32;
                 }},
        // Both cross-checked keys at once, lowering the head below the default target.
        TomlCase{"[http]\nmax_head_bytes = \"2k\"\nmax_target_bytes = \"1k\"",
                 [](Options& o) {
                   o.max_head_bytes = 2048;
                   o.max_target_bytes = 1024;
                 }},
        TomlCase{"[tls]", [](Options&) {}},
        TomlCase{"[tls]\nlisten = \"127.0.0.1:9443\"",
                 [](Options& o) { o.tls_listen = ListenAddress{"127.0.0.1", 9443}; }},
        TomlCase{"[tls]\nlisten = \"[::]:443\"",
                 [](Options& o) { o.tls_listen = ListenAddress{"::", 443}; }},
        TomlCase{"[tls]\nlisten = \"off\"", [](Options& o) { o.tls_listen.reset(); }},
        // HTTPS may take HTTP's default port once HTTP has moved.
        TomlCase{"[server]\nlisten = \":80\"\n[tls]\nlisten = \":8080\"",
                 [](Options& o) {
                   o.listen = {"0.0.0.0", 80};
                   o.tls_listen = ListenAddress{"0.0.0.0", 8080};
                 }},
        TomlCase{"[tls]\ncerts = [\"a.pem\", \"b.pem\"]\nkeys = [\"a-key.pem\", "
                 "\"b-key.pem\"]",
                 [](Options& o) {
                   o.tls_certs = {"a.pem", "b.pem"};
                   o.tls_keys = {"a-key.pem", "b-key.pem"};
                 }},
        TomlCase{"[tls]\ncerts = []\nkeys = []", [](Options&) {}},
        TomlCase{"[tls]\ncerts = [\n  '/etc/tls/caf\xc3\xa9.pem', # a comment\n]\n"
                 "keys = [\"k.pem\",]",
                 [](Options& o) {
                   o.tls_certs = {"/etc/tls/caf\xc3\xa9.pem"};
                   o.tls_keys = {"k.pem"};
                 }},
        TomlCase{"[tls]\nmin_version = \"1.2\"", [](Options& o) { o.tls_allow_12 = true; }},
        TomlCase{"[tls]\nmin_version = \"1.3\"", [](Options&) {}},
        TomlCase{"[tls]\nticket_rotation = 0",
                 [](Options& o) { o.tls_ticket_rotation_ms = 0; }},
        TomlCase{"[tls]\nticket_rotation = \"0s\"",
                 [](Options& o) { o.tls_ticket_rotation_ms = 0; }},
        TomlCase{"[tls]\nticket_rotation = 1",
                 [](Options& o) { o.tls_ticket_rotation_ms = 1000; }},
        TomlCase{"[tls]\nticket_rotation = \"168h\"",
                 [](Options& o) { o.tls_ticket_rotation_ms = 604'800'000; }},
        TomlCase{"[tls]\nhandshake_timeout = \"250ms\"",
                 [](Options& o) { o.tls_handshake_timeout_ms = 250; }},
        TomlCase{"[tls]\nhandshake_timeout = 3600",
                 [](Options& o) { o.tls_handshake_timeout_ms = 3'600'000; }},
        TomlCase{"tls = { listen = \"off\", min_version = \"1.2\" }",
                 [](Options& o) {
                   o.tls_listen.reset();
                   o.tls_allow_12 = true;
                 }},
        TomlCase{"tls.certs = [\"c\"]\ntls.keys = [\"k\"]",
                 [](Options& o) {
                   o.tls_certs = {"c"};
                   o.tls_keys = {"k"};
                 }}));

// ---- TOML errors -------------------------------------------------------------

struct BadTomlCase {
  std::string text;
  std::string message;  // the whole message, after "cfg.toml:"
};

void PrintTo(const BadTomlCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class InvalidTomlTest : public testing::TestWithParam<BadTomlCase> {};

TEST_P(InvalidTomlTest, IsConfigError) {
  Options o;
  o.shards = 7;  // left unchanged by a failed apply
  auto error = apply_config_text(GetParam().text, "cfg.toml", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, OptionsError::kConfig);
  EXPECT_EQ(error->exit_code(), 78);
  EXPECT_EQ(error->message, "cfg.toml:" + GetParam().message);
  expect_one_line(error->message);
  Options unchanged;
  unchanged.shards = 7;
  EXPECT_EQ(o, unchanged);
}

INSTANTIATE_TEST_SUITE_P(
    Options, InvalidTomlTest,
    testing::Values(
        // Not TOML at all.
        BadTomlCase{"[server\n",
                    "1:8: Error while parsing table header: expected ']', saw '\\n'"},
        BadTomlCase{"[server]\nshards = 1\nshards = 2\n",
                    "3:10: Error while parsing key-value pair: cannot redefine "
                    "existing integer 'shards'"},
        BadTomlCase{"[server]\nshards = 99999999999999999999\n",
                    "2:30: Error while parsing decimal integer: "
                    "'99999999999999999999' is not representable in 64 bits"},
        // toml++ 3.3.0 asserts on these headers unless told not to.
        BadTomlCase{"[\n",
                    "1:2: Error while parsing key: expected bare key starting "
                    "character or string delimiter, saw '\\n'"},
        BadTomlCase{"[#]\n",
                    "1:2: Error while parsing key: expected bare key starting "
                    "character or string delimiter, saw '#'"},
        BadTomlCase{"[[=\n",
                    "1:3: Error while parsing key: expected bare key starting "
                    "character or string delimiter, saw '='"},
        BadTomlCase{"[[[1]]]\n",
                    "1:3: Error while parsing key: expected bare key starting "
                    "character or string delimiter, saw '['"},
        // Non-ASCII where toml++ 3.3.0 would hit undefined behaviour
        // (server/options.cc, guard_toml): caught before toml++ sees it.
        BadTomlCase{"[\xc5\x85\n",
                    "1:2: unexpected character U+0145 outside a string or comment"},
        BadTomlCase{"x = 1\n\xc3\xa9 = 2\n",
                    "2:1: unexpected character U+00E9 outside a string or comment"},
        BadTomlCase{"x = 1\"\xc3\xa9\"\n",  // toml++ scans a value through quotes
                    "1:7: unexpected character U+00E9 outside a string or comment"},
        BadTomlCase{"x = [1, {a = 2\"\xc3\xa9\"}]\n",
                    "1:16: unexpected character U+00E9 outside a string or comment"},
        BadTomlCase{"x = 'a\\'\xc3\xa9'\n",  // no escapes in literal strings
                    "1:9: unexpected character U+00E9 outside a string or comment"},
        BadTomlCase{"x = \"\"\"a\"\"\"\"\xc3\xa9\n",  // """a"""" ends at the 4th quote
                    "1:13: unexpected character U+00E9 outside a string or comment"},
        BadTomlCase{"x = 1979-05-27 \"\xe3\x80\x81\"\n",
                    "1:17: unexpected character U+3001 outside a string or comment"},
        BadTomlCase{"[server]\ndata_dir = \"\"\"\\\n  \xc3\xa9\"\"\"\n",
                    "3:3: character U+00E9 after a backslash in a multi-line "
                    "string is not supported"},
        BadTomlCase{"[server]\ndata_dir = \"\"\"\\\xc3\xa9\"\"\"\n",
                    "2:16: character U+00E9 after a backslash in a multi-line "
                    "string is not supported"},
        BadTomlCase{"x = \xc0\x80\n",
                    "1:5: unexpected invalid UTF-8 outside a string or comment"},
        // toml++'s own error wins when it is on an earlier line.
        BadTomlCase{"x = = 1\ny = \xc3\xa9\n",
                    "1:5: Error while parsing value: could not determine value type"},
        BadTomlCase{"[server]\ndata_dir = \"\xff\"\n",
                    "2:12: Encountered invalid utf-8 sequence"},
        // Unknown names.
        BadTomlCase{"[nope]\n",
                    "1:2: unknown section [nope]; sections are [server], [http], "
                    "[engine], [tls], [websocket], [admin], [log], [connections], "
                    "[request_id], [trace_context], [security_headers], [cors], "
                    "[compression], [auth], [[rate_limit]], [rate_limits], [[upstream]], "
                    "[[route]] and [plugins]"},
        BadTomlCase{"[ssl]\ncerts = []\n",
                    "1:2: unknown section [ssl]; sections are [server], [http], "
                    "[engine], [tls], [websocket], [admin], [log], [connections], "
                    "[request_id], [trace_context], [security_headers], [cors], "
                    "[compression], [auth], [[rate_limit]], [rate_limits], [[upstream]], "
                    "[[route]] and [plugins]"},
        BadTomlCase{"[server]\nfoo = 1\n", "2:1: unknown key 'foo' in [server]"},
        BadTomlCase{"[http]\nshards = 2\n",
                    "2:1: unknown key 'shards' in [http]; it belongs in [server]"},
        BadTomlCase{"[http.x]\n", "1:7: unknown key 'x' in [http]"},
        BadTomlCase{"shards = 2\n", "1:1: key 'shards' belongs in [server]"},
        BadTomlCase{"x = 1\n",
                    "1:1: unknown key 'x'; settings go in [server], [http], "
                    "[engine], [tls], [websocket], [admin], [log], [connections], "
                    "[request_id], [trace_context], [security_headers], [cors], "
                    "[compression], [auth], [[rate_limit]], [rate_limits], [[upstream]], "
                    "[[route]] or [plugins]"},
        // "listen" is a key of two tables.
        BadTomlCase{"listen = \":1\"\n", "1:1: key 'listen' belongs in [server], [tls] or [admin]"},
        BadTomlCase{"[http]\nlisten = \":1\"\n",
                    "2:1: unknown key 'listen' in [http]; it belongs in [server], [tls] or [admin]"},
        BadTomlCase{"[server]\ncerts = []\n",
                    "2:1: unknown key 'certs' in [server]; it belongs in [tls]"},
        BadTomlCase{"[tls]\ncert = \"a.pem\"\n", "2:1: unknown key 'cert' in [tls]"},
        BadTomlCase{"tls = 1\n", "1:1: 'tls' must be a table ([tls]), not an integer"},
        BadTomlCase{"[server]\n\"a\\nb\" = 1\n", "2:1: unknown key 'a\\x0ab' in [server]"},
        BadTomlCase{"server = 5\n",
                    "1:1: 'server' must be a table ([server]), not an integer"},
        BadTomlCase{"[[engine]]\n",
                    "1:3: 'engine' must be a table ([engine]), not an array"},
        // Wrong types.
        BadTomlCase{"[server]\nlisten = 80\n",
                    "2:10: [server] listen: expected a string like "
                    "\"127.0.0.1:8080\", got an integer"},
        BadTomlCase{"[server]\nshards = \"2\"\n",
                    "2:10: [server] shards: expected an integer, got a string"},
        BadTomlCase{"[server]\ndata_dir = true\n",
                    "2:12: [server] data_dir: expected a string, got a boolean"},
        BadTomlCase{"[server]\naccess_log = true\n",
                    "2:14: [server] access_log: expected a string (\"off\" for none), "
                    "got a boolean"},
        BadTomlCase{"[engine]\ndefer_accept = 1\n",
                    "2:16: [engine] defer_accept: expected a boolean (true or "
                    "false), got an integer"},
        BadTomlCase{"[engine]\ndefer_accept = \"true\"\n",
                    "2:16: [engine] defer_accept: expected a boolean (true or "
                    "false), got a string"},
        BadTomlCase{"[http]\nheader_timeout = 1.5\n",
                    "2:18: [http] header_timeout: expected an integer (seconds) "
                    "or a string like \"10s\", got a floating-point number"},
        BadTomlCase{"[http]\nmax_headers = 1.0\n",
                    "2:15: [http] max_headers: expected an integer, got a "
                    "floating-point number"},
        BadTomlCase{"[http]\nmax_body_bytes = [1]\n",
                    "2:18: [http] max_body_bytes: expected an integer (bytes) or "
                    "a string like \"16KiB\", got an array"},
        BadTomlCase{"[engine]\nrecv_buffers = 1979-05-27\n",
                    "2:16: [engine] recv_buffers: expected an integer, got a date"},
        // Bad values.
        BadTomlCase{"[server]\nlisten = \"nope\"\n",
                    "2:10: [server] listen: 'nope' is not HOST:PORT (e.g. "
                    "127.0.0.1:8080, [::1]:8080, :8080)"},
        BadTomlCase{"[server]\ndata_dir = \"\"\n",
                    "2:12: [server] data_dir: must not be empty"},
        BadTomlCase{"[server]\ndata_dir = \"a\\u0000b\"\n",
                    "2:12: [server] data_dir: must not contain a NUL character"},
        BadTomlCase{"[server]\nshards = 1025\n",
                    "2:10: [server] shards: '1025' is out of range 0..1024"},
        BadTomlCase{"[server]\nshards = -1\n",
                    "2:10: [server] shards: '-1' is out of range 0..1024"},
        BadTomlCase{"[server]\ndrain_timeout = \"25h\"\n",
                    "2:17: [server] drain_timeout: '25h' is out of range 0s..24h"},
        BadTomlCase{"[http]\nheader_timeout = 0\n",
                    "2:18: [http] header_timeout: '0' is out of range 1ms..24h"},
        BadTomlCase{"[http]\nheader_timeout = -5\n",
                    "2:18: [http] header_timeout: '-5' is out of range 1ms..24h"},
        BadTomlCase{"[http]\nheader_timeout = 9223372036854775807\n",
                    "2:18: [http] header_timeout: '9223372036854775807' is out "
                    "of range 1ms..24h"},
        BadTomlCase{"[http]\nheader_timeout = \"1.5s\"\n",
                    "2:18: [http] header_timeout: '1.5s' is not a duration; use "
                    "a whole number with ms, s, m or h (250ms, 10s, 2m, 1h) or "
                    "whole seconds"},
        BadTomlCase{"[http]\nbody_timeout = \"\"\n",
                    "2:16: [http] body_timeout: '' is not a duration; use a "
                    "whole number with ms, s, m or h (250ms, 10s, 2m, 1h) or "
                    "whole seconds"},
        BadTomlCase{"[http]\nmax_head_bytes = \"16 KiB\"\n",
                    "2:18: [http] max_head_bytes: '16 KiB' is not a size; use "
                    "bytes or a whole number with k, KiB, m, MiB, g or GiB "
                    "(16k, 1MiB)"},
        BadTomlCase{"[http]\nmax_head_bytes = 512\n",
                    "2:18: [http] max_head_bytes: '512' is out of range 1KiB..1MiB"},
        BadTomlCase{"[http]\nmax_target_bytes = 32768\n",
                    "2:20: [http] max_target_bytes: 32KiB is larger than "
                    "max_head_bytes (16KiB)"},
        BadTomlCase{"[http]\nmax_headers = 0\n",
                    "2:15: [http] max_headers: '0' is out of range 1..256"},
        BadTomlCase{"[http]\nmax_body_bytes = -1\n",
                    "2:18: [http] max_body_bytes: '-1' is out of range 0..64GiB"},
        BadTomlCase{"[engine]\nmax_connections = 0\n",
                    "2:19: [engine] max_connections: '0' is out of range 1..1000000"},
        BadTomlCase{"[engine]\nsend_queue_limit = \"2GiB\"\n",
                    "2:20: [engine] send_queue_limit: '2GiB' is out of range "
                    "4KiB..1GiB"},
        BadTomlCase{"[engine]\nrecv_buffer_size = 3000\n",
                    "2:20: [engine] recv_buffer_size: '3000' is not a power of "
                    "two in 1KiB..1MiB"},
        BadTomlCase{"[engine]\nrecv_buffers = 1000\n",
                    "2:16: [engine] recv_buffers: '1000' is not a power of two "
                    "in 16..32768"},
        // With several errors, the first in the text wins, whatever the
        // key order (toml::table iterates sorted by key).
        BadTomlCase{"[server]\nzzz = 1\n[engine]\naaa = 1\n",
                    "2:1: unknown key 'zzz' in [server]"},
        BadTomlCase{"[server]\nshards = 5000\nlisten = \"x\"\n",
                    "2:10: [server] shards: '5000' is out of range 0..1024"},
        // [tls]: wrong types.
        BadTomlCase{"[tls]\nlisten = 8443\n",
                    "2:10: [tls] listen: expected a string like \"0.0.0.0:8443\" or "
                    "\"off\", got an integer"},
        BadTomlCase{"[tls]\nlisten = false\n",
                    "2:10: [tls] listen: expected a string like \"0.0.0.0:8443\" or "
                    "\"off\", got a boolean"},
        BadTomlCase{"[tls]\ncerts = \"a.pem\"\n",
                    "2:9: [tls] certs: expected an array of strings like "
                    "[\"cert.pem\"], got a string"},
        BadTomlCase{"[tls]\nkeys = { a = \"b\" }\n",
                    "2:8: [tls] keys: expected an array of strings like "
                    "[\"cert.pem\"], got a table"},
        BadTomlCase{"[tls]\ncerts = [\"a.pem\", 2]\n",
                    "2:19: [tls] certs: entry 2: expected a string, got an integer"},
        BadTomlCase{"[tls]\ncerts = [[\"a.pem\"]]\n",
                    "2:10: [tls] certs: entry 1: expected a string, got an array"},
        BadTomlCase{"[tls]\nmin_version = 1.2\n",
                    "2:15: [tls] min_version: expected a string (1.2 or 1.3), got a "
                    "floating-point number"},
        BadTomlCase{"[tls]\nmin_version = 12\n",
                    "2:15: [tls] min_version: expected a string (1.2 or 1.3), got an "
                    "integer"},
        BadTomlCase{"[tls]\nticket_rotation = 1.5\n",
                    "2:19: [tls] ticket_rotation: expected an integer (seconds) or a "
                    "string like \"10s\", got a floating-point number"},
        // [tls]: bad values.
        BadTomlCase{"[tls]\nlisten = \"on\"\n",
                    "2:10: [tls] listen: 'on' is not HOST:PORT or off (e.g. "
                    "127.0.0.1:8443, [::1]:8443, :8443)"},
        BadTomlCase{"[tls]\ncerts = [\"a.pem\", \"\"]\n",
                    "2:19: [tls] certs: entry 2: must not be empty"},
        BadTomlCase{"[tls]\nkeys = [\"a\\u0000b\"]\n",
                    "2:9: [tls] keys: entry 1: must not contain a NUL character"},
        BadTomlCase{"[tls]\nmin_version = \"1.1\"\n",
                    "2:15: [tls] min_version: '1.1' is not allowed; use 1.2 or 1.3"},
        BadTomlCase{"[tls]\nmin_version = \"\"\n",
                    "2:15: [tls] min_version: '' is not allowed; use 1.2 or 1.3"},
        BadTomlCase{"[tls]\nticket_rotation = \"500ms\"\n",
                    "2:19: [tls] ticket_rotation: '500ms' is out of range 0s or "
                    "1s..168h"},
        BadTomlCase{"[tls]\nticket_rotation = 604801\n",
                    "2:19: [tls] ticket_rotation: '604801' is out of range 0s or "
                    "1s..168h"},
        BadTomlCase{"[tls]\nticket_rotation = -1\n",
                    "2:19: [tls] ticket_rotation: '-1' is out of range 0s or "
                    "1s..168h"},
        BadTomlCase{"[tls]\nticket_rotation = \"7d\"\n",
                    "2:19: [tls] ticket_rotation: '7d' is not a duration; use a "
                    "whole number with ms, s, m or h (250ms, 10s, 2m, 1h) or whole "
                    "seconds"},
        BadTomlCase{"[tls]\nhandshake_timeout = 0\n",
                    "2:21: [tls] handshake_timeout: '0' is out of range 1ms..1h"},
        BadTomlCase{"[tls]\nhandshake_timeout = \"2h\"\n",
                    "2:21: [tls] handshake_timeout: '2h' is out of range 1ms..1h"},
        // [tls]: checks across settings.
        BadTomlCase{"[tls]\ncerts = [\"a.pem\", \"b.pem\"]\nkeys = [\"a-key.pem\"]\n",
                    "2:9: [tls] certs and keys must come in pairs (2 certificates, "
                    "1 key)"},
        BadTomlCase{"[tls]\ncerts = [\"a.pem\"]\n",
                    "2:9: [tls] certs and keys must come in pairs (1 certificate, "
                    "0 keys)"},
        BadTomlCase{"[tls]\nkeys = [\"a.pem\", \"b.pem\"]\n",
                    "2:8: [tls] certs and keys must come in pairs (0 certificates, "
                    "2 keys)"},
        BadTomlCase{"[tls]\nlisten = \":8080\"\n",
                    "2:10: [tls] listen: tls listen address 0.0.0.0:8080 is the same "
                    "as listen"},
        BadTomlCase{"[server]\nlisten = \"*:8443\"\n",
                    "2:10: [server] listen: tls listen address 0.0.0.0:8443 is the "
                    "same as listen; change [tls] listen or set it to \"off\""},
        BadTomlCase{"[server]\nlisten = \"127.0.0.1:9000\"\n[tls]\n"
                    "listen = \"localhost:9000\"\n",
                    "4:10: [tls] listen: tls listen address localhost:9000 is the "
                    "same as listen"},
        BadTomlCase{"[server]\nlisten = \"127.0.0.1:8443\"\n",
                    "2:10: [server] listen: tls listen address 0.0.0.0:8443 overlaps "
                    "listen (127.0.0.1:8443); change [tls] listen or set it to "
                    "\"off\""},
        BadTomlCase{"[tls]\nlisten = \"[::]:8080\"\n",
                    "2:10: [tls] listen: tls listen address [::]:8080 overlaps "
                    "listen (0.0.0.0:8080)"},
        // The cross-setting error first in the text wins.
        BadTomlCase{"[tls]\nkeys = [\"k\"]\nlisten = \":8080\"\n",
                    "2:8: [tls] certs and keys must come in pairs (0 certificates, "
                    "1 key)"},
        BadTomlCase{"[tls]\nlisten = \":8080\"\nkeys = [\"k\"]\n",
                    "2:10: [tls] listen: tls listen address 0.0.0.0:8080 is the same "
                    "as listen"}));

TEST(Options, ConfigOriginIsMadePrintable) {
  Options o;
  auto error = apply_config_text("x = 1", "bad\nname", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message.rfind("bad\\x0aname:1:1: ", 0), 0u) << error->message;
}

TEST(Options, ConfigAppliesOverGivenOptions) {
  Options o;
  o.shards = 9;
  o.max_headers = 5;
  ASSERT_FALSE(apply_config_text("[http]\nmax_headers = 6\n", "cfg", o));
  EXPECT_EQ(o.shards, 9u);
  EXPECT_EQ(o.max_headers, 6u);
}

// ---- Effective configuration ----------------------------------------------

TEST(Options, EffectiveConfigRoundTrips) {
  Options changed;
  changed.listen = {"::1", 0};
  changed.shards = 3;
  changed.data_dir = "dir with \"quotes\", \\ and \x01";
  changed.header_timeout_ms = 1500;
  changed.drain_timeout_ms = 0;
  changed.max_head_bytes = 3000;
  changed.max_target_bytes = 100;
  changed.max_body_bytes = 64ull << 30;
  changed.access_log = "/var/log/ringshard.log";
  changed.tls_listen.reset();
  changed.tls_certs = {"a.pem", "dir/\"b\".pem", "caf\xc3\xa9.pem"};
  changed.tls_keys = {"a-key.pem", "b\\key.pem", "k\x7f"};
  changed.tls_allow_12 = true;
  changed.tls_ticket_rotation_ms = 0;
  changed.tls_handshake_timeout_ms = 1500;
  Options other_tls;
  other_tls.tls_listen = ListenAddress{"::1", 8443};
  other_tls.tls_ticket_rotation_ms = 604'800'000;
  other_tls.tls_handshake_timeout_ms = 3'600'000;
  for (const Options& source : {Options{}, changed, other_tls}) {
    Options back;
    back.shards = 77;
    back.access_log = source.access_log.empty() ? "-" : "";
    back.tls_listen = ListenAddress{"127.0.0.1", 1};
    back.tls_certs = {"stale.pem"};  // replaced, not added to
    back.tls_keys = {"stale-key.pem"};
    back.tls_allow_12 = !source.tls_allow_12;
    back.tls_ticket_rotation_ms = 1000;
    auto error = apply_config_text(effective_config_text(source), "effective", back);
    ASSERT_FALSE(error.has_value()) << error->message;
    EXPECT_EQ(back, source);
  }
}

TEST(Options, EffectiveConfigShowsUnits) {
  std::string text = effective_config_text(Options{});
  EXPECT_NE(text.find("[server]\nlisten = \"0.0.0.0:8080\"\n"), std::string::npos);
  EXPECT_NE(text.find("header_timeout = \"10s\"\n"), std::string::npos);
  EXPECT_NE(text.find("max_head_bytes = \"16KiB\"\n"), std::string::npos);
  EXPECT_NE(text.find("recv_buffers = 1024\n"), std::string::npos);
  EXPECT_NE(text.find("\n[tls]\nlisten = \"0.0.0.0:8443\"\ncerts = []\nkeys = []\n"
                      "min_version = \"1.3\"\nticket_rotation = \"1h\"\n"
                      "handshake_timeout = \"10s\"\n"),
            std::string::npos)
      << text;
}

TEST(Options, EffectiveConfigShowsTlsOffAndLists) {
  Options o;
  o.tls_listen.reset();
  o.tls_certs = {"a.pem", "b.pem"};
  o.tls_keys = {"a.key", "b.key"};
  o.tls_allow_12 = true;
  o.tls_ticket_rotation_ms = 0;
  std::string text = effective_config_text(o);
  EXPECT_NE(text.find("[tls]\nlisten = \"off\"\ncerts = [\"a.pem\", \"b.pem\"]\n"
                      "keys = [\"a.key\", \"b.key\"]\nmin_version = \"1.2\"\n"
                      "ticket_rotation = \"0s\"\n"),
            std::string::npos)
      << text;
}

TEST(Options, ExampleConfigFileHoldsTheDefaults) {
  ParsedOptions parsed = parse_ok(
      {"--config", std::string(RINGSHARD_SOURCE_DIR) + "/config/ringshard.example.toml"});
  Options expected;
  expected.config_path = parsed.options.config_path;
  EXPECT_EQ(parsed.options, expected);
}

// ---- Listen addresses --------------------------------------------------------

struct AddressCase {
  std::string text;
  std::optional<ListenAddress> expect;
};

void PrintTo(const AddressCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class ListenAddressTest : public testing::TestWithParam<AddressCase> {};

TEST_P(ListenAddressTest, Parses) {
  EXPECT_EQ(parse_listen_address(GetParam().text), GetParam().expect);
}

INSTANTIATE_TEST_SUITE_P(
    Options, ListenAddressTest,
    testing::Values(
        AddressCase{"127.0.0.1:8080", ListenAddress{"127.0.0.1", 8080}},
        AddressCase{"0.0.0.0:0", ListenAddress{"0.0.0.0", 0}},
        AddressCase{"255.255.255.255:65535", ListenAddress{"255.255.255.255", 65535}},
        AddressCase{":8080", ListenAddress{"0.0.0.0", 8080}},
        AddressCase{"*:443", ListenAddress{"0.0.0.0", 443}},
        AddressCase{"localhost:80", ListenAddress{"localhost", 80}},
        AddressCase{"LocalHost:80", ListenAddress{"localhost", 80}},
        AddressCase{"[::1]:8080", ListenAddress{"::1", 8080}},
        AddressCase{"[::]:1", ListenAddress{"::", 1}},
        AddressCase{"[2001:db8::a:B]:9", ListenAddress{"2001:db8::a:B", 9}},
        AddressCase{"[::ffff:1.2.3.4]:9", ListenAddress{"::ffff:1.2.3.4", 9}},
        AddressCase{"1.2.3.4:080", ListenAddress{"1.2.3.4", 80}},
        AddressCase{"", std::nullopt},
        AddressCase{":", std::nullopt},
        AddressCase{"8080", std::nullopt},
        AddressCase{"1.2.3.4", std::nullopt},
        AddressCase{"1.2.3.4:", std::nullopt},
        AddressCase{"1.2.3.4:65536", std::nullopt},
        AddressCase{"1.2.3.4:99999999999999999999", std::nullopt},
        AddressCase{"1.2.3.4:-1", std::nullopt},
        AddressCase{"1.2.3.4:+1", std::nullopt},
        AddressCase{"1.2.3.4: 80", std::nullopt},
        AddressCase{"1.2.3.4:80 ", std::nullopt},
        AddressCase{" 1.2.3.4:80", std::nullopt},
        AddressCase{"1.2.3:80", std::nullopt},
        AddressCase{"1.2.3.4.5:80", std::nullopt},
        AddressCase{"256.1.1.1:80", std::nullopt},
        AddressCase{"01.2.3.4:80", std::nullopt},
        AddressCase{"1..3.4:80", std::nullopt},
        AddressCase{"1.2.3.4.:80", std::nullopt},
        AddressCase{"example.com:80", std::nullopt},
        AddressCase{"localhost.:80", std::nullopt},
        AddressCase{"::1:80", std::nullopt},
        AddressCase{"[::1]", std::nullopt},
        AddressCase{"[::1]:", std::nullopt},
        AddressCase{"[::1:80", std::nullopt},
        AddressCase{"::1]:80", std::nullopt},
        AddressCase{"[]:80", std::nullopt},
        AddressCase{"[1.2.3.4]:80", std::nullopt},
        AddressCase{"[fe80::1%eth0]:80", std::nullopt},
        AddressCase{"[::g]:80", std::nullopt},
        AddressCase{"[*]:80", std::nullopt},
        AddressCase{std::string("[::1\0]:80", 9), std::nullopt},
        AddressCase{std::string("1.2.3.4\0:80", 11), std::nullopt}));

TEST(Options, FormatListenAddressRoundTrips) {
  for (ListenAddress a : {ListenAddress{"0.0.0.0", 8080}, ListenAddress{"::1", 0},
                          ListenAddress{"localhost", 65535}}) {
    EXPECT_EQ(parse_listen_address(format_listen_address(a)), a);
  }
  EXPECT_EQ(format_listen_address({"::1", 443}), "[::1]:443");
  EXPECT_EQ(format_listen_address({"10.0.0.1", 80}), "10.0.0.1:80");
}

}  // namespace
}  // namespace ringshard::server
