// http/chunked.cc: the chunked transfer-coding decoder.
//
// Size lines and trailer lines are handled whole: the decoder looks for the
// line's LF and, if it is not there yet, leaves the line unconsumed for the
// caller to present again (see chunked.h). Lines are short and bounded by the
// limits, so re-reading a partial line costs little and saves keeping a line
// buffer in every decoder. Chunk data never waits: whatever part of a chunk
// is present goes to the sink at once.
#include "http/chunked.h"

#include <cstring>

#include "http/chars.h"

namespace ringshard::http {
namespace {

using namespace chars;

// Parses a chunk-size line without its CRLF. Returns an empty reason on
// success.
std::string_view parse_size_line(const char* p, const char* end,
                                 uint64_t& size) {
  if (p == end || hex_value(*p) < 0) return "invalid chunk size";
  uint64_t v = 0;
  for (; p < end; ++p) {
    int h = hex_value(*p);
    if (h < 0) break;
    if (v >> 60) return "chunk size overflow";
    v = (v << 4) | static_cast<uint64_t>(h);
  }
  size = v;
  // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
  // RFC 9112 allows BWS here, but strict parsers (llhttp in strict mode)
  // refuse any whitespace in the size line, and a proxy in front of us
  // may not read it the way we do: refusing it leaves no room for a
  // request-smuggling disagreement.
  while (p < end) {
    if (is_ows(*p)) return "whitespace in chunk size line";
    if (*p != ';') return "invalid character in chunk size line";
    ++p;
    const char* name = p;
    while (p < end && is_tchar(*p)) ++p;
    if (p == name) return "invalid chunk extension";
    if (p == end || *p != '=') continue;
    ++p;
    if (p < end && *p == '"') {
      ++p;
      for (;;) {
        if (p == end) return "unterminated quoted string in chunk extension";
        if (*p == '"') break;
        if (*p == '\\') {
          ++p;
          if (p == end || !is_value(*p)) return "invalid chunk extension";
        } else if (!is_value(*p)) {
          return "invalid character in chunk extension";
        }
        ++p;
      }
      ++p;
    } else {
      const char* value = p;
      while (p < end && is_tchar(*p)) ++p;
      if (p == value) return "invalid chunk extension";
    }
  }
  return {};
}

// Validates one trailer field line without its CRLF.
std::string_view check_trailer_line(const char* p, const char* end) {
  if (is_ows(*p)) return "obs-fold or whitespace at trailer line start";
  const char* name = p;
  while (p < end && is_tchar(*p)) ++p;
  if (p == end) return "trailer line without colon";
  if (*p != ':') {
    if (p != name && is_ows(*p)) return "whitespace before colon in trailer";
    return "invalid character in trailer name";
  }
  if (p == name) return "empty trailer name";
  p = skip_value(p + 1, end);
  if (p != end) {
    return *p == '\r' ? "bare CR in trailer" : "invalid character in trailer";
  }
  return {};
}

}  // namespace

ChunkedResult ChunkedDecoder::fail(size_t at, uint16_t status,
                                   std::string_view reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = reason;
  return {ChunkedStatus::kError, at, status, reason};
}

ChunkedResult ChunkedDecoder::step(std::string_view in,
                                   void (*emit)(void*, std::string_view),
                                   void* ctx) {
  const char* d = in.data();
  const size_t n = in.size();
  size_t pos = 0;
  while (pos < n) {
    switch (state_) {
      case State::kSize: {
        // Look for the LF only where a line within the limit can have it:
        // without the bound, 64 MiB with no LF would all be scanned (again
        // on every call) before the answer that its first max_chunk_line
        // bytes already give.
        const size_t avail = n - pos;
        const size_t window =
            avail < limits_.max_chunk_line ? avail : limits_.max_chunk_line;
        const void* hit = std::memchr(d + pos, '\n', window);
        if (hit == nullptr) {
          // The finished line will be at least one byte longer than this.
          if (avail >= limits_.max_chunk_line) {
            return fail(pos, 400, "chunk size line too long");
          }
          return {ChunkedStatus::kNeedMore, pos};
        }
        const char* lf = static_cast<const char*>(hit);
        const size_t line_len = static_cast<size_t>(lf - (d + pos)) + 1;
        if (line_len < 2 || lf[-1] != '\r') {
          return fail(pos, 400, "bare LF in chunk size line");
        }
        uint64_t size = 0;
        std::string_view bad = parse_size_line(d + pos, lf - 1, size);
        if (!bad.empty()) return fail(pos, 400, bad);
        if (size == 0) {
          pos += line_len;
          state_ = State::kTrailer;
          break;
        }
        if (size > limits_.max_body - body_bytes_) {
          return fail(pos, 413, "chunked body too large");
        }
        pos += line_len;
        remaining_ = size;
        state_ = State::kData;
        break;
      }
      case State::kData: {
        size_t avail = n - pos;
        size_t take = remaining_ < avail ? static_cast<size_t>(remaining_) : avail;
        emit(ctx, std::string_view(d + pos, take));
        pos += take;
        body_bytes_ += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (d[pos] != '\r') return fail(pos, 400, "missing CRLF after chunk data");
        ++pos;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (d[pos] != '\n') return fail(pos, 400, "bare CR after chunk data");
        ++pos;
        state_ = State::kSize;
        break;
      case State::kTrailer: {
        // As for size lines: only the bytes the trailer section may still
        // use are searched (trailer_bytes_ never exceeds the limit).
        const size_t avail = n - pos;
        const size_t room = limits_.max_trailer_bytes - trailer_bytes_;
        const void* hit = std::memchr(d + pos, '\n', avail < room ? avail : room);
        if (hit == nullptr) {
          if (avail >= room) return fail(pos, 400, "trailer section too large");
          return {ChunkedStatus::kNeedMore, pos};
        }
        const char* lf = static_cast<const char*>(hit);
        const size_t line_len = static_cast<size_t>(lf - (d + pos)) + 1;
        trailer_bytes_ += line_len;
        if (line_len < 2 || lf[-1] != '\r') {
          return fail(pos, 400, "bare LF in trailer section");
        }
        if (line_len == 2) {
          state_ = State::kDone;
          return {ChunkedStatus::kDone, pos + 2};
        }
        std::string_view bad = check_trailer_line(d + pos, lf - 1);
        if (!bad.empty()) return fail(pos, 400, bad);
        pos += line_len;
        break;
      }
      case State::kDone:
        return {ChunkedStatus::kDone, 0};
      case State::kError:
        return {ChunkedStatus::kError, 0, error_status_, error_reason_};
    }
  }
  if (state_ == State::kDone) return {ChunkedStatus::kDone, 0};
  if (state_ == State::kError) {
    return {ChunkedStatus::kError, 0, error_status_, error_reason_};
  }
  return {ChunkedStatus::kNeedMore, pos};
}

}  // namespace ringshard::http
