// proxy/forward_headers.cc: the upstream request head and the filtered
// response fields (the rules: proxy/forward_headers.h).
#include "proxy/forward_headers.h"

#include <algorithm>

#include "http/chars.h"

namespace ringshard::proxy {
namespace {

using http::iequals;

using http::chars::is_token;

// A field value we can write on one line: no CR, LF, NUL or other control
// character but tab (RFC 9110 5.5), no DEL.
bool is_clean_value(std::string_view v) {
  for (char c : v) {
    if (!http::chars::is_value(c)) return false;
  }
  return true;
}

// Request-target bytes: visible ASCII, no space.
bool is_target_part(std::string_view s) {
  for (char c : s) {
    if ((http::chars::cls(c) & http::chars::kTarget) == 0) return false;
  }
  return true;
}

bool well_formed(const http::Header& h) { return is_token(h.name) && is_clean_value(h.value); }

// The field names the Connection fields among `headers` list, gathered
// once per head (a walk per field made the filter quadratic). Past
// kMax names it falls back to walking the fields for each lookup.
class ConnectionNames {
 public:
  explicit ConnectionNames(std::span<const http::Header> headers) : headers_(headers) {
    http::for_each_list_element(headers, "connection", [&](std::string_view item) {
      if (count_ == kMax) {
        overflow_ = true;
        return false;
      }
      names_[count_++] = item;
      return true;
    });
  }

  bool contains(std::string_view name) const {
    if (overflow_) {
      return !http::for_each_list_element(
          headers_, "connection", [&](std::string_view item) { return !iequals(item, name); });
    }
    for (size_t i = 0; i < count_; ++i) {
      if (iequals(names_[i], name)) return true;
    }
    return false;
  }

