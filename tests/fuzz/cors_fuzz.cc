// libFuzzer target for http/cors.h. The input is "<policy byte><origin>\n
// <method>\n<Access-Control-Request-Headers>". Besides looking for crashes
// under the sanitizers it checks the contract and aborts when it breaks:
//  - parse_header_name_list agrees with a plain reference splitter (split on
//    ',', trim OWS, drop empty elements, every element a token, bounded);
//    every name it returns is a non-empty token inside the value;
//  - an allowed answer's Allow-Origin is "*" or the request's Origin, never
//    "*" with credentials; every header value it returns is free of CR, LF
//    and NUL; a denied answer carries no Access-Control-* header;
//  - a preflight always carries Vary; decide_simple agrees with
//    decide_preflight on whether the origin is allowed (for GET, no headers).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "http/cors.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard::http;

constexpr const char* kFuzzTarget = "cors";

bool tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<size_t> reference_split(std::string_view v, size_t cap) {
  if (v.size() > kCorsMaxRequestHeadersBytes) return std::nullopt;
  size_t n = 0;
  while (true) {
    const size_t comma = v.find(',');
    std::string_view e = v.substr(0, comma);
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.remove_prefix(1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
    if (!e.empty()) {
      for (char c : e) {
        if (!tchar(c)) return std::nullopt;
      }
      if (++n > cap) return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return n;
}

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

const std::vector<CorsPolicy>& policies() {
  static const std::vector<CorsPolicy> p = [] {
    std::vector<CorsPolicy> v;
    v.emplace_back(CorsConfig{.allow_origins = {"https://app.example", "http://[::1]:8080", "null"},
                              .allow_methods = {"GET", "PUT"},
                              .allow_headers = {"content-type", "authorization"},
                              .expose_headers = {"x-trace"},
                              .allow_credentials = true,
                              .max_age_s = 60});
    v.emplace_back(CorsConfig{.allow_origins = {"*"},
                              .allow_methods = {"*"},
                              .allow_headers = {"*"},
                              .expose_headers = {"*"}});
    v.emplace_back(CorsConfig{.allow_origins = {"*"},
                              .allow_methods = {"*"},
                              .allow_headers = {"*"},
                              .allow_credentials = true});
    return v;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const CorsPolicy& policy = policies()[data[0] % policies().size()];
  const bool creds = policy.config().allow_credentials;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::array<std::string_view, 3> part{};
  for (size_t i = 0; i < 2; ++i) {
    const size_t nl = in.find('\n');
    part[i] = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  part[2] = in;
  const std::string_view origin = part[0], method = part[1], headers = part[2];

  for (size_t cap : {size_t{4}, kCorsMaxRequestHeaders}) {
    std::array<std::string_view, kCorsMaxRequestHeaders> names;
    const std::optional<size_t> n =
        parse_header_name_list(headers, std::span(names.data(), cap));
    FUZZ_CHECK(n == reference_split(headers, cap));
    for (size_t i = 0; n && i < *n; ++i) {
      FUZZ_CHECK(!names[i].empty());
      FUZZ_CHECK(names[i].data() >= headers.data());
      FUZZ_CHECK(names[i].data() + names[i].size() <= headers.data() + headers.size());
      for (char c : names[i]) FUZZ_CHECK(tchar(c));
    }
  }

  const CorsPreflight p = decide_preflight(policy, origin, method, headers);
  FUZZ_CHECK(!p.vary.empty());
  if (p.allowed) {
    FUZZ_CHECK(p.reason.empty());
    FUZZ_CHECK(p.allow_origin == origin || (p.allow_origin == "*" && !creds));
    FUZZ_CHECK(p.allow_credentials == (creds ? "true" : ""));
    for (std::string_view v : {p.allow_origin, p.allow_methods, p.allow_headers, p.max_age}) {
      FUZZ_CHECK(clean(v));
    }
  } else {
    FUZZ_CHECK(!p.reason.empty());
    FUZZ_CHECK(p.allow_origin.empty() && p.allow_methods.empty() &&
               p.allow_headers.empty() && p.allow_credentials.empty() && p.max_age.empty());
  }

  const CorsSimple s = decide_simple(policy, origin);
  if (s.allowed) {
    FUZZ_CHECK(s.allow_origin == origin || (s.allow_origin == "*" && !creds));
    FUZZ_CHECK(clean(s.allow_origin));
  } else {
    FUZZ_CHECK(s.allow_origin.empty() && s.allow_credentials.empty() &&
               s.expose_headers.empty());
  }
  FUZZ_CHECK(s.allowed == (!origin.empty() && decide_preflight(policy, origin, "GET", "").allowed));
  return 0;
}
