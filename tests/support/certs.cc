#include "tests/support/certs.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

namespace ringshard::test {

TestCertificate make_certificate(const std::string& dir, const std::string& stem,
                                 const std::string& cn, const std::vector<std::string>& dns,
                                 bool rsa) {
  std::filesystem::create_directories(dir);
  TestCertificate c{dir + "/" + stem + ".pem", dir + "/" + stem + "-key.pem"};
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  const std::string key = rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
  const std::string cmd = "openssl req -x509 -nodes -days 30 " + key + " -keyout '" + c.key +
                          "' -out '" + c.cert + "' -subj '/CN=" + cn + "'" +
                          (san.empty() ? "" : " -addext 'subjectAltName=" + san + "'") +
                          " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "openssl failed: " << cmd;
  return c;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = testing::TempDir() + prefix + "XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  return pattern;
}

void remove_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace ringshard::test
