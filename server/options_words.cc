// server/options_words.cc: the syntax checks of string settings.
#include "server/options_words.h"

#include "http/chars.h"
#include "server/options_units.h"
#include "server/options_values.h"
#include "server/plugin_names.h"

namespace ringshard::server::options_detail {
namespace {

using http::chars::is_tchar;  // RFC 9110 section 5.6.2
using http::chars::to_lower;

std::optional<std::string> token(std::string_view text, size_t max, std::string_view what) {
  if (text.empty() || text.size() > max) {
    return quote(text) + " is not " + std::string(what) + " (1.." + std::to_string(max) +
           " characters)";
  }
  for (char c : text) {
    if (!is_tchar(c)) {
      return quote(text) + " is not " + std::string(what) + "; " + quote(std::string_view(&c, 1)) +
             " is not allowed";
    }
  }
  return std::nullopt;
}

// A host of an origin: a DNS name (letters, digits, '-', '.'), which also
// covers IPv4, or a bracketed IPv6 literal.
bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  if (host.front() == '[') {
    if (host.size() < 4 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      bool hex = (c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'f');
      if (!hex && c != ':' && c != '.') return false;
    }
    return true;
  }
  if (host.front() == '.' || host.back() == '.' || host.front() == '-') return false;
  for (char c : host) {
    bool ok = (to_lower(c) >= 'a' && to_lower(c) <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.';
    if (!ok) return false;
  }
  return host.find("..") == std::string_view::npos;
}

}  // namespace

std::optional<std::string> check_access_log(std::string_view text, std::string& out) {
  if (text.empty() || text == "off") {
    out.clear();
    return std::nullopt;
  }
  if (auto problem = path_problem(text)) return problem;
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_header_value(std::string_view text, std::string& out) {
  if (text.size() > 4096) return quote(text) + " is longer than 4096 bytes";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return quote(text) + " contains a control character (CR, LF and NUL are never "
                           "allowed in a header value)";
    }
  }
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_origin(std::string_view text, std::string& out) {
  if (text == "*") {
    out = "*";
    return std::nullopt;
  }
  auto bad = [&text] {
    return quote(text) + " is not an origin; use \"*\" or scheme://host[:port] with no "
                         "path (https://example.com, http://localhost:8080)";
  };
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad();
  std::string_view scheme = text.substr(0, sep);
  if (to_lower(scheme[0]) < 'a' || to_lower(scheme[0]) > 'z') return bad();
  for (char c : scheme) {
    bool ok = (to_lower(c) >= 'a' && to_lower(c) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '-' || c == '.';
    if (!ok) return bad();
  }
  std::string_view rest = text.substr(sep + 3);
  std::string_view host = rest;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    std::string_view port = rest.substr(colon + 1);
    uint64_t n = 0;
    if (parse_decimal(port, n) != NumberStatus::kOk || n == 0 || n > 65535 ||
        port.front() == '0') {
      return bad();
    }
  }
  if (!valid_host(host)) return bad();
  out = to_lower(text);
  return std::nullopt;
}

std::optional<std::string> check_method(std::string_view text, std::string& out) {
  if (auto problem = token(text, 32, "an HTTP method")) return problem;
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_header_name(std::string_view text, std::string& out) {
  if (auto problem = token(text, 64, "a header name")) return problem;
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_type_prefix(std::string_view text, std::string& out) {
  bool ok = !text.empty() && text.size() <= 127;
  for (char c : text) ok = ok && (is_tchar(c) || c == '/');
  if (!ok) {
    return quote(text) + " is not a content type prefix (like \"text/\" or "
                         "\"application/json\")";
  }
  out = to_lower(text);
  return std::nullopt;
}

std::optional<std::string> check_name(std::string_view text, std::string& out) {
  bool ok = !text.empty() && text.size() <= 64;
  for (char c : text) {
    ok = ok && ((to_lower(c) >= 'a' && to_lower(c) <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-');
  }
  if (!ok) return quote(text) + " is not a name; use 1..64 of A-Z, a-z, 0-9, '_' and '-'";
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_plugin_ref(std::string_view text, std::string& out) {
  if (is_plugin_path(text)) {
    if (auto problem = path_problem(text)) return quote(text) + ": " + *problem;
    if (text.size() > 4096) return quote(text) + " is longer than 4096 bytes";
  } else if (!is_valid_plugin_name(text)) {
    return quote(text) + " is not a plugin name (1..64 of a-z, 0-9, '_' and '-') nor a path "
                         "to a .so (with a '/', e.g. ./x.so)";
  }
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_sha256_hex(std::string_view text, std::string& out) {
  bool ok = text.size() == 64;
  for (char c : text) ok = ok && ((c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'f'));
  if (!ok) {
    return quote(text) + " is not a SHA-256 in hex (64 hex digits, e.g. the output of "
                         "`printf %s TOKEN | sha256sum`)";
  }
  out = to_lower(text);
  return std::nullopt;
}

std::optional<std::string> check_scope(std::string_view text, std::string& out) {
  bool ok = !text.empty() && text.size() <= 128;
  for (char c : text) ok = ok && c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ',';
  if (!ok) {
    return quote(text) + " is not a scope; use 1..128 printable ASCII characters "
                         "without space, '\"', '\\' or ','";
  }
  out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> check_path_prefix(std::string_view text, std::string& out) {
  bool ok = !text.empty() && text.size() <= 1024 && text.front() == '/';
  for (char c : text) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    return quote(text) + " is not a path prefix; it starts with '/' and has printable "
                         "ASCII only, no spaces";
  }
  out = std::string(text);
  return std::nullopt;
}

bool split_list(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  if (text.find_first_not_of(' ') == std::string_view::npos) return true;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string_view entry = text.substr(pos, comma == std::string_view::npos ? text.npos
                                                                              : comma - pos);
    size_t first = entry.find_first_not_of(' ');
    if (first == std::string_view::npos) return false;
    entry = entry.substr(first, entry.find_last_not_of(' ') - first + 1);
    out.emplace_back(entry);
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

}  // namespace ringshard::server::options_detail
