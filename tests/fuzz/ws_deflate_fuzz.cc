// libFuzzer target for the codec half of ws/deflate.h. The first byte picks
// one of two runs over the rest of the input:
//  - inflate: the bytes are split into messages and pieces and fed to an
//    Inflater (window 8..15, with or without context takeover) under a
//    small max_size. The output never passes max_size (max_size + 1 on
//    kTooBig, the byte that shows the cap was passed), its capacity stays
//    within the cap, an error frees the zlib state, and so does the end of
//    a message under client_no_context_takeover.
//  - round trip: the bytes become several messages (some repeated into
//    larger ones) compressed by a Deflater with a random window, level,
//    memLevel and context takeover mode, with release() at random points,
//    and inflated by an Inflater with the matching parameters, fed in random
//    pieces: every message comes back unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "ws/deflate.h"

namespace {

using ringshard::ws::DeflateConfig;
using ringshard::ws::DeflateParams;
using ringshard::ws::Deflater;
using ringshard::ws::InflateStatus;
using ringshard::ws::Inflater;

constexpr const char* kFuzzTarget = "ws deflate";

// Feeds `payload` in pieces chosen by `fdp`, then finishes the message.
InflateStatus inflate_message(Inflater& in, std::string_view payload, std::string& out,
                              size_t max_size, FuzzedDataProvider& fdp) {
  while (!payload.empty()) {
    const size_t n = fdp.ConsumeIntegralInRange<size_t>(1, payload.size());
    const InflateStatus st = in.feed(payload.substr(0, n), out, max_size);
    if (st != InflateStatus::kOk) return st;
    payload.remove_prefix(n);
  }
  return in.finish(out, max_size);
}

void check_out(const std::string& out, InflateStatus st, size_t max_size) {
  FUZZ_CHECK(out.size() <= max_size + (st == InflateStatus::kTooBig ? 1 : 0));
  // Never grown past the cap (a fresh std::string starts with room for 15
  // bytes and grows to at least 30).
  FUZZ_CHECK(out.capacity() <= (max_size + 1 > 30 ? max_size + 1 : 30));
}

void run_inflate(FuzzedDataProvider& fdp) {
  DeflateParams params;
  params.client_max_window_bits = fdp.ConsumeIntegralInRange<uint8_t>(8, 15);
  params.client_no_context_takeover = fdp.ConsumeBool();
  const size_t max_size = fdp.ConsumeIntegralInRange<size_t>(0, 70000);
  Inflater in(params, DeflateConfig{});
  FUZZ_CHECK(in.memory() == 0);
  for (int m = 0; m < 8 && fdp.remaining_bytes() > 0; ++m) {
    const std::string payload =
        fdp.ConsumeBytesAsString(fdp.ConsumeIntegralInRange<size_t>(0, 4096));
    std::string out;
    const InflateStatus st = inflate_message(in, payload, out, max_size, fdp);
    check_out(out, st, max_size);
    if (st != InflateStatus::kOk) {
      FUZZ_CHECK(in.memory() == 0);
      return;  // the connection closes
    }
    if (params.client_no_context_takeover) FUZZ_CHECK(in.memory() == 0);
  }
}

void run_round_trip(FuzzedDataProvider& fdp) {
  DeflateParams params;
  params.server_max_window_bits = fdp.ConsumeIntegralInRange<uint8_t>(8, 15);
  params.server_no_context_takeover = fdp.ConsumeBool();
  DeflateConfig config;
  config.level = fdp.ConsumeIntegralInRange<int>(-1, 9);
  config.mem_level = fdp.ConsumeIntegralInRange<int>(1, 9);
  Deflater deflater(params, config);

  // The receiving side of the same agreement.
  DeflateParams mirror;
  mirror.client_max_window_bits = params.server_max_window_bits;
  mirror.client_no_context_takeover = params.server_no_context_takeover;
  Inflater inflater(mirror, DeflateConfig{});

  for (int m = 0; m < 6 && fdp.remaining_bytes() > 0; ++m) {
    std::string message = fdp.ConsumeBytesAsString(fdp.ConsumeIntegralInRange<size_t>(0, 2048));
    const int repeat = fdp.ConsumeIntegralInRange<int>(1, 40);
    const std::string unit = message;
    for (int r = 1; r < repeat; ++r) message += unit;
    if (fdp.ConsumeBool()) {
      deflater.release();
      FUZZ_CHECK(deflater.memory() == 0);
    }
    std::string payload;
    FUZZ_CHECK(deflater.compress(message, payload));
    FUZZ_CHECK(message.empty() || deflater.memory() > 0);
    std::string out;
    const InflateStatus st = inflate_message(inflater, payload, out, message.size(), fdp);
    FUZZ_CHECK(st == InflateStatus::kOk);
    FUZZ_CHECK(out == message);
    if (mirror.client_no_context_takeover) FUZZ_CHECK(inflater.memory() == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider fdp(data + 1, size - 1);
  if (data[0] & 1) {
    run_round_trip(fdp);
  } else {
    run_inflate(fdp);
  }
  return 0;
}
