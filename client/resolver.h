// client/resolver.h: name resolution for outbound connections that never
// blocks a shard.
//
// Two parts:
//   - Resolver: one per process. Owns a thread running c-ares
//     (ares_getaddrinfo: A and AAAA, /etc/hosts first, then the servers of
//     /etc/resolv.conf or the configured ones) in an event loop of its own
//     (poll over c-ares's sockets plus an eventfd that wakes it for new
//     lookups and for shutdown). lookup() may be called from any
//     thread; the answer is handed to the asking shard with Shard::post_task
//     and delivered on that shard's thread.
//   - ShardResolver: one per shard. A TTL cache in front of the Resolver:
//     a fresh entry answers at once; a stale one starts a new lookup and
//     its callers wait for it (so a backend behind DNS can move); concurrent
//     lookups of one host:port share one query; failures are cached for the
//     negative TTL. IP literals and "localhost" (127.0.0.1, then ::1) are
//     answered without a query.
//     Serve-stale (RFC 8767, section 5): when the refresh of an entry that
//     had addresses times out or fails (kTimeout, kFailure; not kNotFound,
//     which is an answer), the stale addresses are served again, for the
//     negative TTL, after which the next resolve tries the servers again.
//     Stale data is served for at most kMaxStaleMs past its expiry.
//
// Address order: the order to try connecting in. Both families interleaved
// (RFC 8305 section 4), starting with the family of the first address
// c-ares returned (it asks for A and AAAA at once, without RFC 6724
// sorting: ARES_AI_NOSORT, so the first answer to arrive leads); a caller
// that cannot reach the first tries the next.
//
// Times: TTLs come from the records (ares_addrinfo_node::ai_ttl, the lowest
// of the answer), clamped to [min_ttl_ms, max_ttl_ms]. ShardResolver
// measures them with the shard's clock (Shard::now_ms(), so a ManualClock
// drives expiry in tests); c-ares's own per-try timeout is real time.
//
// Options::servers replaces the system's name servers and its search list
// (a name is then always looked up as given); without it c-ares reads
// /etc/resolv.conf (servers, search, ndots) once, at create().
//
//   client::Resolver::Options ro;                      // system configuration
//   auto resolver = client::Resolver::create(ro, error);
//   client::ShardResolver cache(shard, *resolver);      // on the shard thread
//   cache.resolve("api.internal", 443, [](client::Resolution&& r) {
//     if (!r.ok()) { ... r.error_text ... } else { connect to r.addresses[0] }
//   });
//
// Thread: Resolver is thread-safe. ShardResolver and its callbacks run on
// its shard's thread only; the Resolver must outlive every ShardResolver,
// and a shard (its Engine) must outlive every lookup made for it unless
// that lookup is cancelled first (ShardResolver cancels its own when it is
// destroyed, so a ShardResolver destroyed on its shard before the Engine
// goes is enough).
// Allocation: per lookup (control plane: once per TTL per name, not per
// request); a cache hit copies the cached Resolution (callers resolve when
// they open a connection, not per request).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/shard.h"
#include "engine/socket_address.h"

namespace ringshard::client {

enum class ResolveError : uint8_t {
  kNone = 0,
  kNotFound,    // NXDOMAIN or no address of a usable family
  kTimeout,     // no server answered within the timeout and tries
  kFailure,     // server failure, refused, malformed answer, no servers
  kShutdown,    // the resolver is being destroyed
};

std::string_view resolve_error_name(ResolveError e);  // "not_found", ...

struct Resolution {
  ResolveError error = ResolveError::kNone;
  std::string error_text;  // for logs: names the host and c-ares's reason
  // Ports filled in; in connection order (see above). Empty on error.
  std::vector<engine::SocketAddress> addresses;
  // How long the answer may be used: the lowest TTL of its records,
  // clamped to the options' [min_ttl_ms, max_ttl_ms]; the negative TTL on
  // an error, and on stale addresses served again (RFC 8767). 0 for a
  // literal (never expires).
  uint64_t ttl_ms = 0;
  bool ok() const { return error == ResolveError::kNone; }
};

enum class AddressFamily : uint8_t { kAny, kIpv4, kIpv6 };

// The answer for a host that needs no query: an IP literal ("10.0.0.1",
// "::1", "[::1]") or "localhost" in any case (127.0.0.1 then ::1), limited
// to `family`; nullopt for a name to look up (and for "" and "*", which
// are no destination). A literal of the other family is kNotFound.
// Pure; allocates the answer.
std::optional<Resolution> resolve_without_query(std::string_view host, uint16_t port,
                                                AddressFamily family);

// Reorders `addresses` so the families alternate (RFC 8305 section 4),
// starting with the family of the first one; within a family the order is
// kept. Pure; allocates a scratch copy.
void interleave_families(std::vector<engine::SocketAddress>& addresses);

class Resolver {
 public:
  struct Options {
    // "IP:PORT" or "[V6]:PORT" name servers to use instead of the system's
    // (tests point this at a DNS responder on loopback).
    std::vector<std::string> servers;
    uint32_t timeout_ms = 2'000;   // per try
    uint32_t tries = 2;
    uint32_t min_ttl_ms = 1'000;   // floor: a TTL of 0 would query per request
    uint32_t max_ttl_ms = 300'000;
    uint32_t negative_ttl_ms = 5'000;
    AddressFamily family = AddressFamily::kAny;
    bool use_hosts_file = true;    // /etc/hosts before DNS
  };

