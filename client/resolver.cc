// client/resolver.cc: the Resolver over c-ares, on a thread of its own,
// plus the answers that need no query.
//
// The thread's loop: take the lookups queued by lookup() (under the mutex)
// and start them with ares_getaddrinfo; poll c-ares's sockets (ares_getsock)
// and the eventfd that lookup(), cancel() and the destructor write, with
// ares_timeout's deadline; hand what became readable or writable, or the
// expired deadline, to ares_process_fd, whose callbacks finish lookups.
// A finished lookup is posted to its shard with the mutex held, so cancel()
// (which takes it) is a barrier: once it returns, the thread never touches
// that lookup's shard again, even if the shard is destroyed right after.
#include "client/resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace ringshard::client {

std::string_view resolve_error_name(ResolveError e) {
  switch (e) {
    case ResolveError::kNone: return "none";
    case ResolveError::kNotFound: return "not_found";
    case ResolveError::kTimeout: return "timeout";
    case ResolveError::kFailure: return "failure";
    case ResolveError::kShutdown: return "shutdown";
  }
  return "unknown";
}

namespace {

bool wanted(AddressFamily family, int af) {
  switch (family) {
    case AddressFamily::kAny: return af == AF_INET || af == AF_INET6;
    case AddressFamily::kIpv4: return af == AF_INET;
    case AddressFamily::kIpv6: return af == AF_INET6;
  }
  return false;
}

bool is_localhost(std::string_view host) {
  constexpr std::string_view kName = "localhost";
  if (host.size() != kName.size()) return false;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kName[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<Resolution> resolve_without_query(std::string_view host, uint16_t port,
                                                AddressFamily family) {
  if (host.empty() || host == "*") return std::nullopt;
  Resolution r;
  if (is_localhost(host)) {
    if (wanted(family, AF_INET)) r.addresses.push_back(*engine::resolve_literal("127.0.0.1", port));
    if (wanted(family, AF_INET6)) r.addresses.push_back(*engine::resolve_literal("::1", port));
    return r;
  }
  std::optional<engine::SocketAddress> literal = engine::resolve_literal(host, port);
  if (!literal) return std::nullopt;
  if (!wanted(family, literal->family())) {
    r.error = ResolveError::kNotFound;
    r.error_text = "resolving " + std::string(host) + ": address of a family not allowed";
    return r;
  }
  r.addresses.push_back(*literal);
  return r;
}

void interleave_families(std::vector<engine::SocketAddress>& addresses) {
  if (addresses.size() < 2) return;
  const int first = addresses.front().family();
  std::vector<engine::SocketAddress> same, other;
  for (const engine::SocketAddress& a : addresses) (a.family() == first ? same : other).push_back(a);
  size_t i = 0, j = 0, k = 0;
  while (i < same.size() || j < other.size()) {
    if (i < same.size()) addresses[k++] = same[i++];
    if (j < other.size()) addresses[k++] = other[j++];
  }
}

namespace {

class AresResolver final : public Resolver {
 public:
  explicit AresResolver(const Options& options) : options_(options) {}
  ~AresResolver() override;

  bool start(std::string& error);
  uint64_t lookup(engine::Shard& shard, std::string_view host, uint16_t port,
                  Callback done) override;
  void cancel(uint64_t id) override;
  const Options& options() const override { return options_; }

 private:
  // One lookup. Owned by the resolver (in incoming_, then as c-ares's
  // callback argument) until posted; then by the shard's task queue, then
  // by deliver(). `done` and `cancelled` are guarded by mu_ until posted.
  struct Request : engine::ShardTask {
    AresResolver* owner = nullptr;
    engine::Shard* shard = nullptr;
    uint64_t id = 0;
    std::string host;
    uint16_t port = 0;
    Callback done;
    Resolution result;
    bool cancelled = false;
  };

  static void deliver(engine::ShardTask* self, engine::Shard* shard);
  static void on_addrinfo(void* arg, int status, int timeouts, ares_addrinfo* info);
  void run();
  void start_queued(bool stopping);
  void finish(Request* req);
  void fail(Request* req, ResolveError error, const char* why);
  void wake();

  Options options_;
  ares_channel channel_ = nullptr;
  int event_fd_ = -1;
  std::thread thread_;

  std::mutex mu_;
  std::vector<Request*> incoming_;                  // queued by lookup()
  std::unordered_map<uint64_t, Request*> live_;     // neither posted nor cancelled
  uint64_t next_id_ = 1;
  bool stopping_ = false;
};

void AresResolver::deliver(engine::ShardTask* self, engine::Shard* shard) {
  std::unique_ptr<Request> req(static_cast<Request*>(self));
  if (shard == nullptr) return;  // the shard has exited: `done` is only destroyed
  Callback done = std::move(req->done);
  Resolution result = std::move(req->result);
  req.reset();
  done(std::move(result));
}

bool AresResolver::start(std::string& error) {
  ares_options ao{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  ao.timeout = static_cast<int>(std::min<uint32_t>(options_.timeout_ms, INT_MAX));
  ao.tries = static_cast<int>(std::min<uint32_t>(options_.tries, 100));
  char lookups_fb[] = "fb";
  char lookups_b[] = "b";
  ao.lookups = options_.use_hosts_file ? lookups_fb : lookups_b;
  std::string csv;
  if (!options_.servers.empty()) {
    // Our servers, our whole configuration: no search list from the
    // system's resolv.conf either, so a name is looked up as given.
    mask |= ARES_OPT_DOMAINS;
    ao.domains = nullptr;
    ao.ndomains = 0;
    for (const std::string& s : options_.servers) {
      std::optional<engine::HostPort> hp = engine::parse_host_port(s, 53);
      if (!hp || hp->kind == engine::HostKind::kAny || hp->port == 0) {
        error = "resolver: bad name server \"" + s + "\" (want IP:PORT or [IPV6]:PORT)";
        return false;
      }
      if (!csv.empty()) csv += ',';
      if (hp->kind == engine::HostKind::kIpv6) {
        csv += "[" + hp->host + "]";
      } else {
        csv += hp->kind == engine::HostKind::kLocalhost ? "127.0.0.1" : hp->host;
      }
      csv += ":" + std::to_string(hp->port);
    }
  }
  if (options_.timeout_ms == 0 || options_.tries == 0) {
    error = "resolver: timeout_ms and tries must be at least 1";
    return false;
  }
  if (options_.min_ttl_ms > options_.max_ttl_ms) {
    error = "resolver: min_ttl_ms is above max_ttl_ms";
    return false;
  }
  static std::once_flag library_once;
  static int library_status = ARES_SUCCESS;
  std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) {
    error = std::string("resolver: c-ares: ") + ares_strerror(library_status);
    return false;
  }
  int rc = ares_init_options(&channel_, &ao, mask);
  if (rc != ARES_SUCCESS) {
    channel_ = nullptr;
    error = std::string("resolver: c-ares: ") + ares_strerror(rc);
    return false;
  }
  if (!csv.empty() && (rc = ares_set_servers_ports_csv(channel_, csv.c_str())) != ARES_SUCCESS) {
    error = "resolver: name servers \"" + csv + "\": " + ares_strerror(rc);
    return false;
  }
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) {
    error = std::string("resolver: eventfd: ") + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

AresResolver::~AresResolver() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake();
    thread_.join();
  }
  if (channel_ != nullptr) ares_destroy(channel_);  // only when start() failed
  if (event_fd_ >= 0) ::close(event_fd_);
}

void AresResolver::wake() {
  const uint64_t one = 1;
  // EAGAIN: the counter is saturated, so the thread is woken anyway.
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

uint64_t AresResolver::lookup(engine::Shard& shard, std::string_view host, uint16_t port,
                              Callback done) {
  auto req = std::make_unique<Request>();
  req->run = &deliver;
  req->owner = this;
  req->shard = &shard;
  req->port = port;
  req->done = std::move(done);
  if (std::optional<Resolution> now = resolve_without_query(host, port, options_.family)) {
    req->result = std::move(*now);
    std::lock_guard lock(mu_);
    req->id = next_id_++;
    const uint64_t id = req->id;
    shard.post_task(req.release());
    return id;
  }
  req->host.assign(host);
  bool first;
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = req->id = next_id_++;
    if (stopping_) {
      req->result.error = ResolveError::kShutdown;
      req->result.error_text = "resolving " + req->host + ": the resolver is shutting down";
      shard.post_task(req.release());
      return id;
    }
    first = incoming_.empty();
    live_.emplace(id, req.get());
    incoming_.push_back(req.release());
  }
  if (first) wake();
  return id;
}

void AresResolver::cancel(uint64_t id) {
  Callback dropped;  // destroyed on this thread, after the lock
  std::lock_guard lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Request* req = it->second;
  live_.erase(it);
  req->cancelled = true;  // the thread deletes it when c-ares is done with it
  dropped = std::move(req->done);
}

void AresResolver::finish(Request* req) {
  std::lock_guard lock(mu_);
  if (req->cancelled) {
    delete req;
    return;
  }
  live_.erase(req->id);
  // With the lock held: see the file comment. A shard that has exited runs
  // deliver(req, nullptr) inside post_task, which only frees.
  req->shard->post_task(req);
}

void AresResolver::fail(Request* req, ResolveError error, const char* why) {
  req->result.error = error;
  req->result.error_text = "resolving " + req->host + ": " + why;
  req->result.addresses.clear();
  req->result.ttl_ms = error == ResolveError::kShutdown ? 0 : options_.negative_ttl_ms;
  finish(req);
}

void AresResolver::on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
  auto* req = static_cast<Request*>(arg);
  AresResolver& self = *req->owner;
  const Options& o = self.options_;
  if (status != ARES_SUCCESS) {
    if (info != nullptr) ares_freeaddrinfo(info);
    ResolveError e = ResolveError::kFailure;
    switch (status) {
      case ARES_ENOTFOUND:
      case ARES_ENODATA:
      case ARES_ENONAME: e = ResolveError::kNotFound; break;
      case ARES_ETIMEOUT: e = ResolveError::kTimeout; break;
      case ARES_EDESTRUCTION:
      case ARES_ECANCELLED: e = ResolveError::kShutdown; break;
      default: break;
    }
    self.fail(req, e, ares_strerror(status));
    return;
  }
  Resolution& r = req->result;
  int ttl_s = INT_MAX;
  for (const ares_addrinfo_node* n = info != nullptr ? info->nodes : nullptr; n != nullptr;
       n = n->ai_next) {
    if (!wanted(o.family, n->ai_family) || n->ai_addr == nullptr) continue;
    engine::SocketAddress sa;
    if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(sockaddr_in)) {
      sockaddr_in in;
      std::memcpy(&in, n->ai_addr, sizeof(in));
      in.sin_port = htons(req->port);
      std::memcpy(&sa.storage, &in, sizeof(in));
      sa.length = sizeof(in);
    } else if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(sockaddr_in6)) {
      sockaddr_in6 in6;
      std::memcpy(&in6, n->ai_addr, sizeof(in6));
      in6.sin6_port = htons(req->port);
      std::memcpy(&sa.storage, &in6, sizeof(in6));
      sa.length = sizeof(in6);
    } else {
      continue;
    }
    r.addresses.push_back(sa);
    ttl_s = std::min(ttl_s, std::max(n->ai_ttl, 0));
  }
  if (info != nullptr) ares_freeaddrinfo(info);
  if (r.addresses.empty()) {
    self.fail(req, ResolveError::kNotFound, "no address of a usable family");
    return;
  }
  interleave_families(r.addresses);
  const uint64_t ttl_ms = static_cast<uint64_t>(ttl_s) * 1000;
  r.ttl_ms = std::clamp<uint64_t>(ttl_ms, o.min_ttl_ms, o.max_ttl_ms);
  self.finish(req);
}

