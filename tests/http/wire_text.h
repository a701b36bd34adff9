// tests/http/wire_text.h: building raw HTTP bytes for the parser tests.
#pragma once

#include <string>
#include <string_view>

namespace ringshard::http::test {

// Readable test text to wire bytes: every "\n" becomes "\r\n". Cases about
// bare LF or CR spell their bytes out instead.
inline std::string H(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// A head of exactly `size` bytes: `start` (CRLF lines), then "X-n: vvv"
// fields of value_len bytes, the last one filling the rest, then the blank
// line.
inline std::string head_of_size(std::string start, size_t size, size_t value_len = 1000) {
  std::string head = std::move(start);
  size_t field = 0;
  while (true) {
    std::string prefix = "X-" + std::to_string(field++) + ": ";
    size_t room = size - head.size() - 2;  // keep the final CRLF
    size_t line = prefix.size() + 2;
    if (room < line + value_len + line + 1) {
      head += prefix + std::string(room - line, 'v') + "\r\n";
      break;
    }
    head += prefix + std::string(value_len, 'v') + "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace ringshard::http::test
