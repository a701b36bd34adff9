#include "tests/client/dns_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ringshard::test {

namespace {

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

}  // namespace

DnsResponder::DnsResponder() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  if (fd_ < 0 || stop_fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { run(); });
}

DnsResponder::~DnsResponder() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void DnsResponder::set(const std::string& name, std::vector<std::string> addresses,
                       uint32_t ttl_s) {
  std::lock_guard lock(mu_);
  records_[lower(name)] = Record{std::move(addresses), ttl_s};
}

void DnsResponder::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  records_.erase(lower(name));
}

uint64_t DnsResponder::queries(const std::string& name, uint16_t type) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, count] : counts_) {
    if (key.first == lower(name) && (type == 0 || key.second == type)) n += count;
  }
  return n;
}

void DnsResponder::run() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  uint8_t buf[1500];
  while (true) {
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from),
                                 &from_len);
    if (n <= 0) continue;
    const std::string reply = answer(buf, static_cast<size_t>(n));
    if (reply.empty()) continue;
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

std::string DnsResponder::answer(const uint8_t* q, size_t n) {
  if (n < 12 || ((q[4] << 8) | q[5]) < 1) return {};
  // The question: labels, then type and class.
  size_t pos = 12;
  std::string name;
  while (pos < n && q[pos] != 0) {
    const size_t len = q[pos];
    if (len > 63 || pos + 1 + len > n) return {};
    if (!name.empty()) name += '.';
    name.append(reinterpret_cast<const char*>(q + pos + 1), len);
    pos += 1 + len;
  }
  if (pos + 5 > n) return {};
  pos += 1;
  const uint16_t type = static_cast<uint16_t>((q[pos] << 8) | q[pos + 1]);
  const size_t question_end = pos + 4;
  name = lower(name);
  total_.fetch_add(1, std::memory_order_acq_rel);
  std::vector<std::string> addresses;
  uint32_t ttl_s = 0;
  bool known = false;
  {
    std::lock_guard lock(mu_);
    ++counts_[{name, type}];
    if (auto it = records_.find(name); it != records_.end()) {
      known = true;
      addresses = it->second.addresses;
      ttl_s = it->second.ttl_s;
    }
  }
  if (silent_.load(std::memory_order_acquire)) return {};

  std::string answers;
  uint16_t count = 0;
  for (const std::string& a : addresses) {
    uint8_t raw[16];
    size_t raw_len = 0;
    if (type == kTypeA && ::inet_pton(AF_INET, a.c_str(), raw) == 1) {
      raw_len = 4;
    } else if (type == kTypeAaaa && ::inet_pton(AF_INET6, a.c_str(), raw) == 1) {
      raw_len = 16;
    } else {
      continue;
    }
    put16(answers, 0xC00C);  // the name: a pointer to the question's
    put16(answers, type);
    put16(answers, 1);  // IN
    put32(answers, ttl_s);
    put16(answers, static_cast<uint16_t>(raw_len));
    answers.append(reinterpret_cast<const char*>(raw), raw_len);
    ++count;
  }
  std::string out;
  out.push_back(static_cast<char>(q[0]));  // id
  out.push_back(static_cast<char>(q[1]));
  // QR, AA, the query's RD; RA; NXDOMAIN (3) for an unknown name.
  out.push_back(static_cast<char>(0x84 | (q[2] & 0x01)));
  out.push_back(static_cast<char>(0x80 | (known ? 0 : 3)));
  put16(out, 1);
  put16(out, count);
  put16(out, 0);
  put16(out, 0);
  out.append(reinterpret_cast<const char*>(q + 12), question_end - 12);
  out += answers;
  return out;
}

}  // namespace ringshard::test
