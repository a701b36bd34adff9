// client/proxy_env.h: proxy URLs, no_proxy matching (curl's rules) and
// reading the variables through a fake environment (the real one is never
// touched).
#include "client/proxy_env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ringshard::client {
namespace RS_UNITY_ID {

// A getenv over a map.
Getenv fake_env(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

// --- proxy URLs ---------------------------------------------------------------

TEST(ProxyUrl, ParsesHostPortAndDecodedCredentials) {
  std::string error;
  auto u = parse_proxy_url("http://alice:p%40ss%3Aword@Proxy.Example.COM:3128/", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "proxy.example.com");
  EXPECT_EQ(u->port, 3128);
  EXPECT_TRUE(u->has_credentials);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "p@ss:word");
  // RFC 7617: base64("alice:p@ss:word").
  EXPECT_EQ(u->basic_authorization(), "Basic YWxpY2U6cEBzczp3b3Jk");
  EXPECT_EQ(format_proxy_url(*u), "http://alice:p%40ss%3Aword@proxy.example.com:3128");
  EXPECT_EQ(format_proxy_url(*u, true), "http://alice:***@proxy.example.com:3128");
}

TEST(ProxyUrl, DefaultsLikeCurl) {
  std::string error;
  auto u = parse_proxy_url("proxy.local", error);  // no scheme: http, port 1080
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "proxy.local");
  EXPECT_EQ(u->port, 1080);
  EXPECT_FALSE(u->has_credentials);
  EXPECT_EQ(u->basic_authorization(), "");
  u = parse_proxy_url("HTTP://10.0.0.1:8080", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 8080);
}

TEST(ProxyUrl, Ipv6LiteralsAreBracketed) {
  std::string error;
  auto u = parse_proxy_url("http://[FD00::1]:3128", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "fd00::1");
  EXPECT_TRUE(u->ipv6());
  EXPECT_EQ(format_proxy_url(*u), "http://[fd00::1]:3128");
  u = parse_proxy_url("http://[::1]", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 1080);
}

TEST(ProxyUrl, RefusesWhatItDoesNotSupportSayingWhy) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& c : {
           Case{"https://proxy:443", "https:// proxies"},
           Case{"socks5://proxy:1080", "SOCKS"},
           Case{"socks5h://proxy", "SOCKS"},
           Case{"ftp://proxy", "http://"},
           Case{"http://proxy:0", "port"},
           Case{"http://proxy:65536", "port"},
           Case{"http://proxy:", "empty port"},
           Case{"http://proxy:80x", "port"},
           Case{"http://", "no host"},
           Case{"http://:3128", "no host"},
           Case{"http://pro xy:3128", "not a name"},
           Case{"http://a..b:3128", "not a name"},
           Case{"http://.a:3128", "not a name"},
           Case{"http://proxy/path", "no path"},
           Case{"http://proxy?x=1", "no path"},
           Case{"http://[::1:3128", "IPv6"},
           Case{"http://[nope]:3128", "IPv6"},
           Case{"http://[::1]x", "after"},
           Case{"http://u:%zz@proxy", "percent"},
           Case{"http://u:%4@proxy", "percent"},
           Case{"http://u:p w@proxy", "percent"},
           Case{"http://u\"@proxy", "percent"},
       }) {
    std::string error;
    EXPECT_FALSE(parse_proxy_url(c.url, error)) << c.url;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.url << " -> " << error;
  }
  std::string error;
  EXPECT_FALSE(parse_proxy_url("http://" + std::string(3000, 'a'), error));
  EXPECT_NE(error.find("2048"), std::string::npos) << error;
}

// --- no_proxy -------------------------------------------------------------------

TEST(NoProxy, StarMatchesEverything) {
  const NoProxy np = parse_no_proxy("*");
  EXPECT_TRUE(np.all);
  EXPECT_TRUE(bypass_proxy(np, "anything.example", 80));
  EXPECT_TRUE(bypass_proxy(parse_no_proxy("example.com, *"), "10.0.0.1", 80));
}

TEST(NoProxy, NamesMatchTheDomainAndItsSubdomainsOnly) {
  for (const char* list : {"example.com", ".example.com", "EXAMPLE.COM.", "other.org,example.com"}) {
    const NoProxy np = parse_no_proxy(list);
    EXPECT_TRUE(bypass_proxy(np, "example.com", 443)) << list;
    EXPECT_TRUE(bypass_proxy(np, "api.example.com", 443)) << list;
    EXPECT_TRUE(bypass_proxy(np, "a.b.Example.Com", 443)) << list;
    EXPECT_TRUE(bypass_proxy(np, "example.com.", 443)) << list;
    EXPECT_FALSE(bypass_proxy(np, "badexample.com", 443)) << list;
    EXPECT_FALSE(bypass_proxy(np, "example.com.evil", 443)) << list;
    EXPECT_FALSE(bypass_proxy(np, "com", 443)) << list;
  }
}

TEST(NoProxy, SeparatorsAreCommasAndWhitespace) {
  const NoProxy np = parse_no_proxy(" a.test ,b.test\tc.test,,\nd.test ");
  EXPECT_EQ(np.entries.size(), 4u);
  for (const char* h : {"a.test", "b.test", "c.test", "d.test"}) EXPECT_TRUE(bypass_proxy(np, h, 80)) << h;
  EXPECT_FALSE(bypass_proxy(np, "e.test", 80));
  EXPECT_FALSE(bypass_proxy(parse_no_proxy(""), "a.test", 80));
}

