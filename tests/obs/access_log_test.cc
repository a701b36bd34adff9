// Tests for obs/access_log.h: the line format and its escaping (checked by
// the project's strict JSON parser), field caps, lines == requests with
// several shard threads, the flush tick, flush on stop, reopen after a
// rename (logrotate), and a stalled or failing file that must not block the
// shard. Every wait is explicit (sync/stop); no sleeps, no timing asserts.
#include "obs/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "json/json.h"
#include "tests/obs/temp_dir.h"

namespace ringshard::obs {
namespace RS_UNITY_ID {

AccessLogEntry sample_entry() {
  AccessLogEntry e;
  e.unix_ms = 1714566896789;
  e.remote = "10.0.0.1:5123";
  e.method = "GET";
  e.path = "/json?x=1";
  e.status = 200;
  e.bytes_in = 87;
  e.bytes_out = 152;
  e.duration_ns = 231'456;
  e.request_id = "req-1";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.user_agent = "curl/8.0";
  return e;
}

json::Value parse_line(const std::string& line) {
  json::ParseError err;
  auto v = json::parse(line, &err);
  EXPECT_TRUE(v.has_value()) << err.message << " at " << err.offset << " in " << line;
  return v ? *v : json::Value();
}

TEST(AccessLog, OneLineWithEveryField) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  std::string error;
  auto log = AccessLog::open({.path = path, .shards = 4}, &error);
  ASSERT_TRUE(log) << error;
  log->shard(3).log(sample_entry());
  log->stop();
  EXPECT_EQ(read_whole_file(path),
            "{\"time\":\"2024-05-01T12:34:56.789Z\",\"remote\":\"10.0.0.1:5123\",\"method\":\"GET\","
            "\"path\":\"/json?x=1\",\"status\":200,\"bytes_in\":87,\"bytes_out\":152,"
            "\"duration\":0.000231,\"request_id\":\"req-1\","
            "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"user_agent\":\"curl/8.0\","
            "\"shard\":3}\n");
  EXPECT_EQ(log->lines_written(), 1u);
  EXPECT_EQ(log->lines_dropped(), 0u);
  EXPECT_EQ(log->write_errors(), 0u);
}

TEST(AccessLog, HostileFieldsStayValidJson) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  auto log = AccessLog::open({.path = path, .shards = 1}, nullptr);
  ASSERT_TRUE(log);
  AccessLogEntry e = sample_entry();
  static constexpr char kPath[] =
      "/a\"b\\c\nd\x01\x7f\xff\xc0\xaf\xed\xa0\x80 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  e.path = std::string_view(kPath, sizeof kPath - 1);
  e.user_agent = std::string_view("\0\t\r", 3);
  e.duration_ns = 12'345'678'901;
  e.trace_id = {};
  log->shard(0).log(e);
  log->stop();
  const std::string text = read_whole_file(path);
  EXPECT_NE(text.find("\"path\":\"/a\\\"b\\\\c\\nd\\u0001\\u007f\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
                      " \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
            std::string::npos)
      << text;
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 1u);
  const json::Value v = parse_line(lines[0]);
  EXPECT_EQ(v.find("user_agent")->as_string(), std::string_view("\0\t\r", 3));
  EXPECT_EQ(v.find("trace_id")->as_string(), "");
  EXPECT_DOUBLE_EQ(v.find("duration")->as_number(), 12.345678);
  EXPECT_EQ(v.find("shard")->as_number(), 0);
}

