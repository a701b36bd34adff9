// engine/socket_address.h: the shared host:port parser and IP-literal
// resolution, as tables of valid and invalid inputs.
#include "engine/socket_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <optional>
#include <string>

namespace ringshard::engine {
namespace RS_UNITY_ID {

struct ParseCase {
  std::string text;
  std::optional<HostPort> expect;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParseHostPortTest : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseHostPortTest, Parses) {
  EXPECT_EQ(parse_host_port(GetParam().text), GetParam().expect);
}

INSTANTIATE_TEST_SUITE_P(
    SocketAddress, ParseHostPortTest,
    testing::Values(
        ParseCase{"127.0.0.1:8080", HostPort{"127.0.0.1", 8080, HostKind::kIpv4}},
        ParseCase{"0.0.0.0:0", HostPort{"0.0.0.0", 0, HostKind::kIpv4}},
        ParseCase{"255.255.255.255:65535", HostPort{"255.255.255.255", 65535, HostKind::kIpv4}},
        ParseCase{"1.2.3.4:080", HostPort{"1.2.3.4", 80, HostKind::kIpv4}},
        ParseCase{":8080", HostPort{"0.0.0.0", 8080, HostKind::kAny}},
        ParseCase{"*:443", HostPort{"0.0.0.0", 443, HostKind::kAny}},
        ParseCase{"localhost:80", HostPort{"localhost", 80, HostKind::kLocalhost}},
        ParseCase{"LocalHost:80", HostPort{"localhost", 80, HostKind::kLocalhost}},
        ParseCase{"[::1]:8080", HostPort{"::1", 8080, HostKind::kIpv6}},
        ParseCase{"[::]:1", HostPort{"::", 1, HostKind::kIpv6}},
        ParseCase{"[2001:db8::a:B]:9", HostPort{"2001:db8::a:B", 9, HostKind::kIpv6}},
        ParseCase{"[::ffff:1.2.3.4]:9", HostPort{"::ffff:1.2.3.4", 9, HostKind::kIpv6}},
        ParseCase{"", std::nullopt},
        ParseCase{":", std::nullopt},
        ParseCase{"8080", std::nullopt},
        ParseCase{"1.2.3.4", std::nullopt},
        ParseCase{"1.2.3.4:", std::nullopt},
        ParseCase{"1.2.3.4:65536", std::nullopt},
        ParseCase{"1.2.3.4:99999999999999999999", std::nullopt},
        ParseCase{"1.2.3.4:-1", std::nullopt},
        ParseCase{"1.2.3.4:+1", std::nullopt},
        ParseCase{"1.2.3.4: 80", std::nullopt},
        ParseCase{"1.2.3.4:80 ", std::nullopt},
        ParseCase{" 1.2.3.4:80", std::nullopt},
        ParseCase{"1.2.3:80", std::nullopt},
        ParseCase{"1.2.3.4.5:80", std::nullopt},
        ParseCase{"256.1.1.1:80", std::nullopt},
        ParseCase{"01.2.3.4:80", std::nullopt},
        ParseCase{"1..3.4:80", std::nullopt},
        ParseCase{"1.2.3.4.:80", std::nullopt},
        ParseCase{"example.com:80", std::nullopt},
        ParseCase{"localhost.:80", std::nullopt},
        ParseCase{"::1:80", std::nullopt},
        ParseCase{"[::1]", std::nullopt},
        ParseCase{"[::1]:", std::nullopt},
        ParseCase{"[::1]x:80", std::nullopt},
        ParseCase{"[::1:80", std::nullopt},
        ParseCase{"::1]:80", std::nullopt},
        ParseCase{"[]:80", std::nullopt},
        ParseCase{"[1.2.3.4]:80", std::nullopt},
        ParseCase{"[localhost]:80", std::nullopt},
        ParseCase{"[fe80::1%eth0]:80", std::nullopt},
        ParseCase{"[::g]:80", std::nullopt},
        ParseCase{"[*]:80", std::nullopt},
        ParseCase{std::string("[::1\0]:80", 9), std::nullopt},
        ParseCase{std::string("1.2.3.4\0:80", 11), std::nullopt}));

// With a default port (a URL authority), ":PORT" may be left out.
class ParseHostDefaultPortTest : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseHostDefaultPortTest, Parses) {
  EXPECT_EQ(parse_host_port(GetParam().text, 443), GetParam().expect);
}

INSTANTIATE_TEST_SUITE_P(
    SocketAddress, ParseHostDefaultPortTest,
    testing::Values(
        ParseCase{"127.0.0.1", HostPort{"127.0.0.1", 443, HostKind::kIpv4}},
        ParseCase{"127.0.0.1:8443", HostPort{"127.0.0.1", 8443, HostKind::kIpv4}},
        ParseCase{"[::1]", HostPort{"::1", 443, HostKind::kIpv6}},
        ParseCase{"[::1]:9", HostPort{"::1", 9, HostKind::kIpv6}},
        ParseCase{"LOCALHOST", HostPort{"localhost", 443, HostKind::kLocalhost}},
        ParseCase{"", HostPort{"0.0.0.0", 443, HostKind::kAny}},
        ParseCase{"::1", std::nullopt},
        ParseCase{"[::1]:", std::nullopt},
        ParseCase{"127.0.0.1:", std::nullopt},
        ParseCase{"example.com", std::nullopt},
        ParseCase{"[::1", std::nullopt}));

struct ResolveCase {
  std::string host;
  int family;           // AF_UNSPEC: refused
  std::string literal;  // what inet_ntop gives back
};

void PrintTo(const ResolveCase& c, std::ostream* os) { *os << '"' << c.host << '"'; }

class ResolveLiteralTest : public testing::TestWithParam<ResolveCase> {};

TEST_P(ResolveLiteralTest, Resolves) {
  const ResolveCase& c = GetParam();
  std::optional<SocketAddress> a = resolve_literal(c.host, 8080);
  if (c.family == AF_UNSPEC) {
    EXPECT_FALSE(a.has_value());
    return;
  }
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->family(), c.family);
  char text[INET6_ADDRSTRLEN] = {};
  if (c.family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(a->address());
    EXPECT_EQ(a->length, sizeof(sockaddr_in));
    EXPECT_EQ(ntohs(v4->sin_port), 8080);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a->address());
    EXPECT_EQ(a->length, sizeof(sockaddr_in6));
    EXPECT_EQ(ntohs(v6->sin6_port), 8080);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  }
  EXPECT_EQ(text, c.literal);
}

