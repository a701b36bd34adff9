#include "http/status.h"

#include <array>

namespace ringshard::http {

namespace {
constexpr std::string_view reason_of(uint16_t status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// Every status line 100..599, encoded at compile time: status_line() is an
// index, with no initialisation guard and no indirection through strings.
struct StatusLines {
  static constexpr size_t kWidth = 48;
  std::array<std::array<char, kWidth>, 500> text{};
  std::array<uint8_t, 500> size{};
  constexpr StatusLines() {
    for (uint16_t s = 100; s < 600; ++s) {
      auto& t = text[s - 100];
      size_t n = 0;
      for (char c : std::string_view("HTTP/1.1 ")) t[n++] = c;
      t[n++] = static_cast<char>('0' + s / 100);
      t[n++] = static_cast<char>('0' + s / 10 % 10);
      t[n++] = static_cast<char>('0' + s % 10);
      t[n++] = ' ';
      for (char c : reason_of(s)) t[n++] = c;
      t[n++] = '\r';
      t[n++] = '\n';
      size[s - 100] = static_cast<uint8_t>(n);
    }
  }
};
constexpr StatusLines kStatusLines{};
}  // namespace

std::string_view reason_phrase(uint16_t status) { return reason_of(status); }

std::string_view status_line(uint16_t status) {
  if (status < 100 || status > 599) status = 500;
  return {kStatusLines.text[status - 100].data(), kStatusLines.size[status - 100]};
}

std::string_view error_code(uint16_t status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 417: return "expectation_failed";
    case 422: return "unprocessable_entity";
    case 426: return "upgrade_required";
    case 429: return "rate_limit_exceeded";
    case 431: return "header_fields_too_large";
    case 500: return "internal_error";
    case 501: return "not_implemented";
    case 502: return "bad_gateway";
    case 503: return "unavailable";
    case 504: return "gateway_timeout";
    case 505: return "http_version_not_supported";
    default: return status >= 500 ? "server_error" : "client_error";
  }
}

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

std::string error_body(uint16_t status, std::string_view message, std::string_view request_id) {
  if (request_id.empty()) return error_body(status, message);
  std::string out = R"({"error":{"code":")";
  out += error_code(status);
  out += R"(","message":")";
  append_json_escaped(out, message);
  out += R"(","details":{"request_id":")";
  append_json_escaped(out, request_id);
  out += R"("}}})";
  return out;
}

std::string error_body(uint16_t status, std::string_view message) {
  std::string out = R"({"error":{"code":")";
  out += error_code(status);
  out += R"(","message":")";
  append_json_escaped(out, message);
  out += R"(","details":{}}})";
  return out;
}

}  // namespace ringshard::http
