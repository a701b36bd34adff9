// libFuzzer target for ws/reader.h and apply_mask in ws/frame.h. Besides
// looking for crashes under the sanitizers it checks the reader's contract
// and aborts when it breaks:
//  - every data piece is non-empty and lies inside the span being fed;
//    control payloads are at most 125 bytes; events follow the grammar
//    (data and end only inside a message, begin only outside one);
//  - a message's payload stays within max_message_bytes;
//  - without an error, feed() uses every byte; after one, it uses none
//    and delivers nothing, and the error is 1002 or 1009 with a reason;
//  - feeding the input whole, in two pieces split at a point derived from
//    the data, one byte at a time, or with a sink that stops after every
//    event (feeding the rest again) gives the same events and error.
// Each input runs in both roles (server: masked frames; client: unmasked),
// with the default limits and with permessage-deflate allowed and small
// limits, so the RSV1 and 1009 paths are reached by short inputs.
// apply_mask is checked against a byte loop at an offset and alignment
// taken from the data.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "ws/frame.h"
#include "ws/reader.h"

namespace {

using ringshard::ws::FrameReader;
using ringshard::ws::Opcode;
using ringshard::ws::ReaderLimits;

constexpr const char* kFuzzTarget = "ws frame reader";

struct Outcome {
  std::vector<std::string> events;  // data pieces joined; the error last
  bool operator==(const Outcome&) const = default;
};

class Recorder : public FrameReader::Sink {
 public:
  Recorder(const ReaderLimits& limits, bool stop_each)
      : limits_(limits), stop_each_(stop_each) {}

  std::span<char> window;
  std::vector<std::string> events;
  size_t calls = 0;

  bool on_message_begin(Opcode op, bool compressed) override {
    FUZZ_CHECK(!in_message_);
    FUZZ_CHECK(op == Opcode::kText || op == Opcode::kBinary);
    FUZZ_CHECK(!compressed || limits_.allow_compressed);
    in_message_ = true;
    message_bytes_ = 0;
    events.push_back(std::string("begin ") + char('0' + static_cast<int>(op)) +
                     (compressed ? "z" : ""));
    return next();
  }
  bool on_message_data(std::span<char> d) override {
    FUZZ_CHECK(in_message_);
    FUZZ_CHECK(!d.empty());
    FUZZ_CHECK(d.data() >= window.data() &&
               d.data() + d.size() <= window.data() + window.size());
    message_bytes_ += d.size();
    FUZZ_CHECK(message_bytes_ <= limits_.max_message_bytes);
    if (!events.empty() && events.back().starts_with("data ")) {
      events.back().append(d.data(), d.size());
    } else {
      events.push_back("data " + std::string(d.data(), d.size()));
    }
    return next();
  }
  bool on_message_end() override {
    FUZZ_CHECK(in_message_);
    in_message_ = false;
    events.push_back("end");
    return next();
  }
  bool on_control(Opcode op, std::span<char> p) override {
    FUZZ_CHECK(op == Opcode::kClose || op == Opcode::kPing || op == Opcode::kPong);
    FUZZ_CHECK(p.size() <= 125);
    FUZZ_CHECK(p.size() <= limits_.max_frame_bytes);
    events.push_back(std::string("control ") + char('0' + static_cast<int>(op)) + " " +
                     std::string(p.data(), p.size()));
    return next();
  }

 private:
  bool next() {
    ++calls;
    return !stop_each_;
  }
  ReaderLimits limits_;
  bool stop_each_;
  bool in_message_ = false;
  uint64_t message_bytes_ = 0;
};

// Feeds `in` (a private copy: payloads are unmasked in place) in pieces
// ending at each of `cuts`, then the rest; with stop_each, feeds again
// after every stop.
Outcome run(std::string_view in, const ReaderLimits& limits,
            const std::vector<size_t>& cuts, bool stop_each) {
  std::string buf(in);
  FrameReader reader(limits);
  Recorder sink(limits, stop_each);
  size_t begin = 0;
  auto present = [&](size_t end) {
    for (;;) {
      const std::span<char> piece(buf.data() + begin, end - begin);
      sink.window = piece;
      const size_t calls_before = sink.calls;
      const size_t used = reader.feed(piece, sink);
      FUZZ_CHECK(used <= piece.size());
      begin += used;
      if (reader.failed()) return false;
      if (stop_each) FUZZ_CHECK(sink.calls <= calls_before + 1);
      if (!stop_each || sink.calls == calls_before) {
        FUZZ_CHECK(used == piece.size());
        return true;
      }
    }
  };
  bool ok = true;
  for (size_t cut : cuts) {
    if (cut < begin || cut > buf.size()) continue;
    if (!(ok = present(cut))) break;
  }
  if (ok) present(buf.size());

  Outcome o;
  o.events = std::move(sink.events);
  if (reader.failed()) {
    const auto& err = reader.error();
    FUZZ_CHECK(err.close_code == 1002 || err.close_code == 1009);
    FUZZ_CHECK(!err.reason.empty());
    const size_t calls = sink.calls;
    FUZZ_CHECK(reader.feed(std::span<char>(buf.data() + begin, buf.size() - begin), sink) == 0);
    FUZZ_CHECK(sink.calls == calls);
    o.events.push_back("error " + std::to_string(err.close_code) + " " +
                       std::string(err.reason));
  } else {
    FUZZ_CHECK(begin == buf.size());
    o.events.push_back(std::string("state ") + (reader.in_message() ? "m" : "-") +
                       (reader.mid_frame() ? "f" : "-"));
  }
  return o;
}

void check_reader(std::string_view in, const ReaderLimits& limits, uint32_t seed) {
  const Outcome whole = run(in, limits, {}, false);
  const size_t n = in.size();
  FUZZ_CHECK(run(in, limits, {n == 0 ? 0 : seed % (n + 1)}, false) == whole);
  FUZZ_CHECK(run(in, limits, {n / 3, 2 * n / 3}, false) == whole);
  std::vector<size_t> bytewise(n);
  for (size_t k = 0; k < n; ++k) bytewise[k] = k;
  FUZZ_CHECK(run(in, limits, bytewise, false) == whole);
  FUZZ_CHECK(run(in, limits, {}, true) == whole);
  FUZZ_CHECK(run(in, limits, {n == 0 ? 0 : (seed >> 8) % (n + 1)}, true) == whole);
}

void check_mask(std::string_view in, uint32_t seed) {
  if (in.size() < 4) return;
  uint8_t key[4];
  std::memcpy(key, in.data(), 4);
  const size_t offset = seed & 3;
  const size_t start = (seed >> 2) & 15;
  std::string a(start, 'x');
  a.append(in.substr(4));
  std::string b = a;
  const size_t len = a.size() - start;
  const size_t next = ringshard::ws::apply_mask(a.data() + start, len, key, offset);
  for (size_t i = 0; i < len; ++i) {
    b[start + i] = static_cast<char>(b[start + i] ^ key[(offset + i) % 4]);
  }
  FUZZ_CHECK(next == (offset + len) % 4);
  FUZZ_CHECK(a == b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint32_t seed = 2166136261u;
  for (unsigned char c : in) seed = (seed ^ c) * 16777619u;

  for (bool server : {true, false}) {
    ReaderLimits defaults;
    defaults.expect_masked = server;
    check_reader(in, defaults, seed);

    ReaderLimits small;
    small.expect_masked = server;
    small.allow_compressed = true;
    small.max_frame_bytes = 100;
    small.max_message_bytes = 150;
    check_reader(in, small, seed);
  }
  check_mask(in, seed);
  return 0;
}
