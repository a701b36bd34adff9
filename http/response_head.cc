#include "http/response_head.h"

#include <charconv>
#include <cstring>

#include "http/status.h"

namespace ringshard::http {

namespace {

size_t digits(uint64_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

struct Writer {
  char* p;
  void put(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

}  // namespace

size_t response_head_size(const ResponseHead& h) {
  size_t n = status_line(h.status).size() + 2;  // + final CRLF
  if (!h.server.empty()) n += 10 + h.server.size();          // "Server: " CRLF
  if (!h.date.empty()) n += 8 + h.date.size();               // "Date: " CRLF
  if (!h.content_type.empty()) n += 16 + h.content_type.size();
  if (h.has_length) {
    n += 18 + digits(h.length);
  } else if (h.chunked) {
    n += 28;
  }
  if (h.connection == ResponseHead::Connection::kClose) n += 19;
  if (h.connection == ResponseHead::Connection::kKeepAlive) n += 24;
  for (const HeaderField& f : h.extra) n += f.name.size() + f.value.size() + 4;
  return n;
}

size_t serialize_response_head(const ResponseHead& h, char* out) {
  Writer w{out};
  w.put(status_line(h.status));
  if (!h.server.empty()) {
    w.put("Server: ");
    w.put(h.server);
    w.put("\r\n");
  }
  if (!h.date.empty()) {
    w.put("Date: ");
    w.put(h.date);
    w.put("\r\n");
  }
  if (!h.content_type.empty()) {
    w.put("Content-Type: ");
    w.put(h.content_type);
    w.put("\r\n");
  }
  if (h.has_length) {
    w.put("Content-Length: ");
    w.p = std::to_chars(w.p, w.p + 20, h.length).ptr;
    w.put("\r\n");
  } else if (h.chunked) {
    w.put("Transfer-Encoding: chunked\r\n");
  }
  if (h.connection == ResponseHead::Connection::kClose) w.put("Connection: close\r\n");
  if (h.connection == ResponseHead::Connection::kKeepAlive) w.put("Connection: keep-alive\r\n");
  for (const HeaderField& f : h.extra) {
    w.put(f.name);
    w.put(": ");
    w.put(f.value);
    w.put("\r\n");
  }
  w.put("\r\n");
  return static_cast<size_t>(w.p - out);
}

}  // namespace ringshard::http
