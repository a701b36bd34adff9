// ringshard-floor: the smallest io_uring HTTP server we know how to write,
// and so the performance budget for ringshard. No parser, no router, no
// timers: it answers every "\r\n\r\n" it receives with one fixed 200.
//
// Same ring as the engine (engine::create_ring: SINGLE_ISSUER|DEFER_TASKRUN
// with fallbacks, a large CQ), multishot accept, multishot recv from a
// provided buffer ring, one io_uring_submit_and_wait per loop turn, every
// completion of a batch reaped before the next submit, and at most one send
// per connection per turn (responses produced meanwhile accumulate in the
// connection's fixed buffer). Whatever ringshard spends above this floor
// per request is the price of its HTTP layer and engine bookkeeping.
//
// Single thread; pin it with taskset. Usage: ringshard-floor --listen HOST:PORT
// (port 0 picks one; prints "listening on HOST:PORT" to stderr).
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/listener.h"
#include "engine/ring_setup.h"
#include "engine/socket_address.h"

namespace {

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Length: 13\r\n"
    "Content-Type: text/plain\r\n\r\nHello, World!";
// The answer to a request that asked to close: a client must not be told it
// may reuse a connection we are about to close (wrk would count an error).
constexpr std::string_view kCloseResponse =
    "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Length: 13\r\n"
    "Content-Type: text/plain\r\nConnection: close\r\n\r\nHello, World!";

constexpr unsigned kBufCount = 1024;  // provided receive buffers
constexpr unsigned kBufSize = 16384;  // bytes each (the engine's defaults)
constexpr uint16_t kBufGroup = 0;
constexpr size_t kOutCap = 4096;  // per-connection send buffer

// user_data: op (8 bits) | generation (24) | fd (32). A completion whose
// generation is not its connection's current one belongs to an fd number
// that has been closed (and maybe reused) since: it is dropped.
enum Op : uint8_t { kAccept = 1, kRecv, kSend, kOther };
uint64_t pack(Op op, uint32_t gen, int fd) {
  return (uint64_t{op} << 56) | (uint64_t{gen & 0xFFFFFF} << 32) | static_cast<uint32_t>(fd);
}

struct Conn {
  uint32_t gen = 0;
  uint32_t out_len = 0;        // bytes in out (the first ones may be in flight)
  uint32_t owed = 0;           // responses that did not fit in out yet
  uint8_t match = 0;           // bytes of "\r\n\r\n" matched at the end of the last chunk
  bool recv_armed = false;
  bool cancel_sent = false;    // the recv is being cancelled
  bool sending = false;
  bool dirty = false;
  bool close_seen = false;     // "Connection: close" seen, its terminator not yet
  bool close_after = false;    // the last request is in: answer it, then close
  bool close_queued = false;   // kCloseResponse is in out
  bool closing = false;        // close once no op is pending
  char out[kOutCap];
};

// Counts request terminators in [p, p+n), carrying the partial match across
// chunks so a terminator split between two reads is counted once.
unsigned count_terminators(const char* p, size_t n, uint8_t& match) {
  static constexpr char kTerm[4] = {'\r', '\n', '\r', '\n'};
  unsigned found = 0;
  const char* end = p + n;
  uint8_t m = match;
  while (p < end) {
    if (m == 0) {
      p = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
      if (p == nullptr) break;
    }
    const char ch = *p++;
    if (ch == kTerm[m]) {
      if (++m == 4) {
        ++found;
        m = 0;
      }
    } else {
      m = (ch == '\r') ? 1 : 0;
    }
  }
  match = m;
  return found;
}

// Offset of "connection: close" (any case) in the chunk, or n. A header
// split across two reads is missed; wrk never splits one.
size_t find_close(const char* p, size_t n) {
  static constexpr std::string_view kNeedle = "connection: close";
  for (size_t i = 0; i + kNeedle.size() <= n; ++i) {
    if ((p[i] | 0x20) == 'c' && strncasecmp(p + i, kNeedle.data(), kNeedle.size()) == 0) return i;
  }
  return n;
}

class Floor {
 public:
  int run(int listen_fd);

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {  // SQ full: hand it over and go on
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }
  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, pack(kAccept, 0, listen_fd_));
  }
  void arm_recv(int fd, Conn& c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kBufGroup;
    io_uring_sqe_set_data64(s, pack(kRecv, c.gen, fd));
    c.recv_armed = true;
  }
  // Ends the multishot recv; its last CQE (-ECANCELED) says it is gone.
  void stop_reading(int fd, Conn& c) {
    if (!c.recv_armed || c.cancel_sent) return;
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, pack(kRecv, c.gen, fd), 0);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(s, pack(kOther, c.gen, fd));
    c.cancel_sent = true;
  }
  // Queues the close (it rides in the next submit) and retires the
  // generation, so completions still to come for this fd are dropped.
  void close_now(int fd, Conn& c, io_uring_sqe* s) {
    io_uring_prep_close(s, fd);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(s, pack(kOther, c.gen, fd));
    c.closing = true;
    ++c.gen;
  }
  void begin_close(int fd, Conn& c) {
    c.closing = true;
    stop_reading(fd, c);
    if (!c.recv_armed && !c.sending) close_now(fd, c, sqe());
  }
  void mark_dirty(int fd, Conn& c) {
    if (!c.dirty) dirty_.push_back(fd);
    c.dirty = true;
  }
  // Moves owed responses into the send buffer, as many as fit.
  static void fill(Conn& c) {
    auto append = [&c](std::string_view r) {
      if (c.out_len + r.size() > kOutCap) return false;
      std::memcpy(c.out + c.out_len, r.data(), r.size());
      c.out_len += r.size();
      return true;
    };
    while (c.owed > 0 && append(kResponse)) --c.owed;
    if (c.owed == 0 && c.close_after && !c.close_queued) c.close_queued = append(kCloseResponse);
  }
  void return_buffer(unsigned bid) {
    io_uring_buf_ring_add(buf_ring_, buf_base_ + size_t{bid} * kBufSize, kBufSize,
                          static_cast<unsigned short>(bid), io_uring_buf_ring_mask(kBufCount),
                          static_cast<int>(returned_++));
  }
  int init_buffers();
  void on_accept(io_uring_cqe* cqe);
  void on_data(int fd, Conn& c, const char* p, size_t n);
  void on_recv(int fd, Conn& c, io_uring_cqe* cqe);
  void on_send(int fd, Conn& c, int res);
  void dispatch(io_uring_cqe* cqe);
  void flush();

  io_uring ring_{};
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buf_base_ = nullptr;
  unsigned returned_ = 0;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd; a Conn is made once per fd number
  std::vector<int> dirty_;
};

