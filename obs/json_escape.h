// obs/json_escape.h: JSON string escaping for the log writers (access log,
// server log). Output is always a valid JSON string of valid UTF-8, whatever
// bytes come in (paths and user agents are attacker-chosen):
//
//   - '"' and '\' are backslash-escaped; \b \f \n \r \t use their short
//     forms; every other byte below 0x20, and DEL (0x7F), becomes \u00XX.
//   - well-formed UTF-8 sequences are copied as they are.
//   - each byte that is not part of a well-formed UTF-8 sequence (overlong,
//     surrogate, truncated, stray continuation, 0xF5..0xFF) becomes \ufffd,
//     the replacement character: the line stays parseable by strict JSON
//     readers, and a reader can still see that something was there.
//
//   std::string line = "{\"path\":";
//   append_json_string(line, path);  // quoted and escaped
//
// Out is any type with append(const char*, size_t) and push_back(char)
// (std::string, or a fixed buffer). Allocates only what Out allocates.
// Pure, any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "obs/utf8.h"

namespace ringshard::obs {

template <typename Out>
void append_json_escaped(Out& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t run = 0;  // start of the pending run of bytes copied as they are
  size_t i = 0;
  auto flush_run = [&](size_t end) {
    if (end > run) out.append(in.data() + run, end - run);
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = utf8_sequence_len(p + i, n - i);
      if (len != 0) {
        i += len;
        continue;
      }
      flush_run(i);
      out.append("\\ufffd", 6);
      run = ++i;
      continue;
    }
    flush_run(i);
    switch (c) {
      case '"': out.append("\\\"", 2); break;
      case '\\': out.append("\\\\", 2); break;
      case '\b': out.append("\\b", 2); break;
      case '\f': out.append("\\f", 2); break;
      case '\n': out.append("\\n", 2); break;
      case '\r': out.append("\\r", 2); break;
      case '\t': out.append("\\t", 2); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, 6);
      }
    }
    run = ++i;
  }
  flush_run(n);
}

template <typename Out>
void append_json_string(Out& out, std::string_view in) {
  out.push_back('"');
  append_json_escaped(out, in);
  out.push_back('"');
}

// The most bytes append_json_escaped can produce for n input bytes.
constexpr size_t json_escaped_max(size_t n) { return 6 * n; }

}  // namespace ringshard::obs