  using Callback = std::function<void(Resolution&&)>;

  // Null with `error` set when c-ares cannot start (no usable resolver
  // configuration), a server is not an IP literal with an optional port
  // (53), timeout_ms or tries is 0, or min_ttl_ms is above max_ttl_ms.
  static std::unique_ptr<Resolver> create(const Options& options, std::string& error);
  virtual ~Resolver() = default;

  // Any thread. `done` runs on `shard`'s thread (through post_task), at
  // most once: with the answer, or with kShutdown when the Resolver is
  // destroyed first. It never runs when the lookup is cancelled or when the
  // shard's loop has exited before the answer: it is then destroyed
  // without being called, on whatever thread cancels it (the shard's at its
  // exit, the Resolver's thread, or cancel()'s caller), so what it captures
  // must be safe to destroy there (it must not call the Resolver from its
  // destructor). An IP literal or "localhost" is answered without a query,
  // still through post_task.
  // Returns the lookup's id for cancel() (never 0).
  virtual uint64_t lookup(engine::Shard& shard, std::string_view host, uint16_t port,
                          Callback done) = 0;
  // Any thread. Forgets lookup `id` if its answer has not been handed to
  // its shard yet: its `done` is destroyed (on the calling thread, before
  // cancel() returns) and the Resolver never touches its shard for it
  // again. An answer already posted still runs on the shard. An unknown or
  // finished id is ignored.
  virtual void cancel(uint64_t id) = 0;
  virtual const Options& options() const = 0;
};

class ShardResolver {
 public:
  ShardResolver(engine::Shard& shard, Resolver& resolver);
  // Pending callbacks get kShutdown (before it returns, on the shard's
  // thread) and the lookups in flight are cancelled in the Resolver.
  ~ShardResolver();
  ShardResolver(const ShardResolver&) = delete;
  ShardResolver& operator=(const ShardResolver&) = delete;

  // Shard thread. `done` runs before resolve() returns when the answer is
  // known (a literal, a fresh cache entry, a cached failure), otherwise on
  // a later loop turn. Lookups of one host:port in flight share one query.
  void resolve(std::string_view host, uint16_t port, Resolver::Callback done);

  struct Stats {
    uint64_t hits = 0;       // answered from the cache or a literal
    uint64_t queries = 0;    // lookups sent to the Resolver
    uint64_t failures = 0;   // answers with an error
    uint64_t stale_served = 0;  // refresh failed: the stale addresses served
  };
  // How long past its expiry an answer may be served stale.
  static constexpr uint64_t kMaxStaleMs = 24 * 3600 * 1000;
  const Stats& stats() const { return stats_; }
  size_t cached_names() const { return entries_.size(); }  // host:port entries

 private:
  struct Entry;
  Entry* find(std::string_view host, uint16_t port);
  void start_query(Entry& e);
  void answered(Entry& e, Resolution&& r);
  engine::Shard& shard_;
  Resolver& resolver_;
  // Small: the names a shard talks to. Past 512 entries, adding one
  // first drops the expired entries nobody waits on.
  std::vector<std::unique_ptr<Entry>> entries_;
  Stats stats_;
  std::shared_ptr<bool> alive_;  // lets late answers see the cache is gone
};

}  // namespace ringshard::client
