// proxy/request_key.cc: finding the hash key of a request (the rules:
// proxy/request_key.h).
#include "proxy/request_key.h"

#include "proxy/hash.h"

namespace ringshard::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view find_cookie(std::span<const http::Header> headers, std::string_view name) {
  if (name.empty()) return {};
  for (const http::Header& h : headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      size_t semi = list.find(';');
      std::string_view pair = trim(list.substr(0, semi));
      list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim(pair.substr(eq + 1));
      // A quoted cookie value (RFC 6265 cookie-value) hashes without quotes.
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return {};
}

std::string_view request_key(const HashKey& key, std::span<const http::Header> headers,
                             std::string_view client_address) {
  std::string_view value;
  if (key.source == HashKey::Source::kHeader) {
    for (const http::Header& h : headers) {
      if (http::iequals(h.name, key.name)) {
        value = h.value;
        break;
      }
    }
  } else if (key.source == HashKey::Source::kCookie) {
    value = find_cookie(headers, key.name);
  }
  return value.empty() ? client_address : value;
}

uint64_t request_key_hash(const HashKey& key, std::span<const http::Header> headers,
                          std::string_view client_address) {
  return hash64(request_key(key, headers, client_address));
}

}  // namespace ringshard::proxy
