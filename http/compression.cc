#include "http/compression.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>
#include <utility>

#include "http/chars.h"

namespace ringshard::http {
namespace {

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && chars::is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && chars::is_ows(v.back())) v.remove_suffix(1);
  return v;
}

// zlib counts in uInt (32 bits): larger inputs go in slices of this size.
constexpr size_t kZlibSlice = size_t{1} << 30;

}  // namespace

std::vector<std::string> default_compressible_types() {
  return {"text/",
          "application/json",
          "application/javascript",
          "application/ecmascript",
          "application/xml",
          "application/xhtml+xml",
          "application/rss+xml",
          "application/atom+xml",
          "application/ld+json",
          "application/manifest+json",
          "application/problem+json",
          "application/geo+json",
          "application/graphql-response+json",
          "application/wasm",
          "application/x-javascript",
          "image/svg+xml",
          "image/x-icon",
          "image/vnd.microsoft.icon",
          "font/ttf",
          "font/otf",
          "application/vnd.ms-fontobject"};
}

bool compressible_type(std::string_view content_type,
                       std::span<const std::string> type_prefixes) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  media = trim_ows(media);
  if (media.empty()) return false;
  for (const std::string& prefix : type_prefixes) {
    // An empty prefix would make every type compressible: a config slip,
    // not a wish, so it matches nothing.
    if (prefix.empty() || prefix.size() > media.size()) continue;
    if (iequals(media.substr(0, prefix.size()), prefix)) return true;
  }
  return false;
}

bool has_no_transform(std::string_view cache_control) {
  const char* p = cache_control.data();
  const char* end = p + cache_control.size();
  while (p < end) {
    if (*p == ',' || chars::is_ows(*p)) {
      ++p;
      continue;
    }
    const char* s = p;
    while (p < end && chars::is_tchar(*p)) ++p;
    if (iequals(std::string_view(s, static_cast<size_t>(p - s)), "no-transform")) {
      return true;
    }
    // The rest of the directive: its value, where a quoted-string may hold
    // commas and the word no-transform without meaning either.
    while (p < end && *p != ',') {
      if (*p == '"') {
        ++p;
        while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
        if (p < end) ++p;
      } else {
        ++p;
      }
    }
  }
  return false;
}

CompressionDecision decide_compression(const ResponseFacts& f, Coding accepted,
                                       const CompressionPolicy& policy) {
  CompressionDecision d;
  if (!policy.enabled) return d;
  if (f.status < 200 || f.status == 204 || f.status == 206 || f.status == 304) return d;
  if (f.has_content_encoding) return d;
  if (!compressible_type(f.content_type, policy.types)) return d;
  if (f.body_size && *f.body_size < policy.min_size) return d;
  if (has_no_transform(f.cache_control)) return d;
  d.vary = true;
  if (f.head_request) return d;
  if (accepted == Coding::kGzip || (accepted == Coding::kBrotli && policy.brotli)) {
    d.coding = accepted;
  }
  return d;
}

Compressor::Compressor(Coding coding, int level) : coding_(coding), level_(level) {}

Compressor::~Compressor() { release(); }

Compressor::Compressor(Compressor&& o) noexcept
    : coding_(o.coding_),
      level_(o.level_),
      state_(o.state_),
      zs_(std::exchange(o.zs_, nullptr)),
      br_(std::exchange(o.br_, nullptr)) {}

Compressor& Compressor::operator=(Compressor&& o) noexcept {
  if (this != &o) {
    release();
    coding_ = o.coding_;
    level_ = o.level_;
    state_ = o.state_;
    zs_ = std::exchange(o.zs_, nullptr);
    br_ = std::exchange(o.br_, nullptr);
  }
  return *this;
}

void Compressor::release() {
  if (zs_ != nullptr) {
    deflateEnd(zs_);
    delete zs_;
    zs_ = nullptr;
  }
  if (br_ != nullptr) {
    BrotliEncoderDestroyInstance(br_);
    br_ = nullptr;
  }
}

void Compressor::reset() {
  state_ = State::kOpen;
  if (zs_ != nullptr && deflateReset(zs_) != Z_OK) release();
  // libbrotlienc 1.0 has no way to restart a stream in place.
  if (br_ != nullptr) {
    BrotliEncoderDestroyInstance(br_);
    br_ = nullptr;
  }
}

