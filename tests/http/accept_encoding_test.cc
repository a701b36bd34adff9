// Tests for http/accept_encoding.h: the weights read from real and hostile
// Accept-Encoding values, and the coding chosen with brotli on and off.
#include "http/accept_encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::http {
namespace RS_UNITY_ID {

struct Case {
  std::string_view value;
  Coding with_br;     // brotli enabled
  Coding without_br;  // brotli disabled
};

constexpr Coding I = Coding::kIdentity;
constexpr Coding G = Coding::kGzip;
constexpr Coding B = Coding::kBrotli;

TEST(ChooseEncoding, Table) {
  const Case cases[] = {
      // What browsers and tools send.
      {"gzip, deflate, br", B, G},
      {"gzip, deflate, br, zstd", B, G},
      {"gzip, deflate", G, G},
      {"gzip", G, G},
      {"br", B, I},
      {"deflate", I, I},
      {"identity", I, I},
      {"", I, I},
      {"*", B, G},
      // Case, OWS, empty elements, x-gzip.
      {"GZIP", G, G},
      {"Br", B, I},
      {"x-gzip", G, G},
      {"  gzip  ,  br  ", B, G},
      {",,gzip,,", G, G},
      {"gzip ; q=0.5 , br ;q=0.4", G, G},
      {"gzip;Q=0.5", G, G},
      {"gzip;q = 0.5", G, G},
      // Weights decide; br wins ties.
      {"gzip;q=1.0, br;q=0.9", G, G},
      {"gzip;q=0.8, br;q=0.9", B, G},
      {"gzip;q=0.5, br;q=0.5", B, G},
      {"gzip;q=0.001", G, G},
      {"br;q=1.000, gzip", B, G},
      // q=0 refuses.
      {"gzip;q=0", I, I},
      {"gzip;q=0.000, br", B, I},
      {"br;q=0, gzip", G, G},
      {"*;q=0", I, I},
      {"*;q=0, gzip", G, G},
      // "*" covers what is not listed.
      {"*, gzip;q=0", B, I},
      {"*;q=0.5, gzip", G, G},
      {"br;q=0, *", G, G},
      // identity wins only with a strictly higher, listed weight.
      {"gzip;q=0.5", G, G},
      {"gzip;q=0.5, identity", I, I},
      {"gzip;q=0.5, identity;q=0.5", G, G},
      {"gzip;q=0.4, *;q=0.5", B, I},
      {"identity;q=0, gzip;q=0", I, I},
      {"identity;q=0", I, I},
      // Malformed elements are skipped, the rest counts.
      {"gzip;q=2, br", B, I},
      {"gzip;q=1.5", I, I},
      {"gzip;q=1.001", I, I},
      {"gzip;q=0.5555", I, I},
      {"gzip;q=-1", I, I},
      {"gzip;q=", I, I},
      {"gzip;q", I, I},
      {"gzip;level=9", I, I},
      {"gzip;q=0.5;q=0.1", I, I},
      {"gzip;q=\"0.5\"", I, I},
      {"\"gzip\", br", B, I},
      {"gzip br", I, I},
      {"gzip;;q=1", I, I},
      {"g\x01zip, gzip", G, G},
      {"gzip;q=0.5x, gzip", G, G},
      {"\xff\xfe, gzip", G, G},
      {";q=1, gzip", G, G},
      // First well-formed element for a coding wins.
      {"gzip;q=0, gzip", I, I},
      {"gzip;q=0.7, gzip;q=0", G, G},
      {"gzip;q=bad, gzip;q=0.3", G, G},
      // Names that only look like ours.
      {"gzipx, brotli, b", I, I},
      {"gzi", I, I},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(choose_encoding(c.value, true), c.with_br) << "'" << c.value << "' brotli on";
    EXPECT_EQ(choose_encoding(c.value, false), c.without_br) << "'" << c.value << "' brotli off";
  }
}

TEST(ParseAcceptEncoding, Weights) {
  AcceptEncoding a = parse_accept_encoding("gzip;q=0.25, br;q=1, identity;q=0.1, *;q=0");
  EXPECT_EQ(a.gzip, 250);
  EXPECT_EQ(a.br, 1000);
  EXPECT_EQ(a.identity, 100);
  EXPECT_EQ(a.star, 0);
  AcceptEncoding none = parse_accept_encoding("deflate");
  EXPECT_EQ(none.gzip, -1);
  EXPECT_EQ(none.br, -1);
  EXPECT_EQ(none.identity, -1);
  EXPECT_EQ(none.star, -1);
  EXPECT_EQ(parse_accept_encoding("gzip;q=0.").gzip, 0);
  EXPECT_EQ(parse_accept_encoding("gzip;q=1.").gzip, 1000);
  EXPECT_EQ(parse_accept_encoding("gzip;q=0.07").gzip, 70);
}

TEST(ParseAcceptEncoding, LongHostileValueIsLinear) {
  std::string v;
  for (int i = 0; i < 20000; ++i) v += "x;q=0.5;q=";
  v += ", gzip";
  EXPECT_EQ(choose_encoding(v, true), G);
  std::string commas(100000, ',');
  EXPECT_EQ(choose_encoding(commas + "br", true), B);
}

TEST(CodingName, Tokens) {
  EXPECT_EQ(coding_name(Coding::kGzip), "gzip");
  EXPECT_EQ(coding_name(Coding::kBrotli), "br");
  EXPECT_EQ(coding_name(Coding::kIdentity), "identity");
}

}  // namespace
}  // namespace ringshard::http