 private:
  static constexpr size_t kMax = 8;
  std::span<const http::Header> headers_;
  std::string_view names_[kMax];
  size_t count_ = 0;
  bool overflow_ = false;
};

bool starts_with_proxy(std::string_view name) {
  return name.size() >= 6 && iequals(name.substr(0, 6), "proxy-");
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// The client's values of a field, joined with ", " (RFC 9110 5.3), into
// `out` (appended). Returns whether there was any.
bool join_values(std::span<const http::Header> headers, std::string_view name, std::string& out) {
  bool any = false;
  for (const http::Header& h : headers) {
    if (!iequals(h.name, name) || !well_formed(h) || h.value.empty()) continue;
    if (any) out.append(", ");
    out.append(h.value);
    any = true;
  }
  return any;
}

std::string_view first_value(std::span<const http::Header> headers, std::string_view name) {
  for (const http::Header& h : headers) {
    if (iequals(h.name, name) && well_formed(h) && !h.value.empty()) return h.value;
  }
  return {};
}

enum class AddressKind { kIpv4, kIpv6, kObfuscated, kUnknown };

AddressKind address_kind(std::string_view a) {
  if (a.empty() || a.size() > 64) return AddressKind::kUnknown;
  if (a[0] == '_') {
    for (char c : a) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return AddressKind::kUnknown;
    }
    return AddressKind::kObfuscated;
  }
  bool colon = false;
  for (char c : a) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (c == ':') colon = true;
    if (!hex && c != ':' && c != '.') return AddressKind::kUnknown;
  }
  return colon ? AddressKind::kIpv6 : AddressKind::kIpv4;
}

// A Host value we may repeat: visible ASCII, no space, quote or backslash
// (so it can also go in a quoted-string as is).
bool is_clean_host(std::string_view h) {
  if (h.empty() || h.size() > 1024) return false;
  for (char c : h) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// Our Forwarded element: for=...;proto=...;host=...
void forwarded_element(const ForwardRequest& r, std::string& out) {
  out.append("for=");
  switch (address_kind(r.client_address)) {
    case AddressKind::kIpv4:
    case AddressKind::kObfuscated:
      out.append(r.client_address);
      break;
    case AddressKind::kIpv6:
      out.append("\"[");
      out.append(r.client_address);
      out.append("]\"");
      break;
    case AddressKind::kUnknown:
      out.append("unknown");
      break;
  }
  out.append(r.tls ? ";proto=https" : ";proto=http");
  if (is_clean_host(r.host)) {
    out.append(";host=");
    if (is_token(r.host)) {
      out.append(r.host);
    } else {
      out.push_back('"');
      out.append(r.host);
      out.push_back('"');
    }
  }
}

void via_entry(uint8_t version_minor, std::string_view name, std::string& out) {
  out.append(version_minor == 0 ? "1.0 " : "1.1 ");
  out.append(name);
}

// Fields this proxy writes itself, or drops, instead of passing on.
bool rewritten_in_request(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "host", "content-length", "expect", "x-forwarded-for", "x-forwarded-proto",
      "x-forwarded-host", "forwarded", "via"};
  for (std::string_view n : kNames) {
    if (iequals(name, n)) return true;
  }
  return false;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade") ||
         starts_with_proxy(name);
}

void rewrite_path(const ProxyRoute& route, std::string_view path, std::string& out) {
  if (!route.strip_prefix && route.replace_prefix.empty()) {
    out.append(path);
    return;
  }
  std::string_view rest = path.substr(std::min(route.prefix.size(), path.size()));
  std::string_view head = route.strip_prefix ? std::string_view("/") : route.replace_prefix;
  out.append(head);
  // One '/' between the parts: "/v2/" + "/x" and "/" + "users" alike.
  if (!rest.empty() && rest.front() == '/' && out.back() == '/') rest.remove_prefix(1);
  if (!rest.empty() && rest.front() != '/' && out.back() != '/') out.push_back('/');
  out.append(rest);
}

ForwardResult build_upstream_request(const ForwardRequest& r, const ProxyRoute& route,
                                     std::string& out) {
  out.clear();
  ForwardResult result;
  std::string_view host = route.preserve_host && is_clean_host(r.host) ? r.host : r.backend_host;
  if (!is_token(r.method) || r.path.empty() || r.path[0] != '/' || !is_target_part(r.path) ||
      !is_target_part(r.query) || !is_clean_host(host) || !is_token(r.via_name) ||
      !is_clean_value(r.request_id) || !r.path.starts_with(route.prefix)) {
    result.ok = false;
    return result;
  }
  // One allocation for the head: the client's fields, the request line
  // and the fields added here (Host, Via, X-Forwarded-*, Forwarded, the
  // request id), with room to spare. Grown append by append it was five
  // of the proxy's seven allocations per request.
  size_t need = 384 + r.method.size() + r.path.size() + route.replace_prefix.size() + r.query.size() +
                host.size() + r.request_id.size() + 3 * r.client_address.size();
  for (const http::Header& h : r.headers) need += h.name.size() + h.value.size() + 4;
  out.reserve(need);
  out.append(r.method);
  out.push_back(' ');
  rewrite_path(route, r.path, out);
  if (!r.query.empty()) {
    out.push_back('?');
    out.append(r.query);
  }
  out.append(" HTTP/1.1\r\n");
  field(out, "Host", host);

  bool has_request_id = false;
  const ConnectionNames connection(r.headers);
  for (const http::Header& h : r.headers) {
    if (!well_formed(h)) {
      ++result.dropped;
      continue;
    }
    if (is_hop_by_hop(h.name) || rewritten_in_request(h.name) || connection.contains(h.name)) {
      continue;
    }
    if (iequals(h.name, "x-request-id")) has_request_id = true;
    field(out, h.name, h.value);
  }
  if (!has_request_id && !r.request_id.empty()) field(out, "X-Request-ID", r.request_id);

  bool trust = route.trust_forwarded;
  AddressKind kind = address_kind(r.client_address);
  std::string_view client =
      kind == AddressKind::kUnknown ? std::string_view("unknown") : r.client_address;
  out.append("X-Forwarded-For: ");
  if (trust && join_values(r.headers, "x-forwarded-for", out)) out.append(", ");
  out.append(client);
  out.append("\r\n");
  std::string_view proto = trust ? first_value(r.headers, "x-forwarded-proto") : std::string_view();
  field(out, "X-Forwarded-Proto", !proto.empty() ? proto : (r.tls ? "https" : "http"));
  std::string_view fwd_host = trust ? first_value(r.headers, "x-forwarded-host") : std::string_view();
  if (fwd_host.empty() && is_clean_host(r.host)) fwd_host = r.host;
  if (!fwd_host.empty()) field(out, "X-Forwarded-Host", fwd_host);
  out.append("Forwarded: ");
  if (trust && join_values(r.headers, "forwarded", out)) out.append(", ");
  forwarded_element(r, out);
  out.append("\r\n");
  out.append("Via: ");
  if (join_values(r.headers, "via", out)) out.append(", ");
  via_entry(r.version_minor, r.via_name, out);
  out.append("\r\n");

  if (r.websocket) out.append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  if (r.body == ForwardRequest::Body::kLength) {
    char digits[24];
    size_t n = 0;
    uint64_t v = r.content_length;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    out.append("Content-Length: ");
    while (n > 0) out.push_back(digits[--n]);
    out.append("\r\n");
  } else if (r.body == ForwardRequest::Body::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
  return result;
}

ResponseFilter filter_response_headers(std::span<const http::Header> upstream, bool upgrade,
                                       uint8_t version_minor, std::string_view via_name,
                                       std::string& via_buf, std::span<http::HeaderField> out) {
  ResponseFilter f;
  via_buf.clear();
  auto emit = [&](std::string_view name, std::string_view value) {
    if (f.count == out.size()) {
      f.truncated = true;
      return;
    }
    out[f.count++] = {name, value};
  };
  const ConnectionNames connection(upstream);
  for (const http::Header& h : upstream) {
    if (!well_formed(h)) {
      ++f.dropped;
      continue;
    }
    if (iequals(h.name, "via")) {
      if (!h.value.empty()) {
        if (!via_buf.empty()) via_buf.append(", ");
        via_buf.append(h.value);
      }
      continue;
    }
    bool keep_upgrade = upgrade && iequals(h.name, "upgrade");
    if (!keep_upgrade && (is_hop_by_hop(h.name) || connection.contains(h.name))) continue;
    if (iequals(h.name, "content-length")) continue;
    emit(h.name, h.value);
  }
  if (upgrade) emit("Connection", "Upgrade");
  if (!via_buf.empty()) via_buf.append(", ");
  via_entry(version_minor, is_token(via_name) ? via_name : std::string_view("ringshard"), via_buf);
  emit("Via", via_buf);
  return f;
}

}  // namespace ringshard::proxy
