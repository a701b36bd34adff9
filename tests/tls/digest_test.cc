// Tests for tls/digest.h: SHA-256 against the FIPS 180-4 / NIST test
// vectors, and constant_time_equal's answers (its timing is BoringSSL's
// CRYPTO_memcmp; a unit test cannot measure it meaningfully).
#include "tls/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::tls {
namespace RS_UNITY_ID {

struct Vector {
  std::string input;
  const char* hex;
};

TEST(Digest, Sha256MatchesNistVectors) {
  const Vector cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
      {std::string("\0\0\0", 3),
       "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c"},
  };
  for (const Vector& v : cases) {
    EXPECT_EQ(sha256_hex(v.input), v.hex) << v.input.size() << " bytes";
  }
}

TEST(Digest, Sha256ArrayAgreesWithHex) {
  const Sha256 d = sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[31], 0xad);
}

TEST(Digest, ConstantTimeEqual) {
  const Sha256 a = sha256("secret");
  Sha256 b = a;
  EXPECT_TRUE(constant_time_equal(a.data(), b.data(), a.size()));
  for (size_t i : {size_t{0}, size_t{15}, size_t{31}}) {
    b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(constant_time_equal(a.data(), b.data(), a.size())) << i;
  }
  EXPECT_TRUE(constant_time_equal(a.data(), b.data(), 0));  // nothing to compare
  const uint8_t x[] = {1, 2, 3};
  const uint8_t y[] = {1, 2, 4};
  EXPECT_TRUE(constant_time_equal(x, y, 2));
  EXPECT_FALSE(constant_time_equal(x, y, 3));
}

}  // namespace
}  // namespace ringshard::tls