TEST(AccessLog, LongFieldsAreCut) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  // Every line passes the threshold: one buffer per line, so that none is
  // dropped even if the logger has not run yet.
  auto log = AccessLog::open(
      {.path = path, .shards = 1, .buffer_bytes = 1024, .buffers_per_shard = 16}, nullptr);
  ASSERT_TRUE(log);
  const std::string long_path(100'000, '\n');  // the worst case: every byte escaped
  const std::string long_agent(100'000, 'a');
  AccessLogEntry e = sample_entry();
  e.path = long_path;
  e.user_agent = long_agent;
  for (int i = 0; i < 10; ++i) log->shard(0).log(e);
  log->stop();
  const auto lines = split_lines(read_whole_file(path));
  ASSERT_EQ(lines.size(), 10u);
  for (const auto& line : lines) {
    EXPECT_LE(line.size() + 1, kAccessLogMaxLine);
    const json::Value v = parse_line(line);
    EXPECT_EQ(v.find("path")->as_string().size(), 2048u);
    EXPECT_EQ(v.find("user_agent")->as_string().size(), 512u);
  }
  EXPECT_EQ(log->lines_dropped(), 0u);
}

TEST(AccessLog, LinesEqualRequestsWithSeveralShardThreads) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  constexpr size_t kShards = 4;
  constexpr int kPerShard = 3000;
  // Enough buffers to hold every line even if the logger never ran before
  // stop(), so the count is exact whatever the scheduling.
  auto log = AccessLog::open(
      {.path = path, .shards = kShards, .buffer_bytes = 16 * 1024, .buffers_per_shard = 64}, nullptr);
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (size_t s = 0; s < kShards; ++s) {
    threads.emplace_back([&log, s] {
      AccessLogShard& mine = log->shard(s);
      AccessLogEntry e = sample_entry();
      for (int i = 0; i < kPerShard; ++i) {
        const std::string p = "/s" + std::to_string(s) + "/" + std::to_string(i);
        e.path = p;
        mine.log(e);
        if (i % 500 == 0) mine.flush(static_cast<uint64_t>(i) * 10);
      }
    });
  }
  for (auto& t : threads) t.join();
  log->stop();

  EXPECT_EQ(log->lines_written(), kShards * kPerShard);
  EXPECT_EQ(log->lines_dropped(), 0u);
  const auto lines = split_lines(read_whole_file(path));
  ASSERT_EQ(lines.size(), kShards * kPerShard);
  std::vector<int> next(kShards, 0);  // each shard's lines arrive in order
  for (const auto& line : lines) {
    const json::Value v = parse_line(line);
    const auto shard = static_cast<size_t>(v.find("shard")->as_number());
    ASSERT_LT(shard, kShards);
    EXPECT_EQ(v.find("path")->as_string(),
              "/s" + std::to_string(shard) + "/" + std::to_string(next[shard]++));
  }
  for (int n : next) EXPECT_EQ(n, kPerShard);
}

TEST(AccessLog, FlushTickHandsOverAfterTheInterval) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  auto log = AccessLog::open({.path = path, .shards = 1, .flush_interval_ms = 1000}, nullptr);
  ASSERT_TRUE(log);
  AccessLogShard& shard = log->shard(0);
  shard.log(sample_entry());
  shard.flush(5000);
  log->sync();
  EXPECT_EQ(split_lines(read_whole_file(path)).size(), 1u);
  shard.log(sample_entry());
  shard.flush(5999);  // under a second since the last hand-off
  log->sync();
  EXPECT_EQ(split_lines(read_whole_file(path)).size(), 1u);
  shard.flush(6000);
  log->sync();
  EXPECT_EQ(split_lines(read_whole_file(path)).size(), 2u);
  log->stop();
}

TEST(AccessLog, StopWritesPartlyFilledBuffers) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  auto log = AccessLog::open({.path = path, .shards = 3}, nullptr);
  ASSERT_TRUE(log);
  for (size_t s = 0; s < 3; ++s)
    for (int i = 0; i < 5; ++i) log->shard(s).log(sample_entry());
  log->sync();
  EXPECT_EQ(read_whole_file(path), "") << "below the threshold, nothing is handed over yet";
  log->stop();
  EXPECT_EQ(split_lines(read_whole_file(path)).size(), 15u);
  log->stop();  // idempotent
}

TEST(AccessLog, ReopenAfterRenameLosesNothing) {
  TempDir dir;
  const std::string path = dir.file("access.log");
  const std::string rotated = dir.file("access.log.1");
  auto log = AccessLog::open({.path = path, .shards = 1}, nullptr);
  ASSERT_TRUE(log);
  AccessLogShard& shard = log->shard(0);
  AccessLogEntry e = sample_entry();
  for (int i = 0; i < 7; ++i) {
    e.status = 201;
    shard.log(e);
  }
  ASSERT_TRUE(shard.flush_now());
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);  // what logrotate does
  log->reopen();
  log->sync();
  EXPECT_EQ(log->reopens(), 1u);
  for (int i = 0; i < 5; ++i) {
    e.status = 202;
    shard.log(e);
  }
  log->stop();

  const auto old_lines = split_lines(read_whole_file(rotated));
  const auto new_lines = split_lines(read_whole_file(path));
  ASSERT_EQ(old_lines.size(), 7u);
  ASSERT_EQ(new_lines.size(), 5u);
  for (const auto& l : old_lines) EXPECT_EQ(parse_line(l).find("status")->as_number(), 201);
  for (const auto& l : new_lines) EXPECT_EQ(parse_line(l).find("status")->as_number(), 202);
  EXPECT_EQ(log->lines_written(), 12u);
}

