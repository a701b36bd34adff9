// ws/utf8.cc: a table-driven DFA over byte classes, with an ASCII fast path.
//
// Each byte maps to one of 12 classes; the DFA's 9 states remember how many
// continuation bytes are still due and, right after the lead bytes E0, ED,
// F0 and F4, the narrower range the next byte must fall in. Those narrow
// ranges are where overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF)
// and code points above U+10FFFF (F4 90..BF) are refused, so every invalid
// byte is caught the moment it arrives: the state after it is kReject.
// C0, C1 and F5..FF can never start a character and reject at once.
#include "ws/utf8.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstring>

namespace ringshard::ws {
namespace {

enum Class : uint8_t {
  kAscii,     // 00..7F
  kCont80,    // 80..8F
  kCont90,    // 90..9F
  kContA0,    // A0..BF
  kBad,       // C0, C1, F5..FF
  kLead2,     // C2..DF
  kLeadE0,    // E0: second byte A0..BF (no overlongs)
  kLead3,     // E1..EC, EE, EF
  kLeadED,    // ED: second byte 80..9F (no surrogates)
  kLeadF0,    // F0: second byte 90..BF (no overlongs)
  kLead4,     // F1..F3
  kLeadF4,    // F4: second byte 80..8F (nothing past U+10FFFF)
};
constexpr size_t kClasses = kLeadF4 + 1;

enum State : uint8_t {
  kAccept = 0,
  kFail = Utf8Validator::kReject,
  kNeed1,     // one continuation byte due
  kNeed2,     // two due, any continuation
  kAfterE0,   // two due, the first A0..BF
  kAfterED,   // two due, the first 80..9F
  kNeed3,     // three due, any continuation
  kAfterF0,   // three due, the first 90..BF
  kAfterF4,   // three due, the first 80..8F
};
constexpr size_t kStates = kAfterF4 + 1;
static_assert(kAccept == 0, "complete() tests state_ == 0");

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> c{};
  for (int b = 0; b < 256; ++b) {
    uint8_t k;
    if (b < 0x80) k = kAscii;
    else if (b < 0x90) k = kCont80;
    else if (b < 0xA0) k = kCont90;
    else if (b < 0xC0) k = kContA0;
    else if (b < 0xC2) k = kBad;
    else if (b < 0xE0) k = kLead2;
    else if (b == 0xE0) k = kLeadE0;
    else if (b == 0xED) k = kLeadED;
    else if (b < 0xF0) k = kLead3;
    else if (b == 0xF0) k = kLeadF0;
    else if (b < 0xF4) k = kLead4;
    else if (b == 0xF4) k = kLeadF4;
    else k = kBad;
    c[b] = k;
  }
  return c;
}

constexpr std::array<uint8_t, kStates * kClasses> make_transitions() {
  std::array<uint8_t, kStates * kClasses> t{};
  for (auto& s : t) s = kFail;
  auto set = [&t](State from, Class c, State to) { t[size_t{from} * kClasses + c] = to; };
  set(kAccept, kAscii, kAccept);
  set(kAccept, kLead2, kNeed1);
  set(kAccept, kLeadE0, kAfterE0);
  set(kAccept, kLead3, kNeed2);
  set(kAccept, kLeadED, kAfterED);
  set(kAccept, kLeadF0, kAfterF0);
  set(kAccept, kLead4, kNeed3);
  set(kAccept, kLeadF4, kAfterF4);
  for (Class c : {kCont80, kCont90, kContA0}) {
    set(kNeed1, c, kAccept);
    set(kNeed2, c, kNeed1);
    set(kNeed3, c, kNeed2);
  }
  set(kAfterE0, kContA0, kNeed1);
  set(kAfterED, kCont80, kNeed1);
  set(kAfterED, kCont90, kNeed1);
  set(kAfterF0, kCont90, kNeed2);
  set(kAfterF0, kContA0, kNeed2);
  set(kAfterF4, kCont80, kNeed2);
  return t;
}

constexpr std::array<uint8_t, 256> kClassOf = make_classes();
constexpr std::array<uint8_t, kStates * kClasses> kNext = make_transitions();

constexpr uint64_t kHighBits = 0x8080808080808080ull;

}  // namespace

bool Utf8Validator::feed(std::string_view piece) {
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  const unsigned char* const end = p + piece.size();
  uint32_t s = state_;
  if (s == kReject) return false;
  while (p != end) {
    if (s == kAccept) {
      // Between characters: skip ASCII a word at a time. Two words per
      // round keep the loop branch cheap on long ASCII runs.
      while (end - p >= 16) {
        uint64_t a, b;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + 8, 8);
        if (((a | b) & kHighBits) != 0) break;
        p += 16;
      }
      if (end - p >= 8) {
        uint64_t a;
        std::memcpy(&a, p, 8);
        const uint64_t high = a & kHighBits;
        if (high == 0) {
          p += 8;
          continue;
        }
        // Skip the ASCII bytes before the first one with its top bit set
        // (little-endian: the lowest set bit is the earliest byte).
        if constexpr (std::endian::native == std::endian::little) {
          p += static_cast<unsigned>(__builtin_ctzll(high)) / 8;
        }
      }
      if (p == end) break;
    }
    // One character (or the rest of one) through the DFA; stops back at
    // a boundary, at a rejection, or at the end of the piece.
    do {
      s = kNext[s * kClasses + kClassOf[*p++]];
    } while (p != end && s > kFail);
    if (s == kReject) {
      state_ = kReject;
      return false;
    }
  }
  state_ = s;
  return true;
}

bool is_valid_utf8(std::string_view s) {
  Utf8Validator v;
  return v.feed(s) && v.complete();
}

}  // namespace ringshard::ws
