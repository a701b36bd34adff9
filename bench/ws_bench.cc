// Micro benchmarks of the WebSocket read path: unmasking, UTF-8 validation
// and frame parsing. Every benchmark's name starts with "Ws"
// (--benchmark_filter=Ws). Bytes are payload or text bytes processed;
// items are frames. Each benchmark checks its first result and stops with
// an error if the code under test does not do what is measured.
//
// main() comes from the bench executable (ringshard_micro_bench), not from
// this file.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ws/frame.h"
#include "ws/reader.h"
#include "ws/utf8.h"

namespace ringshard::ws {
namespace {

constexpr uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// Masks a payload of state.range(0) bytes in place, starting at byte
// `misalign` of a 16-byte aligned buffer (std::string's heap block).
void mask_bench(benchmark::State& state, size_t misalign) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string buf(n + misalign, 'x');
  char* p = buf.data() + misalign;
  {
    std::string want(p, n);
    for (size_t i = 0; i < n; ++i) want[i] = static_cast<char>(want[i] ^ kKey[i % 4]);
    apply_mask(p, n, kKey, 0);
    if (std::string_view(p, n) != want) state.SkipWithError("apply_mask result wrong");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(apply_mask(p, n, kKey, 0));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void WsApplyMask(benchmark::State& state) { mask_bench(state, 0); }
BENCHMARK(WsApplyMask)->Arg(32)->Arg(1024)->Arg(64 << 10);

void WsApplyMaskUnaligned(benchmark::State& state) { mask_bench(state, 3); }
BENCHMARK(WsApplyMaskUnaligned)->Arg(1024)->Arg(64 << 10);

// Chat-like text: mostly ASCII with accented Latin, Greek, CJK and emoji
// (2-, 3- and 4-byte characters), cut at a character boundary.
std::string mixed_text(size_t n) {
  constexpr std::string_view kSample =
      "The quick brown fox jumps over the lazy dog; na\xc3\xafve caf\xc3\xa9 "
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5, \xe6\x97\xa5\xe6\x9c\xac"
      "\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88 "
      "\xf0\x9f\x98\x80 {\"user\":42,\"text\":\"ok\"}\n";
  std::string s;
  while (s.size() < n) s += kSample;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

void utf8_bench(benchmark::State& state, const std::string& text) {
  if (!is_valid_utf8(text)) state.SkipWithError("sample text is not valid UTF-8");
  for (auto _ : state) {
    Utf8Validator v;
    benchmark::DoNotOptimize(v.feed(text));
    benchmark::DoNotOptimize(v.complete());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void WsUtf8Ascii(benchmark::State& state) {
  utf8_bench(state, std::string(static_cast<size_t>(state.range(0)), 'a'));
}
BENCHMARK(WsUtf8Ascii)->Arg(1024)->Arg(64 << 10);

void WsUtf8Mixed(benchmark::State& state) {
  utf8_bench(state, mixed_text(static_cast<size_t>(state.range(0))));
}
BENCHMARK(WsUtf8Mixed)->Arg(1024)->Arg(64 << 10);

struct CountingSink : FrameReader::Sink {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  bool on_message_begin(Opcode, bool) override { return true; }
  bool on_message_data(std::span<char> d) override {
    bytes += d.size();
    return true;
  }
  bool on_message_end() override {
    ++frames;
    return true;
  }
  bool on_control(Opcode, std::span<char>) override { return true; }
};

// A client's read of state.range(1) masked text frames of state.range(0)
// payload bytes each, parsed and unmasked in place (unmasking again each
// round flips the payload back; the headers stay as they are).
void WsReaderMaskedFrames(benchmark::State& state) {
  const size_t payload = static_cast<size_t>(state.range(0));
  const size_t count = static_cast<size_t>(state.range(1));
  std::string wire;
  const std::string text(payload, 'm');
  for (size_t i = 0; i < count; ++i) {
    char head[kMaxHeaderBytes];
    wire.append(head, encode_header(head, Opcode::kText, payload, true, false, kKey));
    std::string body = text;
    apply_mask(body.data(), body.size(), kKey, 0);
    wire += body;
  }
  const std::span<char> in(wire.data(), wire.size());
  FrameReader reader;
  CountingSink sink;
  if (reader.feed(in, sink) != wire.size() || sink.frames != count ||
      sink.bytes != count * payload) {
    state.SkipWithError("reader did not deliver every frame");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(reader.feed(in, sink));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(WsReaderMaskedFrames)->Args({16, 2048})->Args({125, 256})->Args({64 << 10, 1});

}  // namespace
}  // namespace ringshard::ws