INSTANTIATE_TEST_SUITE_P(
    SocketAddress, ResolveLiteralTest,
    testing::Values(ResolveCase{"127.0.0.1", AF_INET, "127.0.0.1"},
                    ResolveCase{"0.0.0.0", AF_INET, "0.0.0.0"},
                    ResolveCase{"", AF_INET, "0.0.0.0"},
                    ResolveCase{"*", AF_INET, "0.0.0.0"},
                    ResolveCase{"localhost", AF_INET, "127.0.0.1"},
                    ResolveCase{"LOCALHOST", AF_INET, "127.0.0.1"},
                    ResolveCase{"::1", AF_INET6, "::1"},
                    ResolveCase{"[::1]", AF_INET6, "::1"},
                    ResolveCase{"::", AF_INET6, "::"},
                    ResolveCase{"2001:DB8::1", AF_INET6, "2001:db8::1"},
                    ResolveCase{"::ffff:1.2.3.4", AF_INET6, "::ffff:1.2.3.4"},
                    ResolveCase{"[1.2.3.4]", AF_UNSPEC, ""},
                    ResolveCase{"01.2.3.4", AF_UNSPEC, ""},
                    ResolveCase{"1.2.3", AF_UNSPEC, ""},
                    ResolveCase{"example.com", AF_UNSPEC, ""},
                    ResolveCase{"not-an-address", AF_UNSPEC, ""},
                    ResolveCase{"fe80::1%eth0", AF_UNSPEC, ""},
                    ResolveCase{"[::1", AF_UNSPEC, ""},
                    ResolveCase{std::string("127.0.0.1\0x", 11), AF_UNSPEC, ""}));

// What parse_host_port gives, resolve_literal takes.
TEST(SocketAddress, ParsedHostsResolve) {
  for (const char* text : {"127.0.0.1:1", ":2", "*:3", "localhost:4", "[::1]:5", "[::]:6"}) {
    std::optional<HostPort> hp = parse_host_port(text);
    ASSERT_TRUE(hp.has_value()) << text;
    EXPECT_TRUE(resolve_literal(hp->host, hp->port).has_value()) << text;
  }
}

// address_text() gives what inet_ntop gives, for every IPv4 octet width
// and for IPv6; nothing for another family or a short buffer.
TEST(SocketAddress, AddressTextMatchesInetNtop) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.100.9", "192.0.2.1", "1.22.103.4",
                           "::1", "2001:db8::1", "::ffff:1.2.3.4"}) {
    std::optional<SocketAddress> sa = resolve_literal(text, 80);
    ASSERT_TRUE(sa.has_value()) << text;
    char buf[kAddressTextMax];
    EXPECT_EQ(address_text(sa->address(), buf, sizeof(buf)), text);
  }
  // Every IPv4 octet value, against inet_ntop.
  for (unsigned v = 0; v < 256; ++v) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl((v << 24) | (v << 16) | ((255 - v) << 8) | v);
    char want[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, &in.sin_addr, want, sizeof(want)), nullptr);
    char buf[kAddressTextMax];
    EXPECT_EQ(address_text(reinterpret_cast<const sockaddr*>(&in), buf, sizeof(buf)),
              std::string(want));
  }
  sockaddr_storage unix_family{};
  unix_family.ss_family = AF_UNIX;
  char buf[kAddressTextMax];
  EXPECT_EQ(address_text(reinterpret_cast<const sockaddr*>(&unix_family), buf, sizeof(buf)), "");
  EXPECT_EQ(address_text(nullptr, buf, sizeof(buf)), "");
  std::optional<SocketAddress> v4 = resolve_literal("255.255.255.255", 1);
  char small[15];
  EXPECT_EQ(address_text(v4->address(), small, sizeof(small)), "") << "16 bytes needed";
}

}  // namespace
}  // namespace ringshard::engine