TEST(AccessLog, StalledReaderDoesNotBlockTheShard) {
  TempDir dir;
  const std::string path = dir.file("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  // A reader that reads nothing until the shard is done: the logger's
  // write(2) blocks once the pipe is full.
  const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ::fcntl(reader, F_SETPIPE_SZ, 4096);
  auto log = AccessLog::open(
      {.path = path, .shards = 1, .buffer_bytes = 4096, .buffers_per_shard = 2}, nullptr);
  ASSERT_TRUE(log);
  constexpr uint64_t kLines = 20'000;  // ~5 MB: far more than the pipe and the buffers hold
  for (uint64_t i = 0; i < kLines; ++i) log->shard(0).log(sample_entry());
  // Reaching this point is the test: the shard never waited for the disk.
  EXPECT_GT(log->shard(0).lines_dropped(), 0u);

  ASSERT_EQ(::fcntl(reader, F_SETFL, 0), 0);  // blocking reads until the logger closes
  uint64_t read_lines = 0;
  std::thread drain([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(reader, buf, sizeof buf)) > 0)
      for (ssize_t i = 0; i < n; ++i) read_lines += buf[i] == '\n';
  });
  log->stop();
  drain.join();
  ::close(reader);
  EXPECT_EQ(log->lines_written() + log->lines_dropped(), kLines);
  EXPECT_EQ(read_lines, log->lines_written());
  EXPECT_EQ(log->write_errors(), 0u);
}

TEST(AccessLog, FailingFileCountsErrorsAndDropsWithoutBlocking) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  auto log = AccessLog::open({.path = "/dev/full", .shards = 1, .buffer_bytes = 1024}, nullptr);
  ASSERT_TRUE(log);
  for (int i = 0; i < 1000; ++i) log->shard(0).log(sample_entry());
  log->stop();
  EXPECT_GT(log->write_errors(), 0u);
  EXPECT_EQ(log->lines_written(), 0u);
  EXPECT_EQ(log->lines_dropped(), 1000u) << "lost in failed writes or dropped by the shard";
}

TEST(AccessLog, FailedReopenKeepsWritingToTheOldFile) {
  TempDir dir;
  const std::string sub = dir.file("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  const std::string path = sub + "/access.log";
  const std::string moved = dir.file("moved.log");
  auto log = AccessLog::open({.path = path, .shards = 1}, nullptr);
  ASSERT_TRUE(log);
  ASSERT_EQ(std::rename(path.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::rmdir(sub.c_str()), 0);  // the path cannot be created again
  log->reopen();
  log->sync();
  EXPECT_EQ(log->reopens(), 0u);
  EXPECT_EQ(log->write_errors(), 1u);
  log->shard(0).log(sample_entry());
  log->stop();
  EXPECT_EQ(split_lines(read_whole_file(moved)).size(), 1u);
}

TEST(AccessLog, OpenRefusesBadOptions) {
  std::string error;
  EXPECT_FALSE(AccessLog::open({.path = "/nonexistent/dir/access.log"}, &error));
  EXPECT_NE(error.find("/nonexistent/dir/access.log"), std::string::npos) << error;
  EXPECT_FALSE(AccessLog::open({.path = ""}, &error));
  EXPECT_FALSE(AccessLog::open({.path = "-", .shards = 0}, &error));
  EXPECT_FALSE(AccessLog::open({.path = "-", .buffers_per_shard = 1}, &error));
}

TEST(AccessLog, DashIsStandardOutputAndStaysOpen) {
  auto log = AccessLog::open({.path = "-", .shards = 1}, nullptr);
  ASSERT_TRUE(log);
  log->reopen();
  log->sync();
  log->stop();
  EXPECT_EQ(log->write_errors(), 0u);
  EXPECT_NE(::fcntl(STDOUT_FILENO, F_GETFD), -1) << "stop() must not close stdout";
}

}  // namespace
}  // namespace ringshard::obs
