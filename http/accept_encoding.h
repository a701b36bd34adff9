// http/accept_encoding.h: reads a request's Accept-Encoding (RFC 9110
// section 12.5.3) and picks the content coding of the response among the
// ones the server has: br (when enabled) and gzip.
//
//   Coding c = choose_encoding(req_accept_encoding, config.brotli);
//
// Grammar: #( codings [ OWS ";" OWS "q=" qvalue ] ), codings = token
// ("identity" and "*" included), qvalue = 0[.ddd] / 1[.000]. Names and
// the "q" are case-insensitive; "x-gzip" means gzip (RFC 9110 8.4.1.3).
// OWS around "=" is tolerated. Robustness: an element that does not fit
// the grammar (not a token, a parameter other than q, a bad or repeated
// q, stray bytes) is ignored on its own; the rest of the list still
// counts. When a coding is listed more than once the first well-formed
// element wins.
//
// Choice: a coding's weight is its own q if listed, else the q of "*" if
// that is listed, else 0 (not acceptable); q=0 is "not acceptable". The
// highest weight above 0 wins; at equal weight br beats gzip. identity
// wins instead only when it is listed (by name or through "*") with a
// weight strictly above the best coding's: a client that lists only
// "gzip;q=0.5" still gets gzip. When nothing we have is acceptable the
// answer is identity, even if identity was refused too: RFC 9110 lets a
// server send an unacceptable response rather than 406, and every common
// server does.
// An empty value means "no coding wanted" (RFC 9110); pass an empty view
// for a missing field as well: the RFC would allow any coding then, but
// clients that want compression say so, and intermediaries that strip the
// header expect identity.
//
// Work: one pass over the bytes, no allocation, no state; any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringshard::http {

enum class Coding : uint8_t { kIdentity, kGzip, kBrotli };

// Weights in thousandths (q=0.5 -> 500), -1 when not listed.
struct AcceptEncoding {
  int16_t gzip = -1;
  int16_t br = -1;
  int16_t identity = -1;
  int16_t star = -1;
};

AcceptEncoding parse_accept_encoding(std::string_view value);

Coding choose_encoding(const AcceptEncoding& accepted, bool brotli_enabled);
Coding choose_encoding(std::string_view accept_encoding, bool brotli_enabled);

// "gzip", "br", or "identity" (the Content-Encoding token; a response with
// identity carries no Content-Encoding at all).
std::string_view coding_name(Coding c);

}  // namespace ringshard::http
