// http/response_parser.h: the HTTP/1.1 response-head parser (RFC 9112), pure
// and bounded. For the load generator, the HTTP client and the reverse proxy.
//
// Contract: bytes in; kComplete (with how many bytes the head used), kPartial
// (need more bytes; nothing to keep but the bytes themselves), or kError
// (error_status 502, the answer a proxy gives for a broken upstream, and a
// static reason). No allocation, no I/O. The ParsedResponse it fills holds
// views into `data`, valid as long as those bytes are; its fields are
// meaningful only after kComplete.
//
//   ResponseParser parser;
//   ParsedResponse res;                      // ~8 KiB: keep it, do not copy it
//   ParseResult r = parser.parse(buf, res, /*head_request=*/false);
//   if (r.status == ParseStatus::kComplete) {
//     buf.remove_prefix(r.consumed);         // the body (if any) starts here
//     switch (res.body_kind) { ... }
//   }
//
// Incremental use: call parse() again with the same bytes plus more appended.
// The parser remembers how far it scanned for the end of the head, so a head
// fed one byte at a time costs O(n). This state is kept only across kPartial
// results: after kComplete or kError the parser is back at its initial state.
// Call reset() whenever the bytes presented will not start with the ones
// presented before (the parser also starts over by itself when given fewer
// bytes than last time). Pipelined responses: parse, drop `consumed` bytes
// plus the body, parse again.
//
// Grammar accepted:
//   HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF
//   *( field-name ":" OWS field-value OWS CRLF ) CRLF
// HTTP-version is exactly "HTTP/1.1" or "HTTP/1.0". The status code is three
// digits, 100-999. The reason phrase is *( HTAB / SP / VCHAR / obs-text ),
// kept as sent. One leniency: the SP after the status code may be left out
// when the reason is ("HTTP/1.1 200\r\n"), as strict llhttp allows; nothing
// about framing depends on it. No empty lines may precede the status line.
//
// Strictness (each is kError): input that does not start with "HTTP/" (seen
// from the first byte on), bare CR, bare LF where CRLF is required, NUL, DEL
// and other control characters (HTAB is allowed in field values and the
// reason), bytes >= 0x80 outside field values and the reason, obs-fold,
// whitespace between field name and colon, invalid token characters,
// Content-Length that is empty, signed, list-valued, not all digits, does
// not fit in 64 bits or is sent more than once (even with the same value),
// Content-Length together with Transfer-Encoding, Transfer-Encoding in an
// HTTP/1.0 response, Transfer-Encoding that is empty, malformed, does not
// end in "chunked" or lists chunked twice. These hold for every response,
// also those that cannot have a body: a peer that frames ambiguously is not
// trusted with the next response on the connection either. Other codings
// before chunked ("gzip, chunked") are accepted: the framing is still
// chunked, and `transfer_coded` tells the caller the body is encoded.
//
// Limits: head larger than max_head_bytes -> kError as soon as more than that
// many bytes are buffered without a complete head; more than max_headers
// header fields -> kError.
//
// Framing (RFC 9112 section 6.3), in body_kind:
//   kNone           response to HEAD (parse's head_request), 1xx, 204, 304:
//                   the head is the whole response, whatever the headers say.
//                   A 1xx other than 101 is interim: the final response
//                   follows on the same connection. After 101 the connection
//                   speaks another protocol (see `upgrade`).
//   kChunked        Transfer-Encoding ends in chunked: use ChunkedDecoder.
//   kContentLength  exactly content_length bytes follow.
//   kUntilClose     neither header: the body runs until the peer closes;
//                   keep_alive is then false.
// A 2xx answer to CONNECT (a tunnel) is not recognised: callers that send
// CONNECT handle that answer themselves.
//
// Thread: any; a parser object belongs to one connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/parser.h"
#include "http/request.h"

namespace ringshard::http {

struct ResponseParserLimits {
  size_t max_head_bytes = 64 * 1024;
  size_t max_headers = 100;  // <= kMaxHeadersCeiling (larger is clamped)
};

// BodyKind's three kinds, same values, plus the close-delimited body that
// only responses have.
enum class ResponseBodyKind : uint8_t {
  kNone = static_cast<uint8_t>(BodyKind::kNone),
  kContentLength = static_cast<uint8_t>(BodyKind::kContentLength),
  kChunked = static_cast<uint8_t>(BodyKind::kChunked),
  kUntilClose,
};

// True when a response with this status (to a HEAD request or not) never has
// a body: RFC 9112 section 6.3 rule 1.
constexpr bool response_has_no_body(uint16_t status, bool head_request) {
  return head_request || status < 200 || status == 204 || status == 304;
}

// The parsed form of one response head. Views point into the bytes given to
// parse(); filling it never allocates (headers live in a fixed array).
struct ParsedResponse {
  uint8_t version_minor = 1;     // HTTP/1.<minor>; only 0 and 1 are accepted
  uint16_t status = 0;           // 100-999
  std::string_view reason;       // reason phrase as sent, may be empty
  bool keep_alive = true;        // Connection header + version rules; false
                                 // for kUntilClose
  bool upgrade = false;          // Connection: upgrade present (101)
  bool transfer_coded = false;   // codings other than chunked before it
  ResponseBodyKind body_kind = ResponseBodyKind::kNone;
  uint64_t content_length = 0;   // the Content-Length value if the header is
                                 // present (for HEAD and 304 it announces a
                                 // length but frames nothing), else 0
  size_t header_count = 0;
  std::array<Header, kMaxHeadersCeiling> headers;

  // Case-insensitive lookup of the first header with this name; empty view
  // (data() == nullptr) if absent.
  std::string_view header(std::string_view name) const;
};

class ResponseParser {
 public:
  explicit ResponseParser(const ResponseParserLimits& limits = {})
      : limits_(limits) {}

  // head_request: the request this answers was HEAD (no body follows,
  // whatever the headers say). Only looked at when the head completes.
  ParseResult parse(std::string_view data, ParsedResponse& out,
                    bool head_request = false);
  void reset() { scanned_ = 0; }
  const ResponseParserLimits& limits() const { return limits_; }

 private:
  ParseResult parse_head(const char* data, size_t end, ParsedResponse& out,
                         bool head_request) const;

  ResponseParserLimits limits_;
  size_t scanned_ = 0;  // bytes already searched for the end of the head
};

}  // namespace ringshard::http
