// client/resolver_cache.cc: ShardResolver, the per-shard TTL cache in front
// of the Resolver (contract in client/resolver.h).
//
// Entries are found by a linear scan: a shard talks to a handful of
// upstream names. An answer finds its entry again by host and port rather
// than by a pointer captured at the query, so the callback holds nothing
// that eviction (which spares entries with a lookup in flight anyway) or
// the cache's destruction could leave dangling.
#include <algorithm>
#include <utility>

#include "client/resolver.h"

namespace ringshard::client {

namespace {

// Past this many entries, adding one first drops the expired ones that
// nobody waits on.
constexpr size_t kMaxEntries = 512;

}  // namespace

struct ShardResolver::Entry {
  std::string host;
  uint16_t port = 0;
  bool has_answer = false;
  Resolution answer;
  uint64_t expires_ms = 0;     // shard time: the answer is fresh before it
  uint64_t fresh_until_ms = 0; // expiry of the last real (not stale-served) addresses
  uint64_t lookup_id = 0;      // the Resolver's id while a lookup is in flight
  std::vector<Resolver::Callback> waiters;
};

ShardResolver::ShardResolver(engine::Shard& shard, Resolver& resolver)
    : shard_(shard), resolver_(resolver), alive_(std::make_shared<bool>(true)) {}

ShardResolver::~ShardResolver() {
  *alive_ = false;  // an answer already posted to the shard finds us gone
  std::vector<Resolver::Callback> pending;
  for (const std::unique_ptr<Entry>& e : entries_) {
    if (e->lookup_id != 0) resolver_.cancel(e->lookup_id);
    for (Resolver::Callback& w : e->waiters) pending.push_back(std::move(w));
  }
  std::vector<std::unique_ptr<Entry>> entries = std::move(entries_);
  for (size_t i = 0; i < pending.size(); ++i) {
    Resolution r;
    r.error = ResolveError::kShutdown;
    r.error_text = "resolving: the shard's resolver is shutting down";
    pending[i](std::move(r));
  }
}

ShardResolver::Entry* ShardResolver::find(std::string_view host, uint16_t port) {
  for (const std::unique_ptr<Entry>& e : entries_) {
    if (e->port == port && e->host == host) return e.get();
  }
  return nullptr;
}

void ShardResolver::resolve(std::string_view host, uint16_t port, Resolver::Callback done) {
  if (std::optional<Resolution> now = resolve_without_query(host, port, resolver_.options().family)) {
    ++stats_.hits;
    if (!now->ok()) ++stats_.failures;
    done(std::move(*now));
    return;
  }
  const uint64_t now_ms = shard_.now_ms();
  Entry* e = find(host, port);
  if (e == nullptr) {
    if (entries_.size() >= kMaxEntries) {
      std::erase_if(entries_, [now_ms](const std::unique_ptr<Entry>& x) {
        return x->lookup_id == 0 && x->waiters.empty() && x->expires_ms <= now_ms;
      });
    }
    entries_.push_back(std::make_unique<Entry>());
    e = entries_.back().get();
    e->host.assign(host);
    e->port = port;
  }
  if (e->has_answer && now_ms < e->expires_ms) {
    ++stats_.hits;
    if (!e->answer.ok()) ++stats_.failures;
    Resolution copy = e->answer;
    done(std::move(copy));
    return;
  }
  e->waiters.push_back(std::move(done));
  if (e->lookup_id == 0) start_query(*e);
}

void ShardResolver::start_query(Entry& e) {
  ++stats_.queries;
  // Runs on this shard's thread only (post_task), so reading *alive there
  // is no race; destroyed without running when the shard or the lookup
  // goes first.
  e.lookup_id = resolver_.lookup(
      shard_, e.host, e.port,
      [this, alive = alive_, host = e.host, port = e.port](Resolution&& r) {
        if (!*alive) return;
        if (Entry* entry = find(host, port)) answered(*entry, std::move(r));
      });
}

void ShardResolver::answered(Entry& e, Resolution&& r) {
  e.lookup_id = 0;
  const uint64_t now_ms = shard_.now_ms();
  Resolution answer;
  if (r.error == ResolveError::kShutdown) {
    answer = std::move(r);  // not cached: the next resolve asks again
  } else if ((r.error == ResolveError::kTimeout || r.error == ResolveError::kFailure) &&
             e.has_answer && e.answer.ok() && now_ms < e.fresh_until_ms + kMaxStaleMs) {
    // RFC 8767: the servers did not answer; the last addresses are better
    // than none. Served for the negative TTL, then the servers are asked
    // again.
    ++stats_.stale_served;
    e.answer.ttl_ms = r.ttl_ms;
    e.expires_ms = now_ms + r.ttl_ms;
    answer = e.answer;
  } else {
    e.answer = std::move(r);
    e.has_answer = true;
    e.expires_ms = now_ms + e.answer.ttl_ms;
    if (e.answer.ok()) e.fresh_until_ms = e.expires_ms;
    answer = e.answer;
  }
  // The callbacks may resolve again (and so evict entries): nothing of
  // `e` is touched after this.
  std::vector<Resolver::Callback> waiters = std::move(e.waiters);
  e.waiters.clear();
  for (size_t i = 0; i < waiters.size(); ++i) {
    if (!answer.ok()) ++stats_.failures;
    Resolution copy = answer;
    waiters[i](std::move(copy));
  }
}

}  // namespace ringshard::client
