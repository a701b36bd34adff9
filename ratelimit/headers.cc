#include "ratelimit/headers.h"

#include <charconv>

namespace ringshard::ratelimit {

namespace {

// Appends pieces to a fixed buffer; remembers if any did not fit.
class Writer {
 public:
  explicit Writer(std::span<char> buf) : buf_(buf) {}
  Writer& text(std::string_view s) {
    if (s.size() > buf_.size() - len_) {
      overflow_ = true;
    } else {
      s.copy(buf_.data() + len_, s.size());
      len_ += s.size();
    }
    return *this;
  }
  Writer& number(uint64_t v) {
    const auto r = std::to_chars(buf_.data() + len_, buf_.data() + buf_.size(), v);
    if (r.ec != std::errc()) {
      overflow_ = true;
    } else {
      len_ = static_cast<size_t>(r.ptr - buf_.data());
    }
    return *this;
  }
  std::string_view view() const {
    return overflow_ ? std::string_view{} : std::string_view{buf_.data(), len_};
  }

 private:
  std::span<char> buf_;
  size_t len_ = 0;
  bool overflow_ = false;
};

uint64_t retry_after_seconds(const Decision& d) {
  const uint64_t s = ceil_seconds(d.retry_after_ns);
  return s == 0 ? 1 : s;
}

}  // namespace

bool is_valid_policy_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxPolicyNameLength) return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

std::string_view format_limit(const Decision& d, std::span<char> buf) {
  return Writer(buf).number(d.limit).view();
}

std::string_view format_remaining(const Decision& d, std::span<char> buf) {
  return Writer(buf).number(d.remaining).view();
}

std::string_view format_reset(const Decision& d, std::span<char> buf) {
  return Writer(buf).number(ceil_seconds(d.reset_after_ns)).view();
}

std::string_view format_retry_after(const Decision& d, std::span<char> buf) {
  return Writer(buf).number(retry_after_seconds(d)).view();
}

std::string_view format_policy(std::string_view name, const Limit& limit, std::span<char> buf) {
  const uint64_t w = ceil_seconds(limit.window_ns);
  return Writer(buf)
      .text("\"").text(name).text("\";q=").number(limit.burst)
      .text(";w=").number(w == 0 ? 1 : w)
      .view();
}

std::string_view format_ratelimit(std::string_view name, const Decision& d, std::span<char> buf) {
  const uint64_t t = d.admitted ? ceil_seconds(d.reset_after_ns) : retry_after_seconds(d);
  return Writer(buf)
      .text("\"").text(name).text("\";r=").number(d.remaining)
      .text(";t=").number(t)
      .view();
}

void append_headers(std::string_view name, const Limit& limit, const Decision& d,
                    std::string& out) {
  char buf[kMaxValueSize];
  const auto line = [&out](std::string_view field, std::string_view value) {
    out.append(field).append(": ").append(value).append("\r\n");
  };
  line("X-RateLimit-Limit", format_limit(d, buf));
  line("X-RateLimit-Remaining", format_remaining(d, buf));
  line("X-RateLimit-Reset", format_reset(d, buf));
  line("RateLimit-Policy", format_policy(name, limit, buf));
  line("RateLimit", format_ratelimit(name, d, buf));
  if (!d.admitted) line("Retry-After", format_retry_after(d, buf));
}

}  // namespace ringshard::ratelimit
