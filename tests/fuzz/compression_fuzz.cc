// libFuzzer target for the Compressor in http/compression.h (the bytes are
// a response body, not a client's, but the encoder loops around zlib and
// libbrotlienc are where a wrong exit condition would lose or repeat data).
// The first input byte picks the coding, the level and the write pattern;
// the rest is the body, cut into writes whose sizes come from the body's
// own bytes, some flushed and some not. It checks:
//  - every write and finish succeeds, and decoding the output with zlib's
//    inflate or libbrotlidec gives the body back exactly;
//  - after each flushed write, the output so far decodes to the body so far;
//  - the same Compressor, reset, compresses the body again to the same
//    bytes as one-shot compress() from a fresh one (no state leaks across
//    streams).
// Also the Accept-Encoding / Cache-Control / media-type helpers must not
// crash on the same bytes.
#include <brotli/decode.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http/compression.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::Coding;
using ringshard::http::Compressor;

constexpr const char* kFuzzTarget = "compression";

// Decodes a prefix of a stream: everything decodable so far, and whether
// the stream ended exactly at the end of `in`. False on corrupt data.
bool decode(Coding c, std::string_view in, std::string& text, bool& ended) {
  ended = false;
  if (c == Coding::kGzip) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    bool ok = true;
    for (;;) {
      char buf[4096];
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      const int rc = inflate(&zs, Z_SYNC_FLUSH);
      text.append(buf, sizeof buf - zs.avail_out);
      if (rc == Z_STREAM_END) {
        ended = zs.avail_in == 0;
        break;
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
      if (rc != Z_OK) {
        ok = false;
        break;
      }
    }
    inflateEnd(&zs);
    return ok;
  }
  BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  size_t avail_in = in.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
  bool ok = true;
  for (;;) {
    uint8_t buf[4096];
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    const BrotliDecoderResult r =
        BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    text.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
    if (r == BROTLI_DECODER_RESULT_ERROR) ok = false;
    if (r == BROTLI_DECODER_RESULT_SUCCESS) ended = avail_in == 0;
    if (r != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) break;
  }
  BrotliDecoderDestroyInstance(st);
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const Coding coding = (control & 1) ? Coding::kBrotli : Coding::kGzip;
  // Low levels keep the fuzzer fast; one in eight inputs tries a high one.
  const int level = (control & 0xe0) == 0xe0 ? 9 : ((control >> 1) & 3) + 1;

  Compressor c(coding, level);
  std::string out;
  size_t pos = 0;
  size_t step = 0;
  while (pos < body.size()) {
    const uint8_t k = static_cast<uint8_t>(body[(pos * 7 + step) % body.size()]);
    const size_t n = std::min<size_t>(body.size() - pos, (k & 0x3f) + 1);
    const bool flush = ((k >> 6) ^ (control >> 3)) & 1;
    FUZZ_CHECK(c.write(body.substr(pos, n), out, flush));
    pos += n;
    ++step;
    if (flush) {
      std::string text;
      bool ended = false;
      FUZZ_CHECK(decode(coding, out, text, ended));
      FUZZ_CHECK(!ended);
      FUZZ_CHECK(text == body.substr(0, pos));
    }
  }
  FUZZ_CHECK(c.finish(out));
  std::string text;
  bool ended = false;
  FUZZ_CHECK(decode(coding, out, text, ended));
  FUZZ_CHECK(ended);
  FUZZ_CHECK(text == body);

  std::string again;
  FUZZ_CHECK(c.compress(body, again));
  std::string fresh;
  FUZZ_CHECK(ringshard::http::compress(coding, level, body, fresh));
  FUZZ_CHECK(again == fresh);

  const std::string types[] = {"text/", "application/json"};
  (void)ringshard::http::compressible_type(body, types);
  (void)ringshard::http::has_no_transform(body);
  return 0;
}