int Floor::init_buffers() {
  void* r = mmap(nullptr, sizeof(io_uring_buf) * kBufCount, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* b = mmap(nullptr, size_t{kBufSize} * kBufCount, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED || b == MAP_FAILED) return -errno;
  buf_ring_ = static_cast<io_uring_buf_ring*>(r);
  buf_base_ = static_cast<char*>(b);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  const int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) return rc;
  io_uring_buf_ring_init(buf_ring_);
  for (unsigned i = 0; i < kBufCount; ++i) return_buffer(i);
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(returned_));
  returned_ = 0;
  return 0;
}

void Floor::on_accept(io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
  if (cqe->res < 0) return;  // EMFILE and friends: keep accepting
  const int fd = cqe->res;
  if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(fd + 1);
  if (!conns_[fd]) conns_[fd] = std::make_unique<Conn>();
  Conn& c = *conns_[fd];
  c.out_len = c.owed = 0;
  c.match = 0;
  c.recv_armed = c.cancel_sent = c.sending = c.dirty = false;
  c.close_seen = c.close_after = c.close_queued = c.closing = false;
  arm_recv(fd, c);
}

void Floor::on_data(int fd, Conn& c, const char* p, size_t n) {
  if (c.close_after || c.closing) return;  // the last request is in: ignore the rest
  if (!c.close_seen) {
    const size_t at = find_close(p, n);
    if (at < n) {
      // Requests that ended before the header are answered as usual.
      c.owed += count_terminators(p, at, c.match);
      c.close_seen = true;
      p += at;
      n -= at;
    }
  }
  unsigned found = count_terminators(p, n, c.match);
  if (c.close_seen && found > 0) {
    c.close_after = true;  // this terminator ends the request that asked to close
    found = 0;
    stop_reading(fd, c);   // leaves in the same submit as the response
  }
  c.owed += found;
  if (c.owed > 0 || c.close_after) {
    fill(c);
    mark_dirty(fd, c);
  }
}

