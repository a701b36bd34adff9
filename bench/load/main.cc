// ringshard-load: an HTTP/1.1 load generator on the ringshard engine.
// See bench/load/load_options.h for the flags and load_run.h for the method.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <variant>

#include "bench/load/load_run.h"

int main(int argc, char** argv) {
  using namespace ringshard::load;
  signal(SIGPIPE, SIG_IGN);
  auto parsed = parse_load_options(argc, argv);
  if (auto* e = std::get_if<LoadOptionsError>(&parsed)) {
    if (e->message.empty()) {
      std::fputs(load_usage().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "ringshard-load: %s\n%s", e->message.c_str(), load_usage().c_str());
    return 64;
  }
  const LoadOptions& options = std::get<LoadOptions>(parsed);
  // One descriptor per connection (fan-out: 10,000 and more), and a few
  // for the rings and the process.
  const rlim_t need = options.connections + options.ws_publishers + 64;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < need) {
    nofile.rlim_cur = nofile.rlim_max == RLIM_INFINITY ? need : std::min(need, nofile.rlim_max);
    setrlimit(RLIMIT_NOFILE, &nofile);
    if (nofile.rlim_cur < need) {
      std::fprintf(stderr, "ringshard-load: %llu connections need RLIMIT_NOFILE %llu (hard limit %llu)\n",
                   static_cast<unsigned long long>(options.connections),
                   static_cast<unsigned long long>(need),
                   static_cast<unsigned long long>(nofile.rlim_max));
      return 69;
    }
  }
  const LoadResult result = run_load(options);
  if (!result.fatal.empty()) {
    std::fprintf(stderr, "ringshard-load: %s\n", result.fatal.c_str());
    return 69;
  }
  const std::string out = options.json ? format_json(options, result) : format_text(options, result);
  std::fputs(out.c_str(), stdout);
  return result.errors.total() > options.max_errors ? 1 : 0;
}
