// tls/boringssl.h: the BoringSSL headers, for tls/*.cc only (only tls/
// includes BoringSSL: docs/architecture.md), and the hooks the contexts
// install.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/is_boringssl.h>
#include <openssl/ssl.h>

#include <string>

namespace ringshard::tls {

// SSL_CTX info callback: records alerts sent and received on the Session.
void session_info_callback(const SSL* ssl, int type, int value);

// The first error on BoringSSL's queue, in words; clears the queue.
std::string take_ssl_error();

}  // namespace ringshard::tls
