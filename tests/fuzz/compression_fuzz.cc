// libFuzzer target for the Compressor in http/compression.h (the bytes are
// a response body, not a client's, but the encoder loops around zlib and
// libbrotlienc are where a wrong exit condition would lose or repeat data).
// The first input byte picks the coding, the level and the write pattern;
// the rest is the body, cut into writes whose sizes come from the body's
// own bytes, some flushed and some not. It checks:
//  - every write and finish succeeds, and decoding the output with zlib's
//    inflate or libbrotlidec gives the body back exactly;
//  - after every write the output so far decodes to a prefix of the body,
//    and after a flushed write to all of the body so far;
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

// A streaming decoder: feed() takes the output as it grows and appends
// what it decodes to text(); ended() once the stream's end was read, and
// then no byte may follow. False on corrupt data.
class Decoder {
 public:
  explicit Decoder(Coding c) : coding_(c) {
    if (c == Coding::kGzip) {
      FUZZ_CHECK(inflateInit2(&zs_, 15 + 16) == Z_OK);
    } else {
      br_ = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
      FUZZ_CHECK(br_ != nullptr);
    }
  }
  ~Decoder() {
    if (coding_ == Coding::kGzip) {
      inflateEnd(&zs_);
    } else {
      BrotliDecoderDestroyInstance(br_);
    }
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  bool feed(std::string_view in) {
    if (in.empty()) return true;
    if (ended_) return false;
    return coding_ == Coding::kGzip ? feed_gzip(in) : feed_brotli(in);
  }
  const std::string& text() const { return text_; }
  bool ended() const { return ended_; }

 private:
  bool feed_gzip(std::string_view in) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      char buf[4096];
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = sizeof buf;
      const int rc = inflate(&zs_, Z_SYNC_FLUSH);
      text_.append(buf, sizeof buf - zs_.avail_out);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        return zs_.avail_in == 0;
      }
      if (rc == Z_BUF_ERROR && zs_.avail_in == 0) return true;
      if (rc != Z_OK) return false;
    }
  }
  bool feed_brotli(std::string_view in) {
    size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      uint8_t buf[4096];
      size_t avail_out = sizeof buf;
      uint8_t* next_out = buf;
      const BrotliDecoderResult r = BrotliDecoderDecompressStream(
          br_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      text_.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
      if (r == BROTLI_DECODER_RESULT_ERROR) return false;
      if (r == BROTLI_DECODER_RESULT_SUCCESS) {
        ended_ = true;
        return avail_in == 0;
      }
      if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return true;
    }
  }

  Coding coding_;
  z_stream zs_{};
  BrotliDecoderState* br_ = nullptr;
  std::string text_;
  bool ended_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const Coding coding = (control & 1) ? Coding::kBrotli : Coding::kGzip;
  // Low levels keep the fuzzer fast; one in eight inputs tries a high one.
  const int level = (control & 0xe0) == 0xe0 ? 9 : ((control >> 1) & 3) + 1;

  Compressor c(coding, level);
  Decoder dec(coding);
  std::string out;
  size_t decoded = 0;  // bytes of `out` fed to dec
  size_t pos = 0;
  size_t step = 0;
  while (pos < body.size()) {
    const uint8_t k = static_cast<uint8_t>(body[(pos * 7 + step) % body.size()]);
    const size_t n = std::min<size_t>(body.size() - pos, (k & 0x3f) + 1);
    const bool flush = ((k >> 6) ^ (control >> 3)) & 1;
    FUZZ_CHECK(c.write(body.substr(pos, n), out, flush));
    pos += n;
    ++step;
    FUZZ_CHECK(dec.feed(std::string_view(out).substr(decoded)));
    decoded = out.size();
    FUZZ_CHECK(!dec.ended());
    FUZZ_CHECK(dec.text().size() <= pos);
    FUZZ_CHECK(body.substr(0, dec.text().size()) == dec.text());
    if (flush) FUZZ_CHECK(dec.text().size() == pos);
  }
  FUZZ_CHECK(c.finish(out));
  FUZZ_CHECK(dec.feed(std::string_view(out).substr(decoded)));
  FUZZ_CHECK(dec.ended());
  FUZZ_CHECK(dec.text() == body);

  // Encoder state is costly to set up under the sanitizers: one input in
  // four runs the reuse check.
  if ((control & 0x18) == 0x18) {
    std::string again;
    FUZZ_CHECK(c.compress(body, again));
    std::string fresh;
    FUZZ_CHECK(ringshard::http::compress(coding, level, body, fresh));
    FUZZ_CHECK(again == fresh);
  }

  const std::string types[] = {"text/", "application/json"};
  (void)ringshard::http::compressible_type(body, types);
  (void)ringshard::http::has_no_transform(body);
  return 0;
}
