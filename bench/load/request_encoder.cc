#include "bench/load/request_encoder.h"

namespace ringshard::load {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view find_header(const std::vector<std::string>& headers, std::string_view name) {
  for (const std::string& h : headers) {
    const size_t colon = h.find(':');
    if (colon != std::string::npos && iequal(std::string_view(h).substr(0, colon), name)) {
      return trim(std::string_view(h).substr(colon + 1));
    }
  }
  return {};
}

std::string host_header_value(const LoadOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return (v6 ? "[" : "") + o.host + (v6 ? "]" : "") + ":" + std::to_string(o.port);
}

std::string encode_request(const LoadOptions& o, std::string_view path, std::string_view method) {
  std::string req;
  req.reserve(128 + o.body.size());
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  if (find_header(o.headers, "host").data() == nullptr) {
    req.append("Host: ").append(host_header_value(o)).append("\r\n");
  }
  for (const std::string& h : o.headers) req.append(h).append("\r\n");
  if (o.mode == Mode::kClose && o.ws == WsMode::kNone) req.append("Connection: close\r\n");
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (o.body_given || !o.body.empty() || body_method) {
    req.append("Content-Length: ").append(std::to_string(o.body.size())).append("\r\n");
  }
  req.append("\r\n").append(o.body);
  return req;
}

}  // namespace ringshard::load