void AresResolver::start_queued(bool stopping) {
  std::vector<Request*> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(incoming_);
  }
  ares_addrinfo_hints hints{};
  hints.ai_flags = ARES_AI_NOSORT;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = options_.family == AddressFamily::kIpv4   ? AF_INET
                    : options_.family == AddressFamily::kIpv6 ? AF_INET6
                                                               : AF_UNSPEC;
  for (Request* req : batch) {
    if (stopping) {
      fail(req, ResolveError::kShutdown, "the resolver is shutting down");
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (req->cancelled) {
        delete req;
        continue;
      }
    }
    // May call on_addrinfo before it returns (a hosts file hit).
    ares_getaddrinfo(channel_, req->host.c_str(), nullptr, &hints, &on_addrinfo, req);
  }
}

void AresResolver::run() {
  std::vector<pollfd> fds;
  while (true) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    if (stopping) break;
    start_queued(false);

    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
    fds.clear();
    fds.push_back(pollfd{event_fd_, POLLIN, 0});
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const bool r = ARES_GETSOCK_READABLE(bits, i);
      const bool w = ARES_GETSOCK_WRITABLE(bits, i);
      if (!r && !w) continue;
      fds.push_back(pollfd{socks[i], static_cast<short>((r ? POLLIN : 0) | (w ? POLLOUT : 0)), 0});
    }
    timeval tv{};
    const timeval* deadline = ares_timeout(channel_, nullptr, &tv);
    const int timeout_ms =
        deadline == nullptr ? -1
                            : static_cast<int>(deadline->tv_sec * 1000 + (deadline->tv_usec + 999) / 1000);
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0) continue;  // EINTR; nothing else is expected of poll here
    if (fds[0].revents != 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(event_fd_, &count, sizeof(count));
    }
    bool any = false;
    for (size_t i = 1; i < fds.size(); ++i) {
      const short ev = fds[i].revents;
      if (ev == 0) continue;
      any = true;
      const bool readable = (ev & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (ev & POLLOUT) != 0;
      ares_process_fd(channel_, readable ? fds[i].fd : ARES_SOCKET_BAD,
                      writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
    if (!any) ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  }
  // Queries in flight end with ARES_EDESTRUCTION (kShutdown to their
  // shards); lookups never started get the same.
  ares_destroy(channel_);
  channel_ = nullptr;
  start_queued(true);
}

}  // namespace

std::unique_ptr<Resolver> Resolver::create(const Options& options, std::string& error) {
  auto r = std::make_unique<AresResolver>(options);
  if (!r->start(error)) return nullptr;
  return r;
}

}  // namespace ringshard::client
