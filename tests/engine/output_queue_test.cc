// Tests for engine/output_queue.h: append/gather/consume across chunk
// boundaries at every offset, borrowed slices and their release callbacks,
// reserve/commit, chunk accounting, and the iovec limit of gather().
#include "engine/output_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/buffer_pool.h"

namespace ringshard::engine {
namespace RS_UNITY_ID {

constexpr size_t kChunk = BufferPool::kChunkSize;

// Everything gather() currently exposes, concatenated.
std::string gathered(const OutputQueue& q, size_t max_iov = 1024) {
  std::vector<iovec> iov(max_iov);
  const size_t n = q.gather(iov.data(), iov.size());
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_GT(iov[i].iov_len, 0u) << "gather must skip empty segments";
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return out;
}

std::string pattern(size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

// True if the queue's gathered bytes are exactly `want`, compared in place
// (cheaper than gathered() for the quadratic every-offset test).
bool holds_exactly(const OutputQueue& q, std::string_view want) {
  iovec iov[64];
  const size_t n = q.gather(iov, 64);
  size_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    if (iov[i].iov_len == 0 || off + iov[i].iov_len > want.size()) return false;
    if (std::memcmp(iov[i].iov_base, want.data() + off, iov[i].iov_len) != 0) return false;
    off += iov[i].iov_len;
  }
  return off == want.size() && q.size() == want.size();
}

struct ReleaseCounter {
  int calls = 0;
  static void release(void* ctx) { ++static_cast<ReleaseCounter*>(ctx)->calls; }
};

TEST(OutputQueue, StartsEmptyAndHoldsNoChunk) {
  BufferPool pool;
  OutputQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  iovec iov[4];
  EXPECT_EQ(q.gather(iov, 4), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, SmallAppendsCoalesceIntoOneChunk) {
  BufferPool pool;
  OutputQueue q;
  q.append(pool, "hello ");
  q.append(pool, "world");
  q.append(pool, "");
  EXPECT_EQ(q.size(), 11u);
  EXPECT_EQ(pool.in_use(), 1u);
  iovec iov[4];
  ASSERT_EQ(q.gather(iov, 4), 1u);
  EXPECT_EQ(gathered(q), "hello world");
  q.consume(pool, 11);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, LargeAppendSpansChunks) {
  BufferPool pool;
  OutputQueue q;
  const std::string data = pattern(3 * kChunk + 123);
  q.append(pool, data);
  EXPECT_EQ(q.size(), data.size());
  EXPECT_EQ(pool.in_use(), 4u);
  iovec iov[8];
  EXPECT_EQ(q.gather(iov, 8), 4u);
  EXPECT_EQ(gathered(q), data);
  q.consume(pool, data.size());
  EXPECT_EQ(pool.in_use(), 0u);
}

// Consume in two steps, split at every offset of a queue with three
// boundaries: chunk to chunk, chunk to borrowed slice, slice to chunk.
TEST(OutputQueue, PartialConsumeAtEveryOffset) {
  const std::string owned = pattern(kChunk + 100, 1);
  const std::string slice = pattern(300, 2);
  const std::string tail = pattern(50, 3);
  const std::string all = owned + slice + tail;
  for (size_t split = 0; split <= all.size(); ++split) {
    BufferPool pool;
    OutputQueue q;
    ReleaseCounter rc;
    q.append(pool, owned);
    q.append_borrowed(slice, &ReleaseCounter::release, &rc);
    q.append(pool, tail);
    ASSERT_EQ(q.size(), all.size());
    q.consume(pool, split);
    ASSERT_EQ(q.size(), all.size() - split);
    ASSERT_TRUE(holds_exactly(q, std::string_view(all).substr(split))) << "split " << split;
    ASSERT_EQ(rc.calls, split >= owned.size() + slice.size() ? 1 : 0) << "split " << split;
    q.consume(pool, all.size() - split);
    ASSERT_TRUE(q.empty());
    ASSERT_EQ(rc.calls, 1);
    ASSERT_EQ(pool.in_use(), 0u) << "split " << split;
  }
}

// Many small consumes, as short sends would do, with appends in between.
TEST(OutputQueue, InterleavedAppendAndShortConsumes) {
  BufferPool pool;
  OutputQueue q;
  std::string expected;  // what has been appended and not yet consumed
  size_t step = 1;
  for (int round = 0; round < 400; ++round) {
    const std::string piece = pattern(1 + (round * 977) % (kChunk + 500), round);
    q.append(pool, piece);
    expected += piece;
    const size_t n = std::min(expected.size(), step);
    q.consume(pool, n);
    expected.erase(0, n);
    step = step * 3 % 20011 + 1;
    ASSERT_EQ(q.size(), expected.size());
    ASSERT_EQ(gathered(q), expected) << "round " << round;
  }
  q.consume(pool, q.size());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, BorrowedSliceIsNotCopied) {
  BufferPool pool;
  OutputQueue q;
  static const char kBody[] = "static body";
  q.append_borrowed(kBody, nullptr, nullptr);
  EXPECT_EQ(pool.in_use(), 0u);
  iovec iov[2];
  ASSERT_EQ(q.gather(iov, 2), 1u);
  EXPECT_EQ(iov[0].iov_base, static_cast<const void*>(kBody));
  q.consume(pool, q.size());
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, BorrowedReleaseRunsOnceWhenFullySent) {
  BufferPool pool;
  OutputQueue q;
  ReleaseCounter rc;
  const std::string body = pattern(1000);
  q.append(pool, "head");
  q.append_borrowed(body, &ReleaseCounter::release, &rc);
  q.append(pool, "tail");
  q.consume(pool, 4);
  EXPECT_EQ(rc.calls, 0);
  q.consume(pool, 999);
  EXPECT_EQ(rc.calls, 0) << "one byte of the slice is still unsent";
  q.consume(pool, 1);
  EXPECT_EQ(rc.calls, 1);
  q.consume(pool, 4);
  EXPECT_EQ(rc.calls, 1);
  EXPECT_TRUE(q.empty());
  q.clear(pool);
  EXPECT_EQ(rc.calls, 1) << "clear() after sending must not release again";
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, BorrowedReleaseRunsOnceOnClear) {
  BufferPool pool;
  OutputQueue q;
  ReleaseCounter sent;
  ReleaseCounter partly_sent;
  ReleaseCounter unsent;
  q.append_borrowed("first", &ReleaseCounter::release, &sent);
  q.append_borrowed("second", &ReleaseCounter::release, &partly_sent);
  q.append(pool, "owned");
  q.append_borrowed("third", &ReleaseCounter::release, &unsent);
  q.consume(pool, 5 + 3);
  EXPECT_EQ(sent.calls, 1);
  EXPECT_EQ(partly_sent.calls, 0);
  q.clear(pool);
  EXPECT_EQ(sent.calls, 1);
  EXPECT_EQ(partly_sent.calls, 1);
  EXPECT_EQ(unsent.calls, 1);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  q.clear(pool);
  EXPECT_EQ(partly_sent.calls + unsent.calls, 2) << "a second clear() releases nothing";
}

TEST(OutputQueue, EmptyBorrowedSliceIsReleasedAtOnce) {
  BufferPool pool;
  OutputQueue q;
  ReleaseCounter rc;
  q.append_borrowed("", &ReleaseCounter::release, &rc);
  EXPECT_EQ(rc.calls, 1);
  EXPECT_TRUE(q.empty());
  q.clear(pool);
  EXPECT_EQ(rc.calls, 1);
}

TEST(OutputQueue, QueueIsReusableAfterClear) {
  BufferPool pool;
  OutputQueue q;
  q.append(pool, pattern(kChunk + 1));
  q.clear(pool);
  EXPECT_EQ(pool.in_use(), 0u);
  q.append(pool, "again");
  EXPECT_EQ(gathered(q), "again");
  q.consume(pool, 5);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, ReserveAndCommitWriteInPlace) {
  BufferPool pool;
  OutputQueue q;
  size_t got = 0;
  char* p = q.reserve(pool, 5, got);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(got, 5u);
  std::memcpy(p, "abcde", 5);
  q.commit(3);  // uses only part of it
  EXPECT_EQ(q.size(), 3u);
  q.append(pool, "XY");
  EXPECT_EQ(gathered(q), "abcXY");
  EXPECT_EQ(pool.in_use(), 1u);
  q.consume(pool, 5);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, ReserveIsBoundedByTheRoomLeftInTheTailChunk) {
  BufferPool pool;
  OutputQueue q;
  q.append(pool, pattern(kChunk - 10));
  size_t got = 0;
  char* p = q.reserve(pool, 100, got);
  EXPECT_EQ(got, 10u) << "the tail chunk has 10 bytes left";
  std::memset(p, 'Z', got);
  q.commit(got);
  p = q.reserve(pool, 3 * kChunk, got);
  EXPECT_EQ(got, kChunk) << "a fresh chunk, capped at its size";
  std::memset(p, 'Q', 4);
  q.commit(4);
  EXPECT_EQ(pool.in_use(), 2u);
  const std::string all = gathered(q);
  EXPECT_EQ(all.size(), kChunk + 4);
  EXPECT_EQ(all.substr(kChunk - 10, 10), std::string(10, 'Z'));
  EXPECT_EQ(all.substr(kChunk), "QQQQ");
  q.consume(pool, q.size());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, ReserveAfterABorrowedSliceStartsAChunk) {
  BufferPool pool;
  OutputQueue q;
  q.append_borrowed("borrowed", nullptr, nullptr);
  size_t got = 0;
  char* p = q.reserve(pool, 4, got);
  ASSERT_EQ(got, 4u);
  std::memcpy(p, "own!", 4);
  q.commit(4);
  EXPECT_EQ(gathered(q), "borrowedown!");
  q.consume(pool, q.size());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, EmptyQueueHoldsNoChunkAfterEverythingIsConsumed) {
  BufferPool pool;
  OutputQueue q;
  ReleaseCounter rc;
  for (int round = 0; round < 50; ++round) {
    q.append(pool, pattern(static_cast<size_t>(round) * 1000 + 1));
    q.append_borrowed("slice", &ReleaseCounter::release, &rc);
    size_t got = 0;
    char* p = q.reserve(pool, 7, got);
    std::memset(p, 'r', got);
    q.commit(got);
    size_t left = q.size();
    // Drain in uneven steps.
    while (left > 0) {
      const size_t n = std::min<size_t>(left, 4093);
      q.consume(pool, n);
      left -= n;
    }
    ASSERT_TRUE(q.empty());
    ASSERT_EQ(pool.in_use(), 0u) << "round " << round;
  }
  EXPECT_EQ(rc.calls, 50);
}

// The queue of an idle connection costs no buffer memory, even when the
// handler reserved room and then decided not to write.
//
// Disabled: fails today. reserve() (and reserve_contiguous()) pushes a
// fresh chunk as an empty segment; commit(0) leaves it there, so the queue
// is empty() yet holds a chunk until the next consume() or clear(), and an
// idle connection keeps it (Connection::commit(0) returns early). Enable
// once the queue gives the chunk back; see the engine test report.
TEST(OutputQueue, ReserveThenCommitNothingHoldsNoChunk) {
  BufferPool pool;
  OutputQueue q;
  size_t got = 0;
  q.reserve(pool, 64, got);
  q.commit(pool, 0);
  EXPECT_TRUE(q.empty());
  iovec iov[2];
  EXPECT_EQ(q.gather(iov, 2), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  q.clear(pool);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(OutputQueue, GatherRespectsMaxIovecs) {
  BufferPool pool;
  OutputQueue q;
  std::vector<std::string> slices;
  for (int i = 0; i < 100; ++i) slices.push_back("slice-" + std::to_string(i) + ";");
  std::string all;
  for (const auto& s : slices) {
    q.append_borrowed(s, nullptr, nullptr);
    all += s;
  }
  iovec iov[100];
  for (size_t max : {size_t{0}, size_t{1}, size_t{7}, size_t{64}}) {
    std::fill(std::begin(iov), std::end(iov), iovec{nullptr, 0});
    const size_t n = q.gather(iov, max);
    ASSERT_EQ(n, max);
    std::string front;
    for (size_t i = 0; i < n; ++i) {
      front.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    }
    EXPECT_EQ(all.substr(0, front.size()), front);
    for (size_t i = n; i < 100; ++i) ASSERT_EQ(iov[i].iov_base, nullptr) << "wrote past max";
  }
  EXPECT_EQ(q.gather(iov, 100), 100u);
  // Consuming whole slices shifts the window.
  q.consume(pool, slices[0].size() + slices[1].size() + 2);
  ASSERT_EQ(q.gather(iov, 3), 3u);
  EXPECT_EQ(std::string(static_cast<const char*>(iov[0].iov_base), iov[0].iov_len),
            slices[2].substr(2));
  EXPECT_EQ(std::string(static_cast<const char*>(iov[1].iov_base), iov[1].iov_len), slices[3]);
  q.clear(pool);
}

TEST(OutputQueue, ManySegmentsKeepOrderThroughCompaction) {
  // Enough consumed segments at the front that the queue compacts its
  // segment array while live ones remain.
  BufferPool pool;
  OutputQueue q;
  std::vector<ReleaseCounter> counters(300);
  std::vector<std::string> slices;
  for (int i = 0; i < 300; ++i) slices.push_back(pattern(10 + i % 13, static_cast<unsigned>(i)));
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    q.append_borrowed(slices[i], &ReleaseCounter::release, &counters[i]);
    expected += slices[i];
    if (i % 3 == 0) {
      q.append(pool, "|");
      expected += "|";
    }
    if (i % 4 == 3) {
      const size_t n = std::min<size_t>(expected.size(), 25);
      q.consume(pool, n);
      expected.erase(0, n);
      ASSERT_EQ(gathered(q), expected) << "i " << i;
    }
  }
  q.consume(pool, q.size());
  for (const auto& c : counters) EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace ringshard::engine