TEST(NoProxy, IpLiteralsAndCidrBlocks) {
  const NoProxy np = parse_no_proxy("127.0.0.1,10.0.0.0/8,::1,[fd00::5],fe80::/10,192.168.1.0/31");
  EXPECT_TRUE(bypass_proxy(np, "127.0.0.1", 80));
  EXPECT_FALSE(bypass_proxy(np, "127.0.0.2", 80));
  EXPECT_TRUE(bypass_proxy(np, "10.200.3.4", 80));
  EXPECT_FALSE(bypass_proxy(np, "11.0.0.1", 80));
  EXPECT_TRUE(bypass_proxy(np, "::1", 80));
  EXPECT_TRUE(bypass_proxy(np, "[::1]", 80));
  EXPECT_TRUE(bypass_proxy(np, "fd00::5", 80));
  EXPECT_TRUE(bypass_proxy(np, "fe80::1234", 80));
  EXPECT_FALSE(bypass_proxy(np, "fec0::1", 80));
  EXPECT_TRUE(bypass_proxy(np, "192.168.1.1", 80));
  EXPECT_FALSE(bypass_proxy(np, "192.168.1.2", 80));
  // Names and addresses never match each other: there is no lookup.
  EXPECT_FALSE(bypass_proxy(parse_no_proxy("localhost"), "127.0.0.1", 80));
  EXPECT_FALSE(bypass_proxy(parse_no_proxy("127.0.0.1"), "localhost", 80));
  EXPECT_FALSE(bypass_proxy(parse_no_proxy("0.1"), "10.0.0.1", 80)) << "not a domain suffix";
}

TEST(NoProxy, APortLimitsTheEntry) {
  const NoProxy np = parse_no_proxy("example.com:8080,10.0.0.1:443,[::1]:9000");
  EXPECT_TRUE(bypass_proxy(np, "api.example.com", 8080));
  EXPECT_FALSE(bypass_proxy(np, "api.example.com", 80));
  EXPECT_TRUE(bypass_proxy(np, "10.0.0.1", 443));
  EXPECT_FALSE(bypass_proxy(np, "10.0.0.1", 80));
  EXPECT_TRUE(bypass_proxy(np, "::1", 9000));
  EXPECT_FALSE(bypass_proxy(np, "::1", 9001));
}

TEST(NoProxy, MalformedEntriesAreIgnored) {
  const NoProxy np =
      parse_no_proxy("10.0.0.0/33,fd00::/129,a.test:0,a.test:99999,b.test:,[x]:80,bad_host!,[::1,"
                     "1.2.3.4/x,.,..a.test,b..test,c.test..,good.test");
  ASSERT_EQ(np.entries.size(), 1u);
  EXPECT_EQ(np.entries[0].name, "good.test");
}

// --- the environment -------------------------------------------------------------

TEST(ProxyEnv, ReadsLowercaseFirstThenUppercase) {
  ProxyEnv env;
  std::string error;
  ASSERT_TRUE(read_proxy_env(fake_env({{"https_proxy", "http://lower:1"},
                                       {"HTTPS_PROXY", "http://upper:2"},
                                       {"NO_PROXY", "internal.test"}}),
                             env, error))
      << error;
  ASSERT_TRUE(env.https);
  EXPECT_EQ(env.https->host, "lower");
  EXPECT_TRUE(bypass_proxy(env.no_proxy, "svc.internal.test", 443));
  ASSERT_TRUE(read_proxy_env(fake_env({{"https_proxy", ""}, {"HTTPS_PROXY", "http://upper:2"}}), env,
                             error));
  ASSERT_TRUE(env.https);
  EXPECT_EQ(env.https->host, "upper") << "an empty value counts as unset";
  EXPECT_FALSE(env.http);
}

TEST(ProxyEnv, UppercaseHttpProxyIsIgnoredAgainstHttpoxy) {
  ProxyEnv env;
  std::string error;
  ASSERT_TRUE(read_proxy_env(fake_env({{"HTTP_PROXY", "http://attacker:80"}}), env, error));
  EXPECT_FALSE(env.http);
  ASSERT_TRUE(read_proxy_env(fake_env({{"http_proxy", "http://proxy:3128"}}), env, error));
  ASSERT_TRUE(env.http);
  EXPECT_EQ(env.http->port, 3128);
}

TEST(ProxyEnv, AllProxyIsTheFallbackForBothSchemes) {
  ProxyEnv env;
  std::string error;
  ASSERT_TRUE(read_proxy_env(fake_env({{"ALL_PROXY", "http://all:1"}, {"http_proxy", "http://h:2"}}),
                             env, error));
  ASSERT_TRUE(env.http);
  EXPECT_EQ(env.http->host, "h");
  ASSERT_TRUE(env.https);
  EXPECT_EQ(env.https->host, "all");
}

TEST(ProxyEnv, AnUnusableProxyIsAnErrorNamingTheVariable) {
  ProxyEnv env;
  std::string error;
  EXPECT_FALSE(read_proxy_env(fake_env({{"HTTPS_PROXY", "https://proxy:443"}}), env, error));
  EXPECT_NE(error.find("HTTPS_PROXY"), std::string::npos) << error;
  EXPECT_NE(error.find("https:// proxies"), std::string::npos) << error;
}

TEST(ProxyEnv, NothingSetMeansDirect) {
  ProxyEnv env;
  std::string error;
  ASSERT_TRUE(read_proxy_env(fake_env({}), env, error));
  EXPECT_FALSE(env.http);
  EXPECT_FALSE(env.https);
  EXPECT_FALSE(env.no_proxy.all);
  EXPECT_TRUE(env.no_proxy.entries.empty());
}

}  // namespace
}  // namespace ringshard::client