void Floor::on_recv(int fd, Conn& c, io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  const int res = cqe->res;
  if (res > 0) {
    const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    on_data(fd, c, buf_base_ + size_t{bid} * kBufSize, static_cast<size_t>(res));
    return_buffer(bid);
  } else if (res == 0 || (res != -ENOBUFS && res != -ECANCELED)) {
    begin_close(fd, c);  // EOF or error
    return;
  }
  if (!c.recv_armed) {
    if (c.closing) {
      begin_close(fd, c);  // the recv was the last op
    } else if (!c.close_after) {
      arm_recv(fd, c);  // ENOBUFS or a terminated multishot: re-arm, lose nothing
    }
  }
}

void Floor::on_send(int fd, Conn& c, int res) {
  c.sending = false;
  if (c.closing || res < 0) {
    begin_close(fd, c);
    return;
  }
  const auto sent = static_cast<uint32_t>(res);
  std::memmove(c.out, c.out + sent, c.out_len - sent);  // short sends resume here
  c.out_len -= sent;
  fill(c);
  if (c.out_len > 0) mark_dirty(fd, c);
}

void Floor::flush() {
  for (int fd : dirty_) {
    Conn& c = *conns_[fd];
    c.dirty = false;
    if (c.closing || c.sending || c.out_len == 0) continue;
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, fd, c.out, c.out_len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, pack(kSend, c.gen, fd));
    if (c.close_queued && c.owed == 0) {
      // The last bytes: the close is hard-linked behind the send, as a
      // write() then close() would be, with no turn in between (the recv
      // cancel is already queued). A short send here would lose the rest,
      // which only a peer that stopped reading can cause.
      s->flags |= IOSQE_IO_HARDLINK;
      close_now(fd, c, sqe());
      continue;
    }
    c.sending = true;
  }
  dirty_.clear();
}

void Floor::dispatch(io_uring_cqe* cqe) {
  const auto op = static_cast<Op>(cqe->user_data >> 56);
  const uint32_t gen = (cqe->user_data >> 32) & 0xFFFFFF;
  const int fd = static_cast<int>(cqe->user_data & 0xFFFFFFFF);
  if (op == kAccept) {
    on_accept(cqe);
    return;
  }
  Conn* c = static_cast<size_t>(fd) < conns_.size() ? conns_[fd].get() : nullptr;
  if (op == kOther || c == nullptr || c->gen != gen) {
    // Stale: a buffer picked for it still has to go back to the ring.
    if (op == kRecv && (cqe->flags & IORING_CQE_F_BUFFER)) {
      return_buffer(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    }
    return;
  }
  if (op == kRecv) {
    on_recv(fd, *c, cqe);
  } else if (op == kSend) {
    on_send(fd, *c, cqe->res);
  }
}

int Floor::run(int listen_fd) {
  listen_fd_ = listen_fd;
  ringshard::engine::RingSetup setup;
  setup.cq_entries = kBufCount * 2 + 8192;  // as engine/shard.cc sizes it
  unsigned flags = 0;
  int rc = ringshard::engine::create_ring(ring_, setup, flags);
  if (rc < 0) {
    std::fprintf(stderr, "%s\n", ringshard::engine::describe_ring_failure(rc).c_str());
    return ringshard::engine::kExitNoIoUring;
  }
  io_uring_register_ring_fd(&ring_);
  if ((rc = init_buffers()) < 0) {
    std::fprintf(stderr, "ringshard-floor: buffer ring: %s\n", std::strerror(-rc));
    return 71;
  }
  arm_accept();
  while (true) {
    flush();
    rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      std::fprintf(stderr, "ringshard-floor: io_uring_submit_and_wait: %s\n", std::strerror(-rc));
      return 1;
    }
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      dispatch(cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    if (returned_ != 0) {
      io_uring_buf_ring_advance(buf_ring_, static_cast<int>(returned_));
      returned_ = 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool flags_ok = argc == 1 || (argc == 3 && std::strcmp(argv[1], "--listen") == 0);
  const auto listen =
      ringshard::engine::parse_host_port(argc == 3 ? argv[2] : "127.0.0.1:8080");
  if (!flags_ok || !listen) {
    std::fprintf(stderr, "usage: ringshard-floor [--listen HOST:PORT]\n");
    return 64;
  }
  auto l = ringshard::engine::open_listener(listen->host, listen->port, 4096);
  if (l.fd < 0) {
    std::fprintf(stderr, "ringshard-floor: %s\n", l.error.c_str());
    return 71;
  }
  const bool v6 = listen->kind == ringshard::engine::HostKind::kIpv6;
  std::fprintf(stderr, "listening on %s%s%s:%u\n", v6 ? "[" : "", listen->host.c_str(),
               v6 ? "]" : "", l.port);
  return Floor{}.run(l.fd);
}
