// client/url.h: the URLs http_fetch takes, and the ones it refuses.
#include "client/url.h"

#include <gtest/gtest.h>

#include <string>

namespace ringshard::client {
namespace RS_UNITY_ID {

struct UrlCase {
  const char* text;
  bool tls;
  const char* host;
  uint16_t port;
  const char* target;
};

TEST(HttpUrl, SplitsWhatItAccepts) {
  const UrlCase cases[] = {
      {"http://example.com/", false, "example.com", 80, "/"},
      {"http://example.com", false, "example.com", 80, "/"},
      {"https://API.Example.com:8443/v1/items?limit=10", true, "api.example.com", 8443,
       "/v1/items?limit=10"},
      {"HTTPS://h?q=1", true, "h", 443, "/?q=1"},
      {"http://127.0.0.1:8080/x#frag", false, "127.0.0.1", 8080, "/x"},
      {"http://[::1]:9000/a", false, "::1", 9000, "/a"},
      {"http://[2001:db8::1]", false, "2001:db8::1", 80, "/"},
      {"http://a_b.c-d/p%20q?x=%41", false, "a_b.c-d", 80, "/p%20q?x=%41"},
  };
  for (const UrlCase& c : cases) {
    std::string error;
    auto u = parse_http_url(c.text, error);
    ASSERT_TRUE(u.has_value()) << c.text << ": " << error;
    EXPECT_EQ(u->tls, c.tls) << c.text;
    EXPECT_EQ(u->host, c.host) << c.text;
    EXPECT_EQ(u->port, c.port) << c.text;
    EXPECT_EQ(u->target, c.target) << c.text;
  }
}

TEST(HttpUrl, RefusesWithAReason) {
  for (const char* text :
       {"", "ftp://x/", "example.com/", "http://", "http:///x", "http://user:pw@h/",
        "http://h:0/", "http://h:65536/", "http://h:/", "http://h:8o/", "http://[::1/",
        "http://[::1]x/", "http://[fe80::1%25eth0]/", "http://[nope]/", "http://a b/",
        "http://h/a b", "http://h/\x7f", "http://h/\xc3\xa9", "http://h\x01/"}) {
    std::string error;
    EXPECT_FALSE(parse_http_url(text, error).has_value()) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  std::string error;
  EXPECT_FALSE(parse_http_url("http://h/" + std::string(kMaxUrlBytes, 'a'), error));
  EXPECT_NE(error.find("8 KiB"), std::string::npos);
}

}  // namespace RS_UNITY_ID
}  // namespace ringshard::client
