// json/json.cc: the parser is iterative (an explicit stack of open
// containers), so max_depth bounds memory, never the C++ call stack, whatever
// limit a caller picks. Every byte is looked at a bounded number of times:
// strings are validated and decoded in one pass, numbers are checked against
// the RFC 8259 grammar and then converted by std::from_chars over exactly the
// bytes that were checked (from_chars alone would accept "inf", "nan" and
// "1." among others).
#include "json/json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace ringshard::json {

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::number(double d) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = d;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}

Value Value::array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}

Value Value::object(std::vector<std::pair<std::string, Value>> members) {
  Value v;
  v.type_ = Type::kObject;
  v.members_ = std::move(members);
  return v;
}

const Value* Value::find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& member : members_) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Integral doubles below 2^53 are exactly the integers a double holds
// without gaps, so printing them through int64_t loses nothing and reads
// "3" rather than to_chars's equally exact but surprising forms ("1e+21" is
// what it prints for 10^21, which is why larger values stay with to_chars).
constexpr double kTwo53 = 9007199254740992.0;

void dump_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == 0 && std::signbit(d)) {
    out += "-0";  // keeps the sign a parser gave us (RFC 8259 allows "-0")
    return;
  }
  // Longest shortest-round-trip double: "-2.2250738585072014e-308", 24 bytes.
  char buf[32];
  std::to_chars_result r;
  if (std::fabs(d) < kTwo53 && d == std::trunc(d)) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, d);
  }
  out.append(buf, r.ptr);
}

}  // namespace

void Value::dump_to(std::string& out) const {
  switch (type_) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      return;
    case Type::kNumber:
      dump_number(out, number_);
      return;
    case Type::kString:
      append_string(out, string_);
      return;
    case Type::kArray:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i != 0) out += ',';
        items_[i].dump_to(out);
      }
      out += ']';
      return;
    case Type::kObject:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i != 0) out += ',';
        append_string(out, members_[i].first);
        out += ':';
        members_[i].second.dump_to(out);
      }
      out += '}';
      return;
  }
}

std::string Value::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

void append_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  // Copies runs of bytes that need no escape in one append each.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

