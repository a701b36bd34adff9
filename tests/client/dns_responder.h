// tests/client/dns_responder.h: a tiny authoritative DNS server over UDP on
// 127.0.0.1, port 0, for the resolver tests (client::Resolver::Options::
// servers points at it).
//
// Answers A and AAAA questions for the names it was given, with their TTL
// (other types of a known name: no data), NXDOMAIN for unknown names; can
// be told to stay silent (the resolver's timeout), and counts the questions
// it received per name and type. No compression beyond the answer's
// pointer to the question, no EDNS (an OPT record in the query is ignored),
// one question per query.
//
// Thread: its own, polling the socket and an eventfd that the destructor
// writes to stop it. Every public member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringshard::test {

class DnsResponder {
 public:
  static constexpr uint16_t kTypeA = 1;
  static constexpr uint16_t kTypeAaaa = 28;

  DnsResponder();  // binds and starts; ok() says whether it could
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

  // `addresses`: IPv4 and IPv6 literals in text, in answer order. Names are
  // matched without regard to case, without a trailing dot.
  void set(const std::string& name, std::vector<std::string> addresses, uint32_t ttl_s);
  void remove(const std::string& name);
  void set_silent(bool silent) { silent_.store(silent, std::memory_order_release); }

  // Questions received for `name` (of `type`, or of any type with 0).
  uint64_t queries(const std::string& name, uint16_t type = 0) const;
  uint64_t total_queries() const { return total_.load(std::memory_order_acquire); }

 private:
  struct Record {
    std::vector<std::string> addresses;
    uint32_t ttl_s = 0;
  };
  void run();
  // The reply to `query` (empty: none).
  std::string answer(const uint8_t* query, size_t n);

  int fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> silent_{false};
  std::atomic<uint64_t> total_{0};
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
  std::map<std::pair<std::string, uint16_t>, uint64_t> counts_;
};

}  // namespace ringshard::test
