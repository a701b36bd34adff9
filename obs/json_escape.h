// obs/json_escape.h: string escaping for the log writers (access log, server
// log). Output is valid UTF-8 whatever bytes come in (paths and user agents
// are attacker-chosen), and in JSON style a valid JSON string body:
//
//   - JSON style: '"' and '\' are backslash-escaped; \b \f \n \r \t use
//     their short forms; every other byte below 0x20, and DEL (0x7F),
//     becomes \u00XX. Each byte that is not part of a well-formed UTF-8
//     sequence (overlong, surrogate, truncated, stray continuation,
//     0xF5..0xFF) becomes \ufffd, the replacement character: the line stays
//     parseable by strict JSON readers, and a reader can still see that
//     something was there.
//   - Text style (one event per line in the text server log): the same,
//     except that '"' and '\' are left alone and an ill-formed byte becomes
//     the raw U+FFFD character.
//   - Well-formed UTF-8 sequences are copied as they are.
//
//   std::string line = "{\"path\":";
//   append_json_string(line, path);  // quoted and escaped
//
// limit: the most bytes to append; output stops at a character boundary
// before it would pass the limit (so it never ends inside an escape or a
// UTF-8 sequence), and the call returns false. json_escaped_max(n) bounds
// the output of n input bytes.
//
// Out is any type with append(const char*, size_t) and push_back(char)
// (std::string, or a fixed buffer). Allocates only what Out allocates.
// Pure, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "obs/utf8.h"

namespace ringshard::obs {

enum class EscapeStyle { kJson, kText };

constexpr size_t json_escaped_max(size_t n) { return 6 * n; }

template <typename Out>
bool append_escaped(Out& out, std::string_view in, EscapeStyle style = EscapeStyle::kJson,
                    size_t limit = SIZE_MAX) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool json = style == EscapeStyle::kJson;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t run = 0;       // start of the pending run of bytes copied as they are
  size_t produced = 0;  // bytes appended so far, the pending run excluded
  size_t i = 0;
  auto flush_run = [&](size_t end) {
    if (end > run) out.append(in.data() + run, end - run);
    produced += end - run;
  };
  auto emit = [&](const char* s, size_t len) {
    flush_run(i);
    if (produced + len > limit) return false;
    out.append(s, len);
    produced += len;
    return true;
  };
  while (i < n) {
    const unsigned char c = p[i];
    const bool plain = c >= 0x20 && c < 0x7F && ((c != '"' && c != '\\') || !json);
    size_t len = plain ? 1 : c >= 0x80 ? utf8_sequence_len(p + i, n - i) : 0;
    if (len != 0) {  // copied as it is, as part of the run
      if (produced + (i - run) + len > limit) {
        flush_run(i);
        return false;
      }
      i += len;
      continue;
    }
    bool fit;
    if (c >= 0x80) {
      fit = json ? emit("\\ufffd", 6) : emit(kUtf8Replacement, 3);
    } else {
      switch (c) {
        case '"': fit = emit("\\\"", 2); break;
        case '\\': fit = emit("\\\\", 2); break;
        case '\b': fit = emit("\\b", 2); break;
        case '\f': fit = emit("\\f", 2); break;
        case '\n': fit = emit("\\n", 2); break;
        case '\r': fit = emit("\\r", 2); break;
        case '\t': fit = emit("\\t", 2); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          fit = emit(esc, 6);
        }
      }
    }
    if (!fit) return false;
    run = ++i;
  }
  flush_run(n);
  return true;
}

template <typename Out>
void append_json_escaped(Out& out, std::string_view in) {
  append_escaped(out, in, EscapeStyle::kJson);
}

template <typename Out>
void append_json_string(Out& out, std::string_view in) {
  out.push_back('"');
  append_escaped(out, in, EscapeStyle::kJson);
  out.push_back('"');
}

}  // namespace ringshard::obs