namespace {

// The messages ParseError can carry (json.h lists them with their offsets).
constexpr std::string_view kTooLarge = "input exceeds max_bytes";
constexpr std::string_view kTooDeep = "nesting exceeds max_depth";
constexpr std::string_view kStringTooLong = "string exceeds max_string_bytes";
constexpr std::string_view kTooManyItems = "array or object exceeds max_items";
constexpr std::string_view kEnd = "unexpected end of input";
constexpr std::string_view kUnexpected = "unexpected character";
constexpr std::string_view kTrailing = "unexpected character after the value";
constexpr std::string_view kExpectArraySep = "expected ',' or ']'";
constexpr std::string_view kExpectObjectSep = "expected ',' or '}'";
constexpr std::string_view kExpectKey = "expected a string key";
constexpr std::string_view kExpectColon = "expected ':'";
constexpr std::string_view kLeadingZero = "leading zero in number";
constexpr std::string_view kExpectDigit = "expected a digit";
constexpr std::string_view kOutOfRange = "number out of range";
constexpr std::string_view kControl = "control character in string";
constexpr std::string_view kBadEscape = "invalid escape in string";
constexpr std::string_view kBadHex = "invalid hex digit in \\u escape";
constexpr std::string_view kLoneSurrogate = "lone surrogate in \\u escape";
constexpr std::string_view kBadUtf8 = "invalid UTF-8 in string";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bytes a string copies as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlainStringByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the well-formed UTF-8 sequence at p (p < end, *p >= 0x80), or 0.
// Unicode 15 table 3-7: no overlong forms, no surrogates, nothing above
// U+10FFFF.
size_t utf8_sequence(const char* p, const char* end) {
  const auto b0 = static_cast<unsigned char>(p[0]);
  size_t n;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;  // bounds of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0, C1 or F5..FF
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  const auto b1 = static_cast<unsigned char>(p[1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// An array or object that has been opened and not yet closed.
struct Frame {
  bool object = false;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;
};

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()),
        limits_(limits) {}

  std::optional<Value> run();
  const ParseError& error() const { return error_; }

 private:
  // Records the error; returns false so callers can `return fail(...)`.
  bool fail(const char* at, std::string_view message) {
    error_.offset = static_cast<size_t>(at - begin_);
    error_.message = message;
    return false;
  }
  // At p_: the end of input, or a byte that does not fit.
  bool fail_here(std::string_view message) {
    return fail(p_, p_ == end_ ? kEnd : message);
  }
  void skip_ws() {
    while (p_ != end_ && is_ws(*p_)) ++p_;
  }

  bool open_item(Frame& frame);
  bool parse_scalar(Value& out);
  bool parse_literal(std::string_view word, Value value, Value& out);
  bool parse_number(Value& out);
  bool parse_string(std::string& out);
  bool parse_escape(std::string& out);
  bool parse_hex4(uint32_t& cp);

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const ParseLimits& limits_;
  ParseError error_;
};

std::optional<Value> Parser::run() {
  if (static_cast<size_t>(end_ - begin_) > limits_.max_bytes) {
    fail(begin_ + limits_.max_bytes, kTooLarge);
    return std::nullopt;
  }
  std::vector<Frame> stack;
  Value value;
  for (;;) {
    // A value starts here (after whitespace).
    skip_ws();
    if (p_ == end_) {
      fail(p_, kEnd);
      return std::nullopt;
    }
    bool complete = true;
    if (*p_ == '[' || *p_ == '{') {
      if (stack.size() >= limits_.max_depth) {
        fail(p_, kTooDeep);
        return std::nullopt;
      }
      const char close = *p_ == '[' ? ']' : '}';
      stack.emplace_back().object = close == '}';
      ++p_;
      skip_ws();
      if (p_ != end_ && *p_ == close) {
        ++p_;
        value = close == '}' ? Value::object({}) : Value::array({});
        stack.pop_back();
      } else {
        if (!open_item(stack.back())) return std::nullopt;
        complete = false;
      }
    } else if (!parse_scalar(value)) {
      return std::nullopt;
    }

    // `value` is complete: hand it to the innermost open container, then
    // either start that container's next item or close it, which completes
    // another value one level up.
    while (complete) {
      if (stack.empty()) {
        skip_ws();
        if (p_ != end_) {
          fail(p_, kTrailing);
          return std::nullopt;
        }
        return value;
      }
      Frame& top = stack.back();
      if (top.object) {
        top.members.back().second = std::move(value);
      } else {
        top.items.push_back(std::move(value));
      }
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        skip_ws();
        if (!open_item(top)) return std::nullopt;
        complete = false;
      } else if (p_ != end_ && *p_ == (top.object ? '}' : ']')) {
        ++p_;
        value = top.object ? Value::object(std::move(top.members))
                           : Value::array(std::move(top.items));
        stack.pop_back();
      } else {
        fail_here(top.object ? kExpectObjectSep : kExpectArraySep);
        return std::nullopt;
      }
    }
  }
}

// At the first byte of a container's next item (whitespace skipped): checks
// max_items, and for an object reads the key and the ':' so that what
// follows is the member's value.
bool Parser::open_item(Frame& frame) {
  const size_t count = frame.object ? frame.members.size() : frame.items.size();
  if (count >= limits_.max_items) return fail(p_, kTooManyItems);
  if (!frame.object) return true;
  if (p_ == end_ || *p_ != '"') return fail_here(kExpectKey);
  std::string& key = frame.members.emplace_back().first;
  if (!parse_string(key)) return false;
  skip_ws();
  if (p_ == end_ || *p_ != ':') return fail_here(kExpectColon);
  ++p_;
  return true;
}

bool Parser::parse_scalar(Value& out) {
  switch (*p_) {
    case '"': {
      std::string s;
      if (!parse_string(s)) return false;
      out = Value::string(std::move(s));
      return true;
    }
    case 't':
      return parse_literal("true", Value::boolean(true), out);
    case 'f':
      return parse_literal("false", Value::boolean(false), out);
    case 'n':
      return parse_literal("null", Value(), out);
    default:
      if (*p_ == '-' || is_digit(*p_)) return parse_number(out);
      return fail(p_, kUnexpected);
  }
}

bool Parser::parse_literal(std::string_view word, Value value, Value& out) {
  for (char c : word) {
    if (p_ == end_ || *p_ != c) return fail_here(kUnexpected);
    ++p_;
  }
  out = std::move(value);
  return true;
}

// number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
bool Parser::parse_number(Value& out) {
  const char* const start = p_;
  const bool negative = *p_ == '-';
  if (negative) ++p_;
  const char* const int_begin = p_;
  if (p_ == end_ || !is_digit(*p_)) return fail(p_, kExpectDigit);
  if (*p_ == '0') {
    ++p_;
    if (p_ != end_ && is_digit(*p_)) return fail(p_, kLeadingZero);
  } else {
    while (p_ != end_ && is_digit(*p_)) ++p_;
  }
  const char* const int_end = p_;
  if (p_ != end_ && *p_ == '.') {
    ++p_;
    if (p_ == end_ || !is_digit(*p_)) return fail(p_, kExpectDigit);
    while (p_ != end_ && is_digit(*p_)) ++p_;
  }
  // The exponent's value, saturated: only its sign and rough size matter
  // (below, to tell overflow from underflow).
  int64_t exponent = 0;
  if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    bool exp_negative = false;
    if (p_ != end_ && (*p_ == '+' || *p_ == '-')) exp_negative = *p_++ == '-';
    if (p_ == end_ || !is_digit(*p_)) return fail(p_, kExpectDigit);
    while (p_ != end_ && is_digit(*p_)) {
      if (exponent < (int64_t{1} << 40)) exponent = exponent * 10 + (*p_ - '0');
      ++p_;
    }
    if (exp_negative) exponent = -exponent;
  }

