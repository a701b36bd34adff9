// tls/boringssl.h: the BoringSSL headers, for tls/*.cc only (only tls/
// includes BoringSSL: docs/architecture.md), and the hooks the contexts
// install.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/is_boringssl.h>
#include <openssl/ssl.h>

#include <string>

#include "tls/digest.h"

namespace ringshard::tls {

// SSL_CTX info callback: records alerts sent and received on the Session.
void session_info_callback(const SSL* ssl, int type, int value);

// The SHA-256 of `cert`'s DER SubjectPublicKeyInfo (the key a pin names,
// tls/pinning.h). False when it has none.
bool spki_sha256(X509* cert, Sha256& digest);

// The first error on BoringSSL's queue, in words; clears the queue.
std::string take_ssl_error();

}  // namespace ringshard::tls
