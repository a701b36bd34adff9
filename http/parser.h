// http/parser.h: the HTTP/1.1 request-head parser (RFC 9112), pure and bounded.
//
// Contract: bytes in; kComplete (with how many bytes the head used), kPartial
// (need more bytes; nothing to keep but the bytes themselves), or kError
// (with the status to answer and a reason). No allocation, no I/O. The
// Request it fills holds views into `data` (see request.h for how long they
// live); its fields are meaningful only after kComplete (other results may
// leave some of them overwritten).
//
// Incremental use: call parse() again with the same bytes plus more appended
// (the caller keeps the unparsed bytes contiguous). The parser remembers how
// far it already scanned for the end of the head, so feeding a head one byte
// at a time costs O(n) scanning, not O(n^2). This state is kept only across
// kPartial results: after kComplete or kError the parser is back at its
// initial state, so parsing the same bytes again gives the same answer. Call
// reset() before parsing the next request (pipelining), or whenever the bytes
// presented will not start with the ones presented before.
//
// Grammar accepted:
//   *( CRLF ) method SP request-target SP HTTP-version CRLF
//   *( field-name ":" OWS field-value OWS CRLF ) CRLF
// Empty lines before the request line are skipped; they count in `consumed`
// and in max_head_bytes. method is a token; known ones map to Method, any
// other token is Method::kUnknown (not an error: the driver answers 501).
// request-target is 1*(%x21-7E): origin-form ("/p?q", path stops at '?' or
// '#', query runs from '?' to '#'), absolute-form ("scheme://authority/p?q",
// path is the path component or the static string "/" when it is empty),
// authority-form ("host:port", CONNECT only; path is the whole target) and
// asterisk-form ("*", OPTIONS only).
//
// Request::host is the Host header's value, except for an absolute-form
// target: there RFC 9112 3.2.2 says the server uses the target's authority
// and ignores Host, so host is the authority's host [ ":" port ] (a
// "user@" prefix dropped) and the Host field stays only in `headers`. The
// Host rules below still hold as for any other target (required in
// HTTP/1.1, at most once, valid): a request that breaks them is refused
// whatever its target says. The authority must be a valid Host
// value too, with a non-empty host (400 otherwise); userinfo, if present,
// must be *( unreserved / pct-encoded / sub-delims / ":" ).
//
// Strictness (each is kError with status 400 unless noted): bare CR, bare LF
// where CRLF is required, NUL, DEL and other control characters (HTAB is
// allowed inside field values), bytes >= 0x80 anywhere but in field values,
// obs-fold, whitespace between field name and colon, invalid token
// characters, more or less than one SP between request-line parts, a version
// other than exactly "HTTP/1.1" or "HTTP/1.0" (a well-formed "HTTP/d.d" is
// 505, anything else 400), missing or repeated Host in HTTP/1.1 (repeated
// Host is refused in HTTP/1.0 too), a Host value that is not
// uri-host [ ":" port ] (RFC 9110 7.2 with RFC 3986's grammar: a reg-name,
// which covers IPv4, or an IPv6 / IPvFuture literal in brackets; port is
// *DIGIT; no userinfo, so no '@'; a port without a host is refused, an
// empty value is allowed), Content-Length that is empty, signed,
// list-valued, not all digits or does not fit in 64 bits, Content-Length
// sent more than once even with identical values (RFC 9110 allows identical
// duplicates; we refuse them so that no two hops can disagree), Content-Length
// together with Transfer-Encoding, Transfer-Encoding in an HTTP/1.0 request
// (RFC 9112 section 6.1: faulty framing), Transfer-Encoding that is empty,
// malformed, does not end in "chunked" or lists chunked twice. A well-formed
// coding list ending in chunked with other codings before it ("gzip,
// chunked") is 501: we implement no coding but chunked. An Expect value other
// than "100-continue" is 417 (100-continue in HTTP/1.0 is ignored, RFC 9110
// section 10.1.1).
//
// Limits: head larger than max_head_bytes -> 431 (as soon as more than that
// many bytes are buffered without a complete head), request-target longer
// than max_target_bytes -> 414 (as soon as the target being received is
// longer, before the head completes), more than max_headers header fields
// -> 431. Errors are reported in the order the bytes arrive: whatever way the
// same bytes are split into parse() calls, the error status is the same.
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
  size_t max_headers = 100;  // <= kMaxHeadersCeiling (larger is clamped)
};

enum class ParseStatus : uint8_t { kComplete, kPartial, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kPartial;
  size_t consumed = 0;         // bytes of the head (kComplete only)
  uint16_t error_status = 0;   // 400, 414, 417, 431, 501, 505 (kError only)
  std::string_view reason;     // static string naming the rule (kError only)
};

class RequestParser {
 public:
  explicit RequestParser(const ParserLimits& limits = {}) : limits_(limits) {}

  ParseResult parse(std::string_view data, Request& out);
  void reset() { *this = RequestParser(limits_); }
  const ParserLimits& limits() const { return limits_; }

 private:
  // Early 414 check on a request line that is still arriving.
  bool target_too_long_so_far(const char* data, size_t limit);
  ParseResult parse_head(const char* data, size_t end, Request& out) const;

  ParserLimits limits_;
  size_t scanned_ = 0;       // bytes already searched for the end of the head
  size_t start_ = 0;         // first byte of the request line (after CRLFs)
  size_t target_scan_ = 0;   // where the early 414 check left off
  size_t target_begin_ = 0;  // first byte of the request-target, once known
  bool in_line_ = false;     // start_ is known (leading CRLFs skipped)
  uint8_t target_phase_ = 0; // 0: before target, 1: in target, 2: checked
};

}  // namespace ringshard::http