  double d = 0;
  const auto r = std::from_chars(start, p_, d);
  if (r.ec == std::errc::result_out_of_range) {
    // Too large for a double, or so small that it rounds to zero. With k
    // the position of the first significant digit relative to the decimal
    // point (k digits before it, or -k zeros after it), the magnitude lies
    // in [10^(k+e-1), 10^(k+e)): at least 1 means it overflowed.
    int64_t k;
    if (*int_begin != '0') {
      k = int_end - int_begin;
    } else if (int_end != p_ && *int_end == '.') {
      const char* q = int_end + 1;
      while (q != p_ && *q == '0') ++q;
      k = -(q - (int_end + 1));
    } else {
      k = 0;  // "0" with an exponent is 0, which from_chars never refuses
    }
    if (k + exponent > 0) return fail(start, kOutOfRange);
    d = negative ? -0.0 : 0.0;  // underflow rounds to zero, as strtod does
  } else if (r.ec != std::errc() || r.ptr != p_) {
    return fail(start, kUnexpected);  // the grammar above admits only numbers
  }
  out = Value::number(d);
  return true;
}

// At the opening '"'; decodes into `out` (which starts empty).
bool Parser::parse_string(std::string& out) {
  const char* const open = p_;
  ++p_;
  const char* run = p_;  // bytes copied as they are, not yet appended
  for (;;) {
    while (p_ != end_ && kPlainStringByte[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_) return fail(p_, kEnd);
    const auto c = static_cast<unsigned char>(*p_);
    if (c >= 0x80) {
      const size_t n = utf8_sequence(p_, end_);
      if (n == 0) return fail(p_, kBadUtf8);
      p_ += n;
      continue;
    }
    if (c < 0x20) return fail(p_, kControl);
    if (out.size() + static_cast<size_t>(p_ - run) > limits_.max_string_bytes) {
      return fail(open, kStringTooLong);
    }
    out.append(run, p_);
    if (c == '"') {
      ++p_;
      return true;
    }
    if (!parse_escape(out)) return false;
    if (out.size() > limits_.max_string_bytes) return fail(open, kStringTooLong);
    run = p_;
  }
}

// At a '\\' inside a string; appends what the escape stands for.
bool Parser::parse_escape(std::string& out) {
  const char* const backslash = p_;
  ++p_;
  if (p_ == end_) return fail(p_, kEnd);
  char simple = 0;
  switch (*p_) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default: return fail(p_, kBadEscape);
  }
  ++p_;
  if (simple != 0) {
    out += simple;
    return true;
  }
  uint32_t cp;
  if (!parse_hex4(cp)) return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(backslash, kLoneSurrogate);
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate counts only with a low one in the next escape.
    if (p_ == end_ || (*p_ == '\\' && end_ - p_ < 2)) return fail(end_, kEnd);
    if (*p_ != '\\' || p_[1] != 'u') return fail(backslash, kLoneSurrogate);
    p_ += 2;
    uint32_t low;
    if (!parse_hex4(low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) return fail(backslash, kLoneSurrogate);
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  append_utf8(out, cp);
  return true;
}

bool Parser::parse_hex4(uint32_t& cp) {
  cp = 0;
  for (int i = 0; i < 4; ++i) {
    if (p_ == end_) return fail(p_, kEnd);
    const int h = hex_value(*p_);
    if (h < 0) return fail(p_, kBadHex);
    cp = cp << 4 | static_cast<uint32_t>(h);
    ++p_;
  }
  return true;
}

}  // namespace

std::optional<Value> parse(std::string_view text, ParseError* error,
                           const ParseLimits& limits) {
  Parser parser(text, limits);
  std::optional<Value> v = parser.run();
  if (!v && error != nullptr) *error = parser.error();
  return v;
}

}  // namespace ringshard::json
