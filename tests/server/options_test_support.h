// tests/server/options_test_support.h: what the options tests share:
// parse() runs parse_options() on a command line (the binary's name
// added), and TempFile writes a config file into the test's temporary
// directory and removes it at scope exit.
//
// Test code only; header-only (inline), one test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/options.h"

namespace ringshard::server {

inline std::variant<ParsedOptions, OptionsError> parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"ringshard"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return parse_options(static_cast<int>(argv.size() - 1), argv.data());
}

class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    std::string pattern = testing::TempDir() + "ringshard_options_XXXXXX";
    int fd = mkstemp(pattern.data());
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = pattern;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ringshard::server
