// server/options_toml_guard.cc: the walk over TOML text that finds the
// characters toml++ 3.3.0 must not see (why: options_toml_guard.h).
#include "server/options_toml_guard.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace ringshard::server::options_detail {
namespace {

// The length of the well-formed UTF-8 sequence at `s[i]` (lead byte
// 0xC0..0xF7 and its continuation bytes), or 0. Deliberately loose (overlong
// forms and surrogates count) so that nothing toml++ could decode slips by.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto lead = static_cast<unsigned char>(s[i]);
  size_t length = lead >= 0xF0 && lead <= 0xF7   ? 4
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC0 && lead <= 0xDF ? 2
                                                 : 0;
  if (length == 0 || i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

std::string describe_code_point(std::string_view sequence) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(sequence[k])); };
  uint32_t cp = sequence.size() == 2   ? ((b(0) & 0x1F) << 6) | (b(1) & 0x3F)
                : sequence.size() == 3 ? ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F)
                                       : ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) |
                                             ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  uint32_t min = sequence.size() == 2 ? 0x80 : sequence.size() == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "invalid UTF-8";
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return std::string("character ") + buf;
}

}  // namespace

GuardedText guard_toml(std::string_view in) {
  enum class Mode { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  enum class Expect { kKey, kAfterKey, kValue, kBareValue, kAfterValue };
  enum class Nest { kArray, kTable };

  GuardedText out;
  out.text.reserve(in.size());
  std::vector<Nest> nesting;
  Mode mode = Mode::kCode;
  Expect expect = Expect::kKey;
  bool after_backslash = false;  // multi-line basic: next character is risky
  bool skipping = false;         // multi-line basic: after a line-ending backslash
  uint32_t line = 1;
  uint32_t column = 0;

  size_t i = 0;
  if (in.substr(0, 3) == "\xEF\xBB\xBF") {  // toml++ skips a BOM, uncounted
    out.text += in.substr(0, 3);
    i = 3;
  }
  // Copies the character at `i` (a risky one as '\x01'); returns its length.
  auto copy = [&](bool risky, bool in_string) {
    size_t length = 1;
    if (static_cast<unsigned char>(in[i]) >= 0x80) {
      size_t sequence = utf8_sequence_length(in, i);
      if (risky && sequence != 0) {
        if (!out.hit) {
          std::string what = describe_code_point(in.substr(i, sequence));
          out.hit = GuardHit{
              line, column,
              in_string ? what + " after a backslash in a multi-line string "
                                 "is not supported"
                        : "unexpected " + what + " outside a string or comment"};
        }
        out.text += '\x01';
        return sequence;
      }
    }
    out.text += in[i];
    return length;
  };
  auto quote_run = [&](char q) {
    size_t n = 0;
    while (i + n < in.size() && in[i + n] == q) ++n;
    return n;
  };
  auto end_bare_value = [&] {
    if (expect == Expect::kBareValue) expect = Expect::kAfterValue;
  };

  while (i < in.size()) {
    char c = in[i];
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++column;
    switch (mode) {
      case Mode::kComment:
        if (c == '\n') {
          mode = Mode::kCode;
          continue;  // the newline again, as code
        }
        i += copy(false, false);
        continue;
      case Mode::kBasic:
      case Mode::kLiteral:
        if (c == '\n') {
          mode = Mode::kCode;
          continue;
        }
        if (mode == Mode::kBasic && c == '\\' && i + 1 < in.size() && in[i + 1] != '\n') {
          out.text += c;
          ++i;
          ++column;
          i += copy(false, false);
          continue;
        }
        if (c == (mode == Mode::kBasic ? '"' : '\'')) mode = Mode::kCode;
        i += copy(false, false);
        continue;
      case Mode::kMultiLiteral:
      case Mode::kMultiBasic: {
        const char q = mode == Mode::kMultiBasic ? '"' : '\'';
        if (mode == Mode::kMultiBasic && after_backslash) {
          after_backslash = false;
          skipping = c == ' ' || c == '\t' || c == '\r' || c == '\n';
          i += copy(true, true);
        } else if (c == q) {
          size_t n = quote_run(q);
          if (n >= 3) {
            n = std::min<size_t>(n, 5);
            mode = Mode::kCode;
          }
          out.text.append(n, q);
          i += n;
          column += static_cast<uint32_t>(n - 1);
          skipping = false;
        } else if (mode == Mode::kMultiBasic && c == '\\') {
          after_backslash = true;
          skipping = false;
          i += copy(false, false);
        } else if (skipping && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          skipping = false;
          i += copy(true, true);
        } else {
          i += copy(false, false);
        }
        if (c == '\n') {
          ++line;
          column = 0;
        }
        continue;
      }
      case Mode::kCode:
        break;
    }

    // Outside strings and comments: every character is risky.
    switch (c) {
      case ' ':
      case '\t':
        end_bare_value();
        break;
      case '\n':
      case '\r':
        end_bare_value();
        if (nesting.empty()) {
          expect = Expect::kKey;
        } else if (nesting.back() == Nest::kTable) {
          expect = Expect::kAfterValue;  // inline tables are one line
        }
        break;
      case '#':
        end_bare_value();
        mode = Mode::kComment;
        break;
      case '"':
      case '\'':
        if (expect == Expect::kKey || expect == Expect::kValue) {
          size_t n = quote_run(c);
          bool multi = n >= 3;
          mode = c == '"' ? (multi ? Mode::kMultiBasic : Mode::kBasic)
                          : (multi ? Mode::kMultiLiteral : Mode::kLiteral);
          expect = expect == Expect::kKey ? Expect::kAfterKey : Expect::kAfterValue;
          after_backslash = false;
          skipping = false;
          size_t opening = multi ? 3 : 1;
          out.text.append(opening, c);
          i += opening;
          column += static_cast<uint32_t>(opening - 1);
          continue;
        }
        if (expect != Expect::kBareValue) expect = Expect::kAfterValue;
        break;
      case '=':
        if (expect == Expect::kKey || expect == Expect::kAfterKey) {
          expect = Expect::kValue;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '.':
        if (expect == Expect::kAfterKey) {
          expect = Expect::kKey;
        } else if (expect == Expect::kValue) {
          expect = Expect::kBareValue;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '[':
        if (expect == Expect::kValue) {
          nesting.push_back(Nest::kArray);
        } else if (expect == Expect::kKey && nesting.empty()) {
          // a table header: a key follows
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case '{':
        if (expect == Expect::kValue) {
          nesting.push_back(Nest::kTable);
          expect = Expect::kKey;
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
        break;
      case ']':
      case '}':
        end_bare_value();
        if (!nesting.empty() &&
            nesting.back() == (c == ']' ? Nest::kArray : Nest::kTable)) {
          nesting.pop_back();
        }
        expect = Expect::kAfterValue;
        break;
      case ',':
        end_bare_value();
        if (nesting.empty()) {
          expect = Expect::kAfterValue;
        } else {
          expect = nesting.back() == Nest::kArray ? Expect::kValue : Expect::kKey;
        }
        break;
      default: {
        bool bare_key_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (expect == Expect::kValue) {
          expect = Expect::kBareValue;
        } else if (expect == Expect::kKey && bare_key_char) {
          expect = Expect::kAfterKey;
        } else if (expect == Expect::kAfterKey && bare_key_char) {
          // still the same bare key
        } else if (expect != Expect::kBareValue) {
          expect = Expect::kAfterValue;
        }
      }
    }
    i += copy(true, false);
    if (c == '\n') {
      ++line;
      column = 0;
    }
  }
  return out;
}

}  // namespace ringshard::server::options_detail
