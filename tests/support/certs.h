// tests/support/certs.h: certificates for TLS tests, made with Debian's
// `openssl` command (an independent implementation from the server's).
#pragma once

#include <string>
#include <vector>

namespace ringshard::test {

struct TestCertificate {
  std::string cert;  // PEM file path
  std::string key;
};

// A self-signed certificate for `cn` with DNS names `dns` in `dir` (created),
// files <dir>/<stem>.pem and <dir>/<stem>-key.pem. `rsa`: RSA 2048 instead
// of ECDSA P-256. Fails the test (ADD_FAILURE) if openssl does.
TestCertificate make_certificate(const std::string& dir, const std::string& stem,
                                 const std::string& cn, const std::vector<std::string>& dns,
                                 bool rsa = false);

// A fresh directory under the test temp dir.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& dir);

}  // namespace ringshard::test
