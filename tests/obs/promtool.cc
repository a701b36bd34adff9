#include "tests/obs/promtool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace ringshard::obs {

bool promtool_available() { return ::access(kPromtool, X_OK) == 0; }

PromtoolResult run_promtool_check(const std::string& text) {
  PromtoolResult result;
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/obs_promtool_XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    result.output = "mkstemp failed";
    return result;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  const std::string cmd = std::string(kPromtool) + " check metrics < '" + path + "' 2>&1";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) result.output.append(buf, n);
    const int status = ::pclose(p);
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ::unlink(path.c_str());
  return result;
}

}  // namespace ringshard::obs
