// tests/obs/promtool.h: run `promtool check metrics` (Debian's prometheus
// package) over an exposition, for tests that want Prometheus's own parser
// and linter to judge our output.
#pragma once

#include <string>

namespace ringshard::obs {

inline constexpr char kPromtool[] = "/usr/bin/promtool";

struct PromtoolResult {
  int exit_status = -1;  // 0: parsed and lint-clean
  std::string output;    // stdout and stderr: parse errors and lint findings
};

bool promtool_available();
// Writes text to a temporary file and runs `promtool check metrics < file`.
PromtoolResult run_promtool_check(const std::string& text);

}  // namespace ringshard::obs
