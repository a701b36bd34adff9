// tests/obs/temp_dir.h: a fresh directory under $TMPDIR (or /tmp), removed
// with its files when the test ends, and small file helpers.
#pragma once

#include <string>
#include <vector>

namespace ringshard::obs {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_whole_file(const std::string& path);
// The lines of text, without their '\n'; a last line without one is kept.
std::vector<std::string> split_lines(const std::string& text);

}  // namespace ringshard::obs
