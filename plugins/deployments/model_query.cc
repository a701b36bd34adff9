// plugins/deployments/model_query.cc: query strings. One walker splits and
// decodes; each route says which names it knows and checks the values.
#include "plugins/deployments/model_query.h"

#include <array>

#include "plugins/deployments/cursor.h"
#include "plugins/deployments/model_id.h"

namespace ringshard::deployments {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view strip_question_mark(std::string_view q) {
  if (!q.empty() && q.front() == '?') q.remove_prefix(1);
  return q;
}

bool fail(ApiError& err, std::string_view field, std::string_view reason) {
  err = field_error(clip_echo(field), reason);
  return false;
}

// Calls on_param(name, value) for each parameter, decoded; stops at the
// first false it returns or at a bad escape (err set, returns false).
template <typename OnParam>
bool for_each_param(std::string_view query, ApiError& err, OnParam on_param) {
  query = strip_question_mark(query);
  if (query.size() > kMaxQueryBytes) {
    err = ApiError{};
    err.reason = "query string too long";
    err.message = "query string longer than " + std::to_string(kMaxQueryBytes) + " bytes";
    return false;
  }
  std::string name, value;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    const std::string_view raw_name = piece.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    if (!percent_decode(raw_name, name)) return fail(err, raw_name, "invalid percent-encoding");
    if (!percent_decode(raw_value, value)) return fail(err, name, "invalid percent-encoding");
    if (!on_param(name, value)) return false;
  }
  return true;
}

// Tracks which of a route's names were seen: unknown and repeated names
// are refused here so that each route only checks values.
template <size_t N>
class KnownNames {
 public:
  explicit KnownNames(const std::array<std::string_view, N>& names) : names_(names) {}

  // The index of `name`, or -1 after setting err.
  int accept(std::string_view name, ApiError& err) {
    for (size_t i = 0; i < N; ++i) {
      if (names_[i] != name) continue;
      if (seen_[i]) {
        fail(err, name, "duplicate parameter");
        return -1;
      }
      seen_[i] = true;
      return static_cast<int>(i);
    }
    fail(err, name, "unknown parameter");
    err.message = "unknown query parameter " + err.field;
    return -1;
  }
  bool seen(size_t i) const { return seen_[i]; }

 private:
  const std::array<std::string_view, N>& names_;
  std::array<bool, N> seen_{};
};

// Digits only, no sign, at most `max_digits`, into `out`.
bool parse_digits(std::string_view s, size_t max_digits, uint64_t& out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// Digits (at most 9) and an optional unit: ms, s (the default) or m. Zero
// passes here, so the caller can call it out of range, not misspelt.
bool duration_form(std::string_view text, uint64_t& ms) {
  uint64_t unit = 1000;
  if (text.ends_with("ms")) {
    unit = 1;
    text.remove_suffix(2);
  } else if (text.ends_with('s')) {
    text.remove_suffix(1);
  } else if (text.ends_with('m')) {
    unit = 60'000;
    text.remove_suffix(1);
  }
  uint64_t n = 0;
  if (!parse_digits(text, 9, n)) return false;
  ms = n * unit;
  return true;
}

constexpr std::string_view kStatusReason =
    "must be one of pending, running, failed, terminating, terminated";

constexpr std::array<std::string_view, 3> kListNames = {"limit", "cursor", "status"};
constexpr std::array<std::string_view, 2> kWaitNames = {"status", "timeout"};
constexpr std::array<std::string_view, 3> kStreamNames = {"deployment_id", "since",
                                                          "access_token"};

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  query = strip_question_mark(query);
  if (query.size() > kMaxQueryBytes) return std::nullopt;
  std::string decoded_name, value;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = piece.find('=');
    if (!percent_decode(piece.substr(0, eq), decoded_name) || decoded_name != name) continue;
    if (!percent_decode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1),
                        value)) {
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
  uint64_t ms = 0;
  if (!duration_form(text, ms) || ms == 0) return std::nullopt;
  return ms;
}

bool parse_list_query(std::string_view query, ListQuery& out, ApiError& err) {
  ListQuery q;
  KnownNames known(kListNames);
  const bool ok = for_each_param(query, err, [&](std::string_view name, std::string_view value) {
    switch (known.accept(name, err)) {
      case 0: {
        uint64_t n = 0;
        if (!parse_digits(value, 4, n) || n < 1 || n > kMaxListLimit) {
          return fail(err, name, "must be an integer between 1 and 1000");
        }
        q.limit = static_cast<uint32_t>(n);
        return true;
      }
      case 1: {
        if (value.empty()) return true;
        const std::optional<int64_t> p = decode_cursor(value);
        if (!p) return fail(err, name, "is not a valid cursor");
        q.after_position = *p;
        return true;
      }
      case 2: {
        q.status = parse_status(value);
        if (!q.status) return fail(err, name, kStatusReason);
        return true;
      }
      default: return false;
    }
  });
  if (!ok) return false;
  out = q;
  return true;
}

bool parse_wait_query(std::string_view query, WaitQuery& out, ApiError& err) {
  WaitQuery q;
  KnownNames known(kWaitNames);
  const bool ok = for_each_param(query, err, [&](std::string_view name, std::string_view value) {
    switch (known.accept(name, err)) {
      case 0: {
        const std::optional<Status> s = parse_status(value);
        if (!s) return fail(err, name, kStatusReason);
        q.status = *s;
        return true;
      }
      case 1: {
        uint64_t ms = 0;
        if (!duration_form(value, ms)) {
          return fail(err, name, "must be a duration such as 30s, 500ms or 2m");
        }
        if (ms == 0 || ms > kMaxWaitMs) return fail(err, name, "must be between 1ms and 300s");
        q.timeout_ms = static_cast<uint32_t>(ms);
        return true;
      }
      default: return false;
    }
  });
  if (!ok) return false;
  if (!known.seen(0)) return fail(err, "status", "is required");
  out = q;
  return true;
}

bool parse_stream_query(std::string_view query, StreamQuery& out, ApiError& err) {
  StreamQuery q;
  KnownNames known(kStreamNames);
  const bool ok = for_each_param(query, err, [&](std::string_view name, std::string_view value) {
    switch (known.accept(name, err)) {
      case 0:
        if (!valid_deployment_id(value)) return fail(err, name, "must be a deployment id");
        q.deployment_id = std::string(value);
        return true;
      case 1: {
        uint64_t seq = 0;
        if (!parse_u64(value, seq)) return fail(err, name, "must be a non-negative integer");
        q.since = seq;
        return true;
      }
      case 2:
        q.access_token = std::string(value);
        return true;
      default: return false;
    }
  });
  if (!ok) return false;
  out = std::move(q);
  return true;
}

}  // namespace ringshard::deployments
