// Tests for ws/utf8.h: a table of valid and invalid sequences, most from
// Markus Kuhn's UTF-8 decoder stress test and Autobahn's case 6. Each case
// says where a byte-at-a-time feed must first fail (fail fast), and is fed
// whole, split in two at every point, and one byte at a time.
#include "ws/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringshard::ws {
namespace RS_UNITY_ID {

using namespace std::string_literals;

constexpr size_t kValid = SIZE_MAX;           // complete and valid
constexpr size_t kIncomplete = SIZE_MAX - 1;  // a valid prefix, cut mid-character

struct Case {
  std::string name;
  std::string bytes;
  size_t fail_at;  // index of the byte at which feed() first fails, or kValid/kIncomplete
};

std::vector<Case> cases() {
  const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // κόσμε
  return {
      // Valid text.
      {"empty", "", kValid},
      {"ascii", "Hello, world", kValid},
      {"greek kosme", kosme, kValid},
      {"U+0000", "\0"s, kValid},
      {"U+007F", "\x7f", kValid},
      {"U+0080 first 2-byte", "\xc2\x80", kValid},
      {"U+07FF last 2-byte", "\xdf\xbf", kValid},
      {"U+0800 first 3-byte", "\xe0\xa0\x80", kValid},
      {"U+D7FF last before surrogates", "\xed\x9f\xbf", kValid},
      {"U+E000 first after surrogates", "\xee\x80\x80", kValid},
      {"U+FFFD replacement", "\xef\xbf\xbd", kValid},
      {"U+FFFE noncharacter", "\xef\xbf\xbe", kValid},
      {"U+FFFF last 3-byte", "\xef\xbf\xbf", kValid},
      {"U+10000 first 4-byte", "\xf0\x90\x80\x80", kValid},
      {"U+10FFFF last code point", "\xf4\x8f\xbf\xbf", kValid},
      {"U+1F600 emoji", "\xf0\x9f\x98\x80", kValid},
      {"mixed widths", "a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d", kValid},
      {"ascii run then kosme", std::string(37, 'x') + kosme + std::string(20, 'y'),
       kValid},

      // Cut inside the last character.
      {"2-byte missing last", "\xc2", kIncomplete},
      {"U+07FF missing last", "\xdf", kIncomplete},
      {"3-byte missing last", "\xe0\xa0", kIncomplete},
      {"U+FFFF missing last", "\xef\xbf", kIncomplete},
      {"4-byte missing last", "\xf0\x90\x80", kIncomplete},
      {"U+10FFFF missing last", "\xf4\x8f\xbf", kIncomplete},
      {"4-byte missing two", "\xf1\x80", kIncomplete},
      {"text then lead byte", "hello\xe2", kIncomplete},

      // Code points above U+10FFFF and 5/6-byte forms.
      {"U+110000", "\xf4\x90\x80\x80", 1},
      {"F4 BF", "\xf4\xbf\xbf\xbf", 1},
      {"F5 lead", "\xf5\x80\x80\x80", 0},
      {"F7 lead", "\xf7\xbf\xbf\xbf", 0},
      {"5-byte U+200000", "\xf8\x88\x80\x80\x80", 0},
      {"6-byte U+4000000", "\xfc\x84\x80\x80\x80\x80", 0},
      {"5-byte max", "\xfb\xbf\xbf\xbf\xbf", 0},
      {"6-byte max", "\xfd\xbf\xbf\xbf\xbf\xbf", 0},
      {"fe", "\xfe", 0},
      {"ff", "\xff", 0},
      {"fe fe ff ff", "\xfe\xfe\xff\xff", 0},

      // Continuation bytes with no lead.
      {"lone 80", "\x80", 0},
      {"lone bf", "\xbf", 0},
      {"80 bf", "\x80\xbf", 0},
      {"ascii then 80", "a\x80", 1},
      {"2-byte then extra continuation", "\xc2\x80\x80", 2},
      {"4-byte then extra continuation", "\xf0\x90\x80\x80\xbf", 4},

      // Lead bytes followed by something other than a continuation.
      {"c2 space", "\xc2 ", 1},
      {"df space", "\xdf ", 1},
      {"e0 space", "\xe0 ", 1},
      {"ef space", "\xef ", 1},
      {"f0 space", "\xf0 ", 1},
      {"f4 space", "\xf4 ", 1},
      {"3-byte bad third", "\xe1\x80\x41", 2},
      {"4-byte bad fourth", "\xf1\x80\x80\x41", 3},
      {"two incomplete sequences", "\xe0\xa0\xc2\x80", 2},
      {"lead then lead", "\xc2\xc2", 1},

      // Overlong forms.
      {"overlong / 2-byte", "\xc0\xaf", 0},
      {"overlong / 3-byte", "\xe0\x80\xaf", 1},
      {"overlong / 4-byte", "\xf0\x80\x80\xaf", 1},
      {"overlong / 5-byte", "\xf8\x80\x80\x80\xaf", 0},
      {"overlong / 6-byte", "\xfc\x80\x80\x80\x80\xaf", 0},
      {"max overlong 2-byte U+007F", "\xc1\xbf", 0},
      {"max overlong 3-byte U+07FF", "\xe0\x9f\xbf", 1},
      {"max overlong 4-byte U+FFFF", "\xf0\x8f\xbf\xbf", 1},
      {"overlong NUL 2-byte", "\xc0\x80", 0},
      {"overlong NUL 3-byte", "\xe0\x80\x80", 1},
      {"overlong NUL 4-byte", "\xf0\x80\x80\x80", 1},

      // UTF-16 surrogates.
      {"U+D800", "\xed\xa0\x80", 1},
      {"U+DB7F", "\xed\xad\xbf", 1},
      {"U+DB80", "\xed\xae\x80", 1},
      {"U+DBFF", "\xed\xaf\xbf", 1},
      {"U+DC00", "\xed\xb0\x80", 1},
      {"U+DF80", "\xed\xbe\x80", 1},
      {"U+DFFF", "\xed\xbf\xbf", 1},
      {"surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1},

      // Autobahn 6.3 and 6.4: valid text, then a bad sequence mid-message.
      {"kosme, surrogate, edited", kosme + "\xed\xa0\x80" "edited", 12},
      {"kosme, U+110000, edited", kosme + "\xf4\x90\x80\x80" "edited", 12},
      {"kosme, 5-byte, edited", kosme + "\xf8\x88\x80\x80\x80" "edited", 11},
      {"ascii run then bad byte", std::string(40, 'a') + "\x80" "zzz", 40},
      {"ascii run then C0", std::string(17, 'a') + "\xc0\x80", 17},
      {"after ascii run and emoji", std::string(9, 'a') + "\xf0\x9f\x98\x80\xff", 13},
  };
}

bool whole_is_valid(const Case& c) { return c.fail_at == kValid; }

TEST(Utf8Table, WholeStringCheck) {
  for (const Case& c : cases()) {
    EXPECT_EQ(is_valid_utf8(c.bytes), whole_is_valid(c)) << c.name;
  }
}

TEST(Utf8Table, OneByteAtATimeFailsAtTheFirstBadByte) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Utf8Validator v;
    size_t failed_at = kValid;
    for (size_t i = 0; i < c.bytes.size(); ++i) {
      if (!v.feed(std::string_view(c.bytes).substr(i, 1))) {
        failed_at = i;
        break;
      }
    }
    if (failed_at == kValid && !v.complete()) failed_at = kIncomplete;
    EXPECT_EQ(failed_at, c.fail_at);
    EXPECT_EQ(v.failed(), c.fail_at < kIncomplete);
  }
}

