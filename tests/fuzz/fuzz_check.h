// tests/fuzz/fuzz_check.h: how a fuzz target reports a broken invariant.
// It prints "<target> invariant violated: <what>" and aborts, so libFuzzer
// keeps the input as a crash. Each target defines kFuzzTarget (its name in
// that message) before using FUZZ_CHECK or FUZZ_FAIL.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace ringshard::fuzz {

[[noreturn]] inline void violated(const char* target, const char* what) {
  std::fprintf(stderr, "%s invariant violated: %s\n", target, what);
  std::abort();
}

}  // namespace ringshard::fuzz

#define FUZZ_FAIL(what) ::ringshard::fuzz::violated(kFuzzTarget, what)

#define FUZZ_CHECK(cond)         \
  do {                           \
    if (!(cond)) FUZZ_FAIL(#cond); \
  } while (0)
