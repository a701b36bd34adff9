// libFuzzer target for proxy/forward_headers.h. The input is a request as
// the proxy sees it: byte 0 holds flags (trust_forwarded, preserve_host,
// websocket, tls, strip_prefix, body framing), then records separated by
// 0xff: method, path, query, client address, Host, then header fields
// "NAME 0xfe VALUE". Besides crashes under the sanitizers it checks:
//  - a built head is lines ending in CRLF with no other CR, LF or NUL, a
//    request line, Host first and once, "Name: value" fields with token
//    names, and the blank line at the end: no input injects a line;
//  - no hop-by-hop field and no field named by a client Connection field
//    is passed on (only the proxy's own Connection/Upgrade of a forwarded
//    WebSocket upgrade);
//  - the response filter writes no hop-by-hop field (but the Upgrade of a
//    101), no CR/LF/NUL, never more than its output holds, and ends with Via;
//  - a cookie found for the hash key (proxy/request_key.h) lies inside a
//    Cookie field's value and holds no ';'; a missing key falls back to the
//    client address.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "proxy/forward_headers.h"
#include "proxy/request_key.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ringshard::http::Header;
using ringshard::http::HeaderField;
using ringshard::http::iequals;
namespace proxy = ringshard::proxy;

constexpr const char* kFuzzTarget = "forward-headers";

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool clean(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// The fields the proxy writes itself (they may share a name with one a
// client's Connection field lists).
bool ours(std::string_view name) {
  for (std::string_view n : {"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                             "forwarded", "via", "x-request-id", "content-length",
                             "transfer-encoding", "connection", "upgrade"}) {
    if (iequals(name, n)) return true;
  }
  return false;
}

bool named_by(std::string_view name, const std::vector<Header>& headers) {
  for (const Header& h : headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (iequals(item, name)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> records;
  while (records.size() < 300) {
    size_t sep = rest.find('\xff');
    records.push_back(rest.substr(0, sep));
    if (sep == std::string_view::npos) break;
    rest = rest.substr(sep + 1);
  }
  auto record = [&](size_t i) { return i < records.size() ? records[i] : std::string_view(); };
  std::vector<Header> headers;
  for (size_t i = 5; i < records.size(); ++i) {
    size_t sep = records[i].find('\xfe');
    headers.push_back({records[i].substr(0, sep),
                       sep == std::string_view::npos ? std::string_view()
                                                     : records[i].substr(sep + 1)});
  }

  proxy::ProxyRoute route;
  route.prefix = "/";
  route.upstream = "u";
  route.trust_forwarded = flags & 1;
  route.preserve_host = flags & 2;
  route.strip_prefix = flags & 16;
  proxy::ForwardRequest req;
  req.method = record(0);
  req.path = record(1);
  req.query = record(2);
  req.client_address = record(3);
  req.host = record(4);
  req.headers = headers;
  req.websocket = flags & 4;
  req.tls = flags & 8;
  req.backend_host = "10.0.0.1:8080";
  req.request_id = "fuzz-id";
  req.body = static_cast<proxy::ForwardRequest::Body>((flags >> 5) % 3);
  req.content_length = size;

  std::string out;
  proxy::ForwardResult result = proxy::build_upstream_request(req, route, out);
  if (!result.ok) {
    FUZZ_CHECK(out.empty());
  } else {
    FUZZ_CHECK(out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0);
    std::string_view head(out);
    head.remove_suffix(2);  // the blank line
    size_t line_no = 0;
    size_t hosts = 0;
    while (!head.empty()) {
      size_t end = head.find("\r\n");
      FUZZ_CHECK(end != std::string_view::npos);
      std::string_view line = head.substr(0, end);
      head = head.substr(end + 2);
      FUZZ_CHECK(clean(line));
      if (line_no++ == 0) {
        FUZZ_CHECK(line.ends_with(" HTTP/1.1"));
        FUZZ_CHECK(line.find(' ') != std::string_view::npos && line[line.find(' ') + 1] == '/');
        continue;
      }
      size_t colon = line.find(": ");
      FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 2);
      for (char c : name) FUZZ_CHECK(is_tchar(c));
      if (iequals(name, "host")) {
        FUZZ_CHECK(line_no == 2);
        ++hosts;
      }
      if (iequals(name, "connection")) FUZZ_CHECK(req.websocket && value == "Upgrade");
      if (iequals(name, "upgrade")) FUZZ_CHECK(req.websocket && value == "websocket");
      FUZZ_CHECK(!iequals(name, "keep-alive") && !iequals(name, "te"));
      FUZZ_CHECK(!(name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")));
      if (iequals(name, "transfer-encoding")) {
        FUZZ_CHECK(req.body == proxy::ForwardRequest::Body::kChunked);
      }
      if (!ours(name)) FUZZ_CHECK(!named_by(name, headers));
    }
    FUZZ_CHECK(hosts == 1);
  }

  std::array<HeaderField, 32> fields;
  std::string via;
  const bool upgrade = flags & 4;
  proxy::ResponseFilter filtered =
      proxy::filter_response_headers(headers, upgrade, flags & 1, "ringshard", via, fields);
  FUZZ_CHECK(filtered.count <= fields.size());
  for (size_t i = 0; i < filtered.count; ++i) {
    std::string_view name = fields[i].name;
    FUZZ_CHECK(clean(name) && clean(fields[i].value) && !name.empty());
    if (iequals(name, "upgrade")) FUZZ_CHECK(upgrade);
    if (iequals(name, "connection")) FUZZ_CHECK(upgrade && fields[i].value == "Upgrade");
    FUZZ_CHECK(!iequals(name, "keep-alive") && !iequals(name, "te") &&
               !iequals(name, "transfer-encoding") && !iequals(name, "content-length"));
    FUZZ_CHECK(!(name.size() >= 6 && iequals(name.substr(0, 6), "proxy-")));
    if (!ours(name) && !iequals(name, "upgrade")) FUZZ_CHECK(!named_by(name, headers));
  }
  if (!filtered.truncated) {
    FUZZ_CHECK(filtered.count >= 1 && fields[filtered.count - 1].name == "Via");
  }

  // The Host record doubles as a cookie name.
  std::string_view cookie = proxy::find_cookie(headers, req.host);
  if (cookie.data() != nullptr && !cookie.empty()) {
    FUZZ_CHECK(cookie.find(';') == std::string_view::npos);
    bool inside = false;
    for (const Header& h : headers) {
      const char* begin = h.value.data();
      if (iequals(h.name, "cookie") && cookie.data() >= begin &&
          cookie.data() + cookie.size() <= begin + h.value.size()) {
        inside = true;
      }
    }
    FUZZ_CHECK(inside);
  }
  proxy::HashKey key{proxy::HashKey::Source::kCookie, std::string(req.host)};
  std::string_view hashed = proxy::request_key(key, headers, req.client_address);
  FUZZ_CHECK(hashed == req.client_address || hashed == cookie);
  return 0;
}
