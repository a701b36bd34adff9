// Tests for obs/log.h: exact text and JSON lines, escaping that keeps one
// event on one line, truncation at a character boundary, the level filter,
// parse helpers and their messages, and many threads writing whole lines.
#include "obs/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "json/json.h"
#include "tests/obs/temp_dir.h"

namespace ringshard::obs {
namespace RS_UNITY_ID {

constexpr int64_t kTime = 1714566896789;  // 2024-05-01T12:34:56.789Z

std::string line(LogFormat f, LogLevel l, int shard, std::optional<uint64_t> conn,
                 std::string_view msg) {
  char buf[kMaxLogLine];
  return std::string(buf, format_log_line(buf, f, kTime, l, shard, conn, msg));
}

TEST(LogLine, Text) {
  EXPECT_EQ(line(LogFormat::kText, LogLevel::kWarn, 3, 17, "upstream reset"),
            "2024-05-01T12:34:56.789Z warn shard=3 conn=17 upstream reset\n");
  EXPECT_EQ(line(LogFormat::kText, LogLevel::kInfo, kMainShard, std::nullopt, "listening on :80"),
            "2024-05-01T12:34:56.789Z info shard=main listening on :80\n");
  EXPECT_EQ(line(LogFormat::kText, LogLevel::kError, 0, std::nullopt, "a\nb\tc \"q\" \\ \x01\xff"),
            "2024-05-01T12:34:56.789Z error shard=0 a\\nb\\tc \"q\" \\ \\u0001\xEF\xBF\xBD\n")
      << "one event, one line";
}

TEST(LogLine, Json) {
  EXPECT_EQ(line(LogFormat::kJson, LogLevel::kDebug, 2, 5, "recv \"closed\""),
            "{\"time\":\"2024-05-01T12:34:56.789Z\",\"level\":\"debug\",\"shard\":\"2\","
            "\"conn\":5,\"msg\":\"recv \\\"closed\\\"\"}\n");
  EXPECT_EQ(line(LogFormat::kJson, LogLevel::kInfo, kMainShard, std::nullopt, "up"),
            "{\"time\":\"2024-05-01T12:34:56.789Z\",\"level\":\"info\",\"shard\":\"main\","
            "\"msg\":\"up\"}\n");
  const std::string hostile = line(LogFormat::kJson, LogLevel::kWarn, 1, std::nullopt,
                                   std::string_view("x\0y\n\xc0\x80\"}", 8));
  auto v = json::parse(std::string_view(hostile).substr(0, hostile.size() - 1));
  ASSERT_TRUE(v) << hostile;
  EXPECT_EQ(v->find("msg")->as_string(), std::string_view("x\0y\n\xEF\xBF\xBD\xEF\xBF\xBD\"}", 12));
}

TEST(LogLine, LongMessagesAreCutAtACharacterBoundary) {
  std::string msg;
  for (int i = 0; i < 3000; ++i) msg += "\xe2\x82\xac\n";  // 4 bytes in, 5 out each
  const std::string text = line(LogFormat::kText, LogLevel::kInfo, 0, std::nullopt, msg);
  EXPECT_LE(text.size(), kMaxLogLine);
  EXPECT_TRUE(text.ends_with("\xe2\x82\xac\\n [truncated]\n") || text.ends_with("\xe2\x82\xac [truncated]\n"))
      << text.substr(text.size() - 40);
  const std::string j = line(LogFormat::kJson, LogLevel::kInfo, 0, std::nullopt, std::string(10000, '\x01'));
  EXPECT_LE(j.size(), kMaxLogLine);
  auto v = json::parse(std::string_view(j).substr(0, j.size() - 1));
  ASSERT_TRUE(v) << j.substr(j.size() - 60);
  EXPECT_TRUE(v->find("truncated")->as_bool());
  EXPECT_GT(v->find("msg")->as_string().size(), 600u);
}

TEST(LogParse, LevelsAndFormats) {
  LogLevel level = LogLevel::kError;
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("warning", level));
  EXPECT_EQ(level, LogLevel::kWarn);
  std::string error;
  EXPECT_FALSE(parse_log_level("verbose", level, &error));
  EXPECT_EQ(level, LogLevel::kWarn) << "left alone on failure";
  EXPECT_EQ(error, "unknown log level \"verbose\" (expected debug, info, warn or error)");
  EXPECT_FALSE(parse_log_level("INFO", level, &error)) << "names are lowercase";
  EXPECT_FALSE(parse_log_level("", level, &error));
  EXPECT_EQ(error, "unknown log level \"\" (expected debug, info, warn or error)");

  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("xml\n", format, &error));
  EXPECT_EQ(error, "unknown log format \"xml\\n\" (expected text or json)");
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    LogLevel back;
    EXPECT_TRUE(parse_log_level(log_level_name(l), back));
    EXPECT_EQ(back, l);
  }
}

TEST(Logger, FiltersByLevel) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  Logger log({.fd = fds[1], .format = LogFormat::kText, .min_level = LogLevel::kWarn});
  EXPECT_FALSE(log.enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.enabled(LogLevel::kError));
  log.info(0, "hidden");
  log.warn(0, "shown");
  log.set_min_level(LogLevel::kDebug);
  log.debug(kMainShard, "now shown");
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  const auto lines = split_lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_TRUE(lines[0].ends_with(" warn shard=0 shown"));
  EXPECT_TRUE(lines[1].ends_with(" debug shard=main now shown"));
  EXPECT_EQ(log.write_errors(), 0u);
}

TEST(Logger, ThreadsNeverInterleaveLines) {
  TempDir dir;
  const std::string path = dir.file("server.log");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  Logger log({.fd = fd, .format = LogFormat::kJson, .min_level = LogLevel::kDebug});
  constexpr int kThreads = 4;
  constexpr int kLines = 2000;
  const std::string pad(1500, 'p');  // long lines make a torn write likely if there were one
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i)
        log.log(LogLevel::kInfo, t, std::to_string(i) + pad, static_cast<uint64_t>(i));
    });
  for (auto& th : threads) th.join();
  ::close(fd);
  const auto lines = split_lines(read_whole_file(path));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const auto& l : lines) {
    auto v = json::parse(l);
    ASSERT_TRUE(v) << l.substr(0, 200);
    const int shard = std::stoi(std::string(v->find("shard")->as_string()));
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, kThreads);
    EXPECT_EQ(v->find("msg")->as_string(), std::to_string(next[shard]) + pad);
    EXPECT_EQ(v->find("conn")->as_number(), next[shard]++);
  }
  EXPECT_EQ(log.write_errors(), 0u);
}

TEST(Logger, CountsWriteErrors) {
  Logger log({.fd = -1});
  log.error(kMainShard, "nowhere to go");
  EXPECT_EQ(log.write_errors(), 1u);
}

}  // namespace
}  // namespace ringshard::obs
