// tls/pinning.h: public-key pins for outbound TLS (ClientOptions::pins).
//
// A pin is the SHA-256 digest of a certificate's DER SubjectPublicKeyInfo,
// written "sha256/BASE64" (BASE64: the standard alphabet with padding, 44
// characters), as HPKP (RFC 7469) and curl's --pinnedpubkey write it; curl's
// "sha256//BASE64" is accepted too. A pinned client connection completes
// its handshake only when the leaf certificate's key matches one of the
// pins, after (and in addition to) the usual chain and name verification
// when ClientOptions::verify_peer is set. Only the leaf is compared, as
// curl does: pin the server's own key (and a backup key), not a CA's.
//
// To compute a server's pin:
//   std::string error;
//   std::string pin = tls::spki_pin_of_file("server.pem", error);  // "sha256/..."
// or with openssl:
//   openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der |
//     openssl dgst -sha256 -binary | base64
//
// Names no BoringSSL type: layers above tls/ may validate pins in their
// configuration with parse_pin(). Pure functions, any thread; parse_pin()
// and pin_text() allocate only the strings they return or fill in.
#pragma once

#include <string>
#include <string_view>

#include "tls/digest.h"

namespace ringshard::tls {

// Parses "sha256/BASE64" or "sha256//BASE64" into the 32-byte digest.
// False with `error` set (naming what is wrong, not echoing the input) for
// anything else: another hash, whitespace, a length other than 44, a
// character outside the alphabet, missing or misplaced padding, non-zero
// unused bits (a non-canonical encoding). Inputs past 64 bytes are refused
// before any other work.
bool parse_pin(std::string_view text, Sha256& digest, std::string& error);

// The canonical text of a pin: "sha256/" and 44 characters of base64.
std::string pin_text(const Sha256& digest);

// The pin of the first certificate in `pem` (PEM text; later ones, such as
// intermediates, are ignored). Empty with `error` set when there is no
// readable certificate.
std::string spki_pin_of_pem(std::string_view pem, std::string& error);
// The same for a PEM file; the error names the file.
std::string spki_pin_of_file(const std::string& path, std::string& error);

}  // namespace ringshard::tls