bool Compressor::ensure_gzip() {
  if (zs_ != nullptr) return true;
  auto* zs = new z_stream{};
  // windowBits 15 + 16: a gzip wrapper, which every client decodes (the
  // zlib wrapper that "deflate" names is read wrongly by some).
  if (deflateInit2(zs, std::clamp(level_, 1, 9), Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    delete zs;
    return false;
  }
  zs_ = zs;
  return true;
}

bool Compressor::ensure_brotli(size_t size_hint) {
  if (br_ != nullptr) return true;
  br_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
  if (br_ == nullptr) return false;
  const auto quality = static_cast<uint32_t>(
      std::clamp(level_, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY));
  BrotliEncoderSetParameter(br_, BROTLI_PARAM_QUALITY, quality);
  BrotliEncoderSetParameter(br_, BROTLI_PARAM_LGWIN, kBrotliWindowBits);
  if (size_hint > 0) {
    BrotliEncoderSetParameter(br_, BROTLI_PARAM_SIZE_HINT,
                              static_cast<uint32_t>(std::min<size_t>(size_hint, 1u << 30)));
  }
  return true;
}

// Runs deflate over `in` with `flush` until zlib has nothing more to say
// for it: all input taken and, for a flush, all output out. Output goes
// straight into `out`'s tail; the tail is sized from deflateBound so one
// round is the usual case.
bool Compressor::gzip_run(std::string_view in, std::string& out, int flush) {
  do {
    const size_t take = std::min(in.size(), kZlibSlice);
    const bool last = take == in.size();
    const int mode = last ? flush : Z_NO_FLUSH;
    zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_->avail_in = static_cast<uInt>(take);
    in.remove_prefix(take);
    for (;;) {
      const size_t room = std::clamp<size_t>(deflateBound(zs_, zs_->avail_in), 64, kZlibSlice);
      const size_t old = out.size();
      out.resize(old + room);
      zs_->next_out = reinterpret_cast<Bytef*>(out.data() + old);
      zs_->avail_out = static_cast<uInt>(room);
      const int rc = deflate(zs_, mode);
      out.resize(old + room - zs_->avail_out);
      if (rc == Z_STREAM_END) break;
      // Z_BUF_ERROR: nothing left to do (a flush with nothing pending).
      if (rc == Z_BUF_ERROR && mode != Z_FINISH) break;
      if (rc != Z_OK) return false;
      // Room left over means zlib took all input and, for a flush,
      // emitted everything; Z_FINISH goes on until Z_STREAM_END.
      if (zs_->avail_out != 0 && mode != Z_FINISH) break;
    }
  } while (!in.empty());
  return true;
}

// BrotliEncoderCompressStream with no output buffer of ours: the encoder
// keeps the output and BrotliEncoderTakeOutput hands it over without a
// copy inside the library, so `out` is appended to exactly once per piece.
bool Compressor::brotli_run(std::string_view in, std::string& out, int op_int) {
  const auto op = static_cast<BrotliEncoderOperation>(op_int);
  size_t avail_in = in.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
  for (;;) {
    size_t avail_out = 0;
    if (!BrotliEncoderCompressStream(br_, op, &avail_in, &next_in, &avail_out, nullptr,
                                     nullptr)) {
      return false;
    }
    size_t n = 0;
    const uint8_t* data = BrotliEncoderTakeOutput(br_, &n);
    out.append(reinterpret_cast<const char*>(data), n);
    if (op == BROTLI_OPERATION_FINISH) {
      if (BrotliEncoderIsFinished(br_)) return true;
    } else if (avail_in == 0 && !BrotliEncoderHasMoreOutput(br_)) {
      return true;
    }
  }
}

bool Compressor::write(std::string_view in, std::string& out, bool flush) {
  if (state_ != State::kOpen) return false;
  // An empty write only flushes what earlier unflushed writes left inside
  // the encoder; before any write there is nothing to flush.
  if (in.empty() && (!flush || (zs_ == nullptr && br_ == nullptr))) return true;
  bool ok = false;
  if (coding_ == Coding::kGzip) {
    ok = ensure_gzip() && gzip_run(in, out, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH);
  } else if (coding_ == Coding::kBrotli) {
    ok = ensure_brotli(0) &&
         brotli_run(in, out, flush ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS);
  }
  if (!ok) state_ = State::kFailed;
  return ok;
}

bool Compressor::finish(std::string& out) {
  if (state_ != State::kOpen) return false;
  bool ok = false;
  if (coding_ == Coding::kGzip) {
    ok = ensure_gzip() && gzip_run({}, out, Z_FINISH);
  } else if (coding_ == Coding::kBrotli) {
    ok = ensure_brotli(0) && brotli_run({}, out, BROTLI_OPERATION_FINISH);
  }
  state_ = ok ? State::kFinished : State::kFailed;
  return ok;
}

bool Compressor::compress(std::string_view in, std::string& out) {
  reset();
  if (coding_ == Coding::kBrotli && !ensure_brotli(in.size())) {
    state_ = State::kFailed;
    return false;
  }
  if (coding_ == Coding::kGzip) {
    // One reservation from zlib's bound instead of growth in rounds.
    if (!ensure_gzip()) {
      state_ = State::kFailed;
      return false;
    }
    out.reserve(out.size() + deflateBound(zs_, static_cast<uLong>(std::min(in.size(), kZlibSlice))));
  }
  return write(in, out, false) && finish(out);
}

bool compress(Coding coding, int level, std::string_view in, std::string& out) {
  Compressor c(coding, level);
  return c.compress(in, out);
}

}  // namespace ringshard::http
