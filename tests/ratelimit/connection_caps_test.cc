// ConnectionCaps: keys, caps, reuse of freed slots, the full-table fallback,
// and a claimer stalled between its steps (through the test peer).
#include "ratelimit/connection_caps.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "ratelimit/rate_spec.h"
#include "tests/ratelimit/connection_caps_test_peer.h"

namespace ringshard::ratelimit {

namespace RS_UNITY_ID {

using Peer = ConnectionCapsTestPeer;

sockaddr_in v4(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(443);
  EXPECT_EQ(inet_pton(AF_INET, text, &a.sin_addr), 1);
  return a;
}
sockaddr_in6 v6(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(443);
  EXPECT_EQ(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
  return a;
}
ConnKey key_of(const ConnectionCaps& c, const sockaddr_in& a) {
  return c.key(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}
ConnKey key_of(const ConnectionCaps& c, const sockaddr_in6& a) {
  return c.key(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}
// The n-th of many distinct IPv4 clients.
ConnKey client(const ConnectionCaps& c, uint32_t n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x0a000000u + n);
  return key_of(c, a);
}

ConnectionCapsOptions options(uint64_t total, uint32_t per_ip, size_t capacity = 1024) {
  ConnectionCapsOptions o;
  o.max_total = total;
  o.max_per_ip = per_ip;
  o.capacity = capacity;
  o.seed = 0x1234567;
  return o;
}

TEST(ConnectionCapsKey, TheThreeFormsOfOneAddressAgree) {
  ConnectionCaps caps(options(0, 10));
  const auto a = v4("192.0.2.7");
  IpKey ik;
  ASSERT_TRUE(ip_key(reinterpret_cast<const sockaddr*>(&a), sizeof a, 32, 128, &ik));
  std::array<uint8_t, 16> raw{192, 0, 2, 7};
  ConnKey from_sockaddr = key_of(caps, a);
  ConnKey from_bytes = caps.key(ik.view());
  ConnKey from_raw = caps.key(AF_INET, raw);
  ConnKey mapped = key_of(caps, v6("::ffff:192.0.2.7"));
  ASSERT_TRUE(from_sockaddr.valid());
  ASSERT_TRUE(caps.try_open(from_sockaddr));
  EXPECT_TRUE(from_sockaddr.tracked());
  EXPECT_EQ(caps.open_for(from_bytes), 1u);
  EXPECT_EQ(caps.open_for(from_raw), 1u);
  EXPECT_EQ(caps.open_for(mapped), 1u);
  EXPECT_EQ(caps.open_for(key_of(caps, v4("192.0.2.8"))), 0u);
}

TEST(ConnectionCapsKey, IPv6AddressesAreWholeAddresses) {
  ConnectionCaps caps(options(0, 10));
  std::array<uint8_t, 16> raw{};
  const auto a = v6("2001:db8::1");
  std::memcpy(raw.data(), &a.sin6_addr, 16);
  ConnKey k = key_of(caps, a);
  ASSERT_TRUE(caps.try_open(k));
  EXPECT_EQ(caps.open_for(caps.key(AF_INET6, raw)), 1u);
  // Same /64, another address: another client (keys are /128).
  EXPECT_EQ(caps.open_for(key_of(caps, v6("2001:db8::2"))), 0u);
  EXPECT_NE(Peer::tag(k), Peer::tag(key_of(caps, v6("2001:db8::2"))));
}

TEST(ConnectionCapsKey, IPv4TagIsTheAddressItself) {
  ConnectionCaps caps(options(0, 10));
  // Exact for IPv4: tags differ whatever the hash does.
  EXPECT_EQ(Peer::tag(key_of(caps, v4("0.0.0.0"))), uint64_t{1} << 32);
  EXPECT_EQ(Peer::tag(key_of(caps, v4("255.255.255.255"))), (uint64_t{1} << 32) | 0xffffffffu);
}

TEST(ConnectionCapsKey, OtherFamiliesAreNotKeys) {
  ConnectionCaps caps(options(2, 1));
  sockaddr_un u{};
  u.sun_family = AF_UNIX;
  ConnKey k = caps.key(reinterpret_cast<const sockaddr*>(&u), sizeof u);
  EXPECT_FALSE(k.valid());
  EXPECT_FALSE(caps.key(std::string_view{}).valid());
  std::array<uint8_t, 16> raw{};
  EXPECT_FALSE(caps.key(AF_UNIX, raw).valid());
  const auto a = v4("192.0.2.1");
  EXPECT_FALSE(caps.key(reinterpret_cast<const sockaddr*>(&a), sizeof a - 1).valid());

  // Admitted under the global cap only, untracked.
  ConnKey k2 = k;
  ConnKey k3 = k;
  EXPECT_TRUE(caps.try_open(k));
  EXPECT_FALSE(k.tracked());
  EXPECT_TRUE(caps.try_open(k2));  // max_per_ip 1 does not apply
  EXPECT_FALSE(caps.try_open(k3));  // max_total 2 does
  EXPECT_EQ(caps.stats().untracked, 2u);
  EXPECT_EQ(caps.stats().refused_total, 1u);
  caps.close(k);
  caps.close(k2);
  EXPECT_EQ(caps.stats().open, 0u);
}

TEST(ConnectionCaps, PerIpCapIsExact) {
  ConnectionCaps caps(options(0, 3));
  std::vector<ConnKey> a(4, key_of(caps, v4("198.51.100.1")));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(caps.try_open(a[i])) << i;
  EXPECT_FALSE(caps.try_open(a[3]));
  EXPECT_FALSE(a[3].is_open());
  EXPECT_EQ(caps.open_for(a[0]), 3u);
  EXPECT_EQ(caps.stats().refused_per_ip, 1u);
  EXPECT_EQ(caps.stats().refused_total, 0u);

  ConnKey other = key_of(caps, v4("198.51.100.2"));
  EXPECT_TRUE(caps.try_open(other));  // another address has its own count

  caps.close(a[1]);
  EXPECT_EQ(caps.open_for(a[0]), 2u);
  EXPECT_TRUE(caps.try_open(a[3]));
  EXPECT_EQ(caps.open_for(a[0]), 3u);
  EXPECT_EQ(caps.stats().open, 4u);
}

TEST(ConnectionCaps, GlobalCapIsExact) {
  ConnectionCaps caps(options(5, 2));
  std::vector<ConnKey> keys;
  for (uint32_t i = 0; i < 6; ++i) keys.push_back(client(caps, i));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(caps.try_open(keys[i])) << i;
  EXPECT_FALSE(caps.try_open(keys[5]));
  EXPECT_EQ(caps.stats().refused_total, 1u);
  EXPECT_EQ(caps.stats().refused_per_ip, 0u);
  EXPECT_EQ(caps.stats().open, 5u);
  // The refusal counted nothing per address.
  EXPECT_EQ(caps.open_for(keys[5]), 0u);
  caps.close(keys[0]);
  EXPECT_TRUE(caps.try_open(keys[5]));
  EXPECT_EQ(caps.stats().open, 5u);
}

TEST(ConnectionCaps, PerIpRefusalGivesTheTotalBack) {
  ConnectionCaps caps(options(2, 1));
  ConnKey a1 = client(caps, 1), a2 = client(caps, 1), b = client(caps, 2);
  EXPECT_TRUE(caps.try_open(a1));
  EXPECT_FALSE(caps.try_open(a2));
  EXPECT_EQ(caps.stats().open, 1u);
  EXPECT_TRUE(caps.try_open(b));  // the per-IP refusal did not hold a total slot
}

TEST(ConnectionCaps, ZeroMeansNoCapAndNoTable) {
  ConnectionCaps caps(options(0, 0));
  std::vector<ConnKey> keys(1000, client(caps, 7));
  for (auto& k : keys) ASSERT_TRUE(caps.try_open(k));
  EXPECT_EQ(caps.stats().open, 1000u);
  EXPECT_EQ(caps.open_for(keys[0]), 0u);
  EXPECT_EQ(Peer::used_slots(caps), 0u);
  EXPECT_EQ(caps.stats().untracked, 0u);  // no per-IP cap: nothing missed
  for (auto& k : keys) caps.close(k);
  EXPECT_EQ(caps.stats().open, 0u);
}

TEST(ConnectionCaps, CloseIsANoOpUnlessOpen) {
  ConnectionCaps caps(options(0, 1));
  ConnKey a = client(caps, 1), refused = client(caps, 1), never = client(caps, 1);
  ASSERT_TRUE(caps.try_open(a));
  ASSERT_FALSE(caps.try_open(refused));
  caps.close(refused);
  caps.close(never);
  EXPECT_EQ(caps.open_for(a), 1u);
  EXPECT_EQ(caps.stats().open, 1u);
  caps.close(a);
  caps.close(a);  // twice: once counted
  EXPECT_EQ(caps.open_for(a), 0u);
  EXPECT_EQ(caps.stats().open, 0u);
  EXPECT_FALSE(a.is_open());
}

TEST(ConnectionCaps, AnOpenKeyIsNotOpenedTwice) {
  ConnectionCaps caps(options(0, 5));
  ConnKey a = client(caps, 1);
  ASSERT_TRUE(caps.try_open(a));
  EXPECT_FALSE(caps.try_open(a));
  EXPECT_EQ(caps.open_for(a), 1u);
  EXPECT_EQ(caps.stats().open, 1u);
}

TEST(ConnectionCaps, TheLastCloseFreesTheSlotForAnotherAddress) {
  // 16 slots, one window: the table holds 16 addresses at once.
  auto o = options(0, 2, 16);
  ConnectionCaps caps(o);
  ASSERT_EQ(caps.capacity(), 16u);
  std::vector<ConnKey> keys;
  for (uint32_t i = 0; i < 16; ++i) {
    keys.push_back(client(caps, i));
    ASSERT_TRUE(caps.try_open(keys.back()));
    ASSERT_TRUE(keys.back().tracked()) << i;
  }
  EXPECT_EQ(Peer::used_slots(caps), 16u);
  ConnKey second = keys[3];
  second = client(caps, 3);
  ASSERT_TRUE(caps.try_open(second));  // a known address needs no new slot
  EXPECT_TRUE(second.tracked());

  ConnKey late = client(caps, 100);
  ASSERT_TRUE(caps.try_open(late));  // full: admitted untracked
  EXPECT_FALSE(late.tracked());
  EXPECT_EQ(caps.stats().untracked, 1u);
  caps.close(late);

  caps.close(keys[3]);
  EXPECT_EQ(Peer::used_slots(caps), 16u);  // one connection of it is still open
  caps.close(second);
  EXPECT_EQ(Peer::used_slots(caps), 15u);
  ConnKey again = client(caps, 100);
  ASSERT_TRUE(caps.try_open(again));
  EXPECT_TRUE(again.tracked());
  EXPECT_EQ(caps.open_for(again), 1u);
  EXPECT_EQ(caps.open_for(client(caps, 3)), 0u);
}

TEST(ConnectionCaps, UntrackedConnectionsDoNotTouchTheTrackedCount) {
  ConnectionCaps caps(options(0, 2, 16));
  std::vector<ConnKey> fill;
  for (uint32_t i = 0; i < 16; ++i) {
    fill.push_back(client(caps, i));
    ASSERT_TRUE(caps.try_open(fill.back()));
  }
  ConnKey x1 = client(caps, 500);
  ASSERT_TRUE(caps.try_open(x1));
  ASSERT_FALSE(x1.tracked());
  caps.close(fill[0]);
  ConnKey x2 = client(caps, 500);
  ASSERT_TRUE(caps.try_open(x2));
  ASSERT_TRUE(x2.tracked());
  caps.close(x1);  // the untracked one: the address's count stays
  EXPECT_EQ(caps.open_for(x2), 1u);
  caps.close(x2);
  EXPECT_EQ(caps.open_for(x2), 0u);
  EXPECT_EQ(caps.stats().open, 15u);
}

TEST(ConnectionCaps, FullTableRefusesWhenAskedTo) {
  auto o = options(0, 2, 16);
  o.when_full = TableFull::kRefuse;
  ConnectionCaps caps(o);
  std::vector<ConnKey> keys;
  for (uint32_t i = 0; i < 16; ++i) {
    keys.push_back(client(caps, i));
    ASSERT_TRUE(caps.try_open(keys.back()));
  }
  ConnKey late = client(caps, 100);
  EXPECT_FALSE(caps.try_open(late));
  EXPECT_EQ(caps.stats().refused_table_full, 1u);
  EXPECT_EQ(caps.stats().open, 16u);
  caps.close(keys[5]);
  EXPECT_TRUE(caps.try_open(late));
  EXPECT_TRUE(late.tracked());
}

TEST(ConnectionCaps, NewCapsApplyToTheNextAdmissions) {
  ConnectionCaps caps(options(0, 0));
  std::vector<ConnKey> keys(4, client(caps, 9));
  ASSERT_TRUE(caps.try_open(keys[0]));  // no per-IP cap yet: untracked
  caps.set_caps(3, 1);
  EXPECT_EQ(caps.max_total(), 3u);
  EXPECT_EQ(caps.max_per_ip(), 1u);
  ASSERT_TRUE(caps.try_open(keys[1]));
  EXPECT_TRUE(keys[1].tracked());
  EXPECT_FALSE(caps.try_open(keys[2]));  // per IP
  caps.set_caps(2, 5);
  EXPECT_TRUE(caps.try_open(keys[2]) == false);  // total: 2 open
  EXPECT_EQ(caps.stats().refused_total, 1u);
  caps.close(keys[0]);
  EXPECT_TRUE(caps.try_open(keys[2]));
  EXPECT_EQ(caps.open_for(keys[1]), 2u);
  caps.set_caps(0, ConnectionCaps::kMaxPerIp + 5);
  EXPECT_EQ(caps.max_per_ip(), ConnectionCaps::kMaxPerIp);
}

TEST(ConnectionCaps, CapacityAndWindowAreClamped) {
  auto o = options(0, 1, 100);
  o.probe_window = 500;
  ConnectionCaps caps(o);
  EXPECT_EQ(caps.capacity(), 128u);
  EXPECT_EQ(caps.probe_window(), ConnectionCaps::kMaxProbeWindow);
  o.capacity = 1;
  o.probe_window = 0;
  ConnectionCaps tiny(o);
  EXPECT_EQ(tiny.probe_window(), 1u);
  EXPECT_EQ(tiny.capacity(), 1u);
  ConnKey a = client(tiny, 1), b = client(tiny, 2);
  EXPECT_TRUE(caps.try_open(a));
  EXPECT_TRUE(tiny.try_open(b));
  EXPECT_TRUE(b.tracked());
}

// A thread that claimed a slot and stalled before publishing it never
// blocks the others: the next opener publishes the claim itself.
TEST(ConnectionCapsStalledClaimer, AnotherOpenerPublishesTheClaim) {
  ConnectionCaps caps(options(0, 2));
  ConnKey k = client(caps, 42);
  const size_t home = Peer::home(caps, k);
  const uint64_t claim = Peer::pending(k, 777);
  ASSERT_TRUE(Peer::cas(caps, home, 0, claim));

  ConnKey a = client(caps, 42);
  ASSERT_TRUE(caps.try_open(a));
  EXPECT_TRUE(a.tracked());
  EXPECT_EQ(Peer::word(caps, home), Peer::live(k, 1));
  // The stalled thread wakes: its publish and its withdrawal both fail.
  EXPECT_FALSE(Peer::cas(caps, home, claim, Peer::live(k, 1)));
  EXPECT_FALSE(Peer::cas(caps, home, claim, 0));
  ConnKey b = client(caps, 42), c = client(caps, 42);
  EXPECT_TRUE(caps.try_open(b));
  EXPECT_FALSE(caps.try_open(c));  // the cap holds across the hand-over
  EXPECT_EQ(Peer::used_slots(caps), 1u);
}

TEST(ConnectionCapsStalledClaimer, TheNearestClaimWinsAndTheOthersAreKilled) {
  ConnectionCaps caps(options(0, 1));
  ConnKey k = client(caps, 42);
  const size_t near = Peer::slot(caps, k, 1);
  const size_t far = Peer::slot(caps, k, 5);
  ASSERT_TRUE(Peer::cas(caps, far, 0, Peer::pending(k, 1)));
  ASSERT_TRUE(Peer::cas(caps, near, 0, Peer::pending(k, 2)));

  ConnKey a = client(caps, 42);
  ASSERT_TRUE(caps.try_open(a));
  EXPECT_EQ(Peer::word(caps, near), Peer::live(k, 1));
  EXPECT_EQ(Peer::word(caps, far), 0u);
  EXPECT_EQ(Peer::used_slots(caps), 1u);
  ConnKey b = client(caps, 42);
  EXPECT_FALSE(caps.try_open(b));  // one slot, one count: the cap of 1 holds
}

TEST(ConnectionCapsStalledClaimer, LeftoverClaimsBesideALiveSlotAreCleared) {
  ConnectionCaps caps(options(0, 4));
  ConnKey a = client(caps, 42);
  ASSERT_TRUE(caps.try_open(a));
  const size_t home = Peer::home(caps, a);
  ASSERT_EQ(Peer::word(caps, home), Peer::live(a, 1));
  // A claim that lost: it cannot be published while the live slot is there.
  ConnKey probe = client(caps, 42);
  const size_t later = Peer::slot(caps, probe, 3);
  ASSERT_TRUE(Peer::cas(caps, later, 0, Peer::pending(probe, 9)));
  ConnKey b = client(caps, 42);
  ASSERT_TRUE(caps.try_open(b));
  EXPECT_EQ(Peer::word(caps, home), Peer::live(a, 2));
  caps.close(a);
  caps.close(b);
  EXPECT_EQ(Peer::word(caps, home), 0u);
  // Now the leftover claim is the key's only slot: the next opener
  // publishes it (after seeing it twice) rather than claiming another.
  ConnKey c = client(caps, 42);
  ASSERT_TRUE(caps.try_open(c));
  EXPECT_EQ(Peer::word(caps, later), Peer::live(c, 1));
  EXPECT_EQ(Peer::used_slots(caps), 1u);
}

// Two claimers of one new address that see different first free slots:
// A scans while slot 0 is taken by another address and picks slot 1; before
// A's claim lands, slot 0 is freed and B opens the address there. A's claim
// must not become a second slot of the address (its count would split and
// the cap of 1 would admit 2).
TEST(ConnectionCapsClaimRace, ClaimersThatSeeDifferentFreeSlotsEndInOneSlot) {
  ConnectionCaps caps(options(0, 1));
  ConnKey a = client(caps, 42);
  const size_t s0 = Peer::slot(caps, a, 0);
  const uint64_t other = Peer::live(client(caps, 7), 1);
  ASSERT_TRUE(Peer::cas(caps, s0, 0, other));
  struct Race {
    ConnectionCaps* caps;
    size_t s0;
    uint64_t other;
    ConnKey b;
    bool ran = false;
    bool b_open = false;
  } race{&caps, s0, other, client(caps, 42)};
  Peer::before_claim(caps, [](void* arg) {
    auto* r = static_cast<Race*>(arg);
    if (r->ran) return;  // B's own claim passes through here too
    r->ran = true;
    Peer::cas(*r->caps, r->s0, r->other, 0);
    r->b_open = r->caps->try_open(r->b);
  }, &race);
  const bool a_open = caps.try_open(a);
  Peer::before_claim(caps, nullptr, nullptr);
  ASSERT_TRUE(race.ran);
  EXPECT_TRUE(race.b_open);
  EXPECT_FALSE(a_open);
  EXPECT_EQ(caps.stats().refused_per_ip, 1u);
  EXPECT_EQ(Peer::word(caps, s0), Peer::live(a, 1));
  EXPECT_EQ(Peer::used_slots(caps), 1u);  // A's claim at slot 1 was withdrawn
}

TEST(ConnectionCapsStalledClaimer, OtherKeysSkipAPendingSlot) {
  auto o = options(0, 4, 1);
  o.probe_window = 1;
  ConnectionCaps caps(o);  // one slot, one window
  ConnKey k = client(caps, 1);
  ASSERT_TRUE(Peer::cas(caps, 0, 0, Peer::pending(k, 5)));
  ConnKey other = client(caps, 2);
  ASSERT_TRUE(caps.try_open(other));  // no wait: full, admitted untracked
  EXPECT_FALSE(other.tracked());
}

}  // namespace
}  // namespace ringshard::ratelimit
