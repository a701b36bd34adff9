// http/parser.h: the HTTP/1.1 request-head parser (RFC 9112), pure and bounded.
//
// Contract: bytes in; kComplete (with how many bytes the head used), kPartial
// (need more bytes; nothing to keep but the bytes themselves), or kError
// (with the status to answer and a reason). No allocation, no I/O. The
// Request it fills holds views into `data`.
//
// Incremental use: call parse() again with the same bytes plus more appended
// (the caller keeps the unparsed bytes contiguous). The parser remembers how
// far it already scanned for the end of the head, so feeding a head one byte
// at a time costs O(n) scanning, not O(n^2). Call reset() before parsing the
// next request (pipelining).
//
// Strictness (each is kError with status 400 unless noted): bare CR, bare LF
// where CRLF is required, NUL and other control characters, obs-fold,
// whitespace between field name and colon, invalid token characters,
// Content-Length together with Transfer-Encoding, differing or list-valued or
// signed Content-Length, Transfer-Encoding that does not end in "chunked" or
// lists chunked twice, missing or repeated Host in HTTP/1.1, a version other
// than HTTP/1.0 or HTTP/1.1 (505). Unknown but well-formed methods parse
// successfully with Method::kUnknown (the driver answers 501). Limits: head
// larger than max_head_bytes -> 431, request-target longer than
// max_target_bytes -> 414, more than max_headers header fields -> 431.
//
// Thread: any; a parser object belongs to one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http/request.h"

namespace ringshard::http {

struct ParserLimits {
  size_t max_head_bytes = 16 * 1024;
  size_t max_target_bytes = 8 * 1024;
  size_t max_headers = 100;  // <= kMaxHeadersCeiling
};

enum class ParseStatus : uint8_t { kComplete, kPartial, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kPartial;
  size_t consumed = 0;         // bytes of the head (kComplete only)
  uint16_t error_status = 0;   // 400, 414, 431, 505 (kError only)
  std::string_view reason;     // static string naming the rule (kError only)
};

class RequestParser {
 public:
  explicit RequestParser(const ParserLimits& limits = {}) : limits_(limits) {}

  ParseResult parse(std::string_view data, Request& out);
  void reset() { scanned_ = 0; }
  const ParserLimits& limits() const { return limits_; }

 private:
  ParserLimits limits_;
  size_t scanned_ = 0;  // bytes already searched for the end of the head
};

}  // namespace ringshard::http