TEST(Utf8Table, SplitAtEveryPointAgreesAndFailsInThePieceWithTheBadByte) {
  for (const Case& c : cases()) {
    for (size_t cut = 0; cut <= c.bytes.size(); ++cut) {
      SCOPED_TRACE(c.name + ", split at " + std::to_string(cut));
      const std::string_view all(c.bytes);
      Utf8Validator v;
      const bool first = v.feed(all.substr(0, cut));
      const bool second = first && v.feed(all.substr(cut));
      if (c.fail_at < kIncomplete) {
        // The first piece fails exactly when it holds the bad byte.
        EXPECT_EQ(first, cut <= c.fail_at);
        EXPECT_FALSE(second);
        EXPECT_TRUE(v.failed());
        EXPECT_FALSE(v.complete());
      } else {
        EXPECT_TRUE(first);
        EXPECT_TRUE(second);
        EXPECT_FALSE(v.failed());
        EXPECT_EQ(v.complete(), c.fail_at == kValid);
      }
    }
  }
}

TEST(Utf8Validator, StaysFailedUntilReset) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed("\xff"));
  EXPECT_FALSE(v.feed("abc"));
  EXPECT_TRUE(v.failed());
  v.reset();
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed("abc"));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8Validator, EmptyPieceKeepsTheState) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("\xe2\x82"));
  EXPECT_TRUE(v.feed(""));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\xac"));
  EXPECT_TRUE(v.complete());
}

// The ASCII fast path skips words: a bad byte or a character at any offset
// inside and after long ASCII runs must be seen at its exact position.
TEST(Utf8Validator, BadByteAtEveryOffsetOfAnAsciiRunIsFound) {
  for (size_t at = 0; at < 70; ++at) {
    std::string s(80, 'q');
    s[at] = '\x80';
    Utf8Validator v;
    size_t failed_at = s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      if (!v.feed(std::string_view(s).substr(i, 1))) {
        failed_at = i;
        break;
      }
    }
    EXPECT_EQ(failed_at, at);
    EXPECT_FALSE(is_valid_utf8(s)) << at;
  }
}

TEST(Utf8Validator, CharacterAtEveryOffsetOfAnAsciiRunIsAccepted) {
  for (const std::string& ch :
       {"\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s}) {
    for (size_t at = 0; at < 40; ++at) {
      const std::string s = std::string(at, 'q') + ch + std::string(40, 'r') + ch;
      EXPECT_TRUE(is_valid_utf8(s)) << at;
      EXPECT_FALSE(is_valid_utf8(s.substr(0, s.size() - 1))) << at;
    }
  }
}

}  // namespace
}  // namespace ringshard::ws
