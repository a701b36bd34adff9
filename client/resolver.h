// client/resolver.h: name resolution for outbound connections that never
// blocks a shard.
//
// Two parts:
//   - Resolver: one per process. Owns a thread running c-ares
//     (ares_getaddrinfo: A and AAAA, /etc/hosts first, then the servers of
//     /etc/resolv.conf or the configured ones). lookup() may be called from
//     any thread; the answer is handed to the asking shard with
//     Shard::post_task and delivered on that shard's thread.
//   - ShardResolver: one per shard. A TTL cache in front of the Resolver:
//     a fresh entry answers at once, a stale one starts a new lookup (so a
//     backend behind DNS can move); concurrent lookups of one name share
//     one query; failures are cached for a short negative TTL. IP literals
//     and "localhost" are answered without a query.
//
// Address order: the order to try connecting in. Both families interleaved
// (RFC 8305 section 4), starting with the family of the first address
// c-ares returned; a caller that cannot reach the first tries the next.
//
//   client::Resolver::Options ro;                      // system configuration
//   auto resolver = client::Resolver::create(ro, error);
//   client::ShardResolver cache(shard, *resolver);      // on the shard thread
//   cache.resolve("api.internal", 443, [](const client::Resolution& r) {
//     if (!r.ok()) { ... r.error_text ... } else { connect to r.addresses[0] }
//   });
//
// Thread: Resolver is thread-safe. ShardResolver and its callbacks run on
// its shard's thread only; the Resolver must outlive every ShardResolver.
// Allocation: per lookup (control plane: once per TTL per name, not per
// request).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
  // an error. 0 for a literal (never expires).
  uint64_t ttl_ms = 0;
  bool ok() const { return error == ResolveError::kNone; }
};

enum class AddressFamily : uint8_t { kAny, kIpv4, kIpv6 };

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
  // configuration, a malformed server address).
  static std::unique_ptr<Resolver> create(const Options& options, std::string& error);
  virtual ~Resolver() = default;

  // Any thread. `done` runs on `shard`'s thread (through post_task), exactly
  // once: with the answer, or with kShutdown if the shard or the resolver
  // stops first (then possibly on the destroying thread, with the shard
  // gone: it must only release what it holds).
  virtual void lookup(engine::Shard& shard, std::string_view host, uint16_t port,
                      Callback done) = 0;
  virtual const Options& options() const = 0;
};

class ShardResolver {
 public:
  ShardResolver(engine::Shard& shard, Resolver& resolver);
  ~ShardResolver();  // pending callbacks get kShutdown
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
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Entry;
  engine::Shard& shard_;
  Resolver& resolver_;
  std::vector<std::unique_ptr<Entry>> entries_;  // small: names per shard
  Stats stats_;
  std::shared_ptr<bool> alive_;  // lets late answers see the cache is gone
};

}  // namespace ringshard::client
