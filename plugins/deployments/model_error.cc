// plugins/deployments/model_error.cc: ApiError's JSON body.
#include "plugins/deployments/model_error.h"

#include "plugins/deployments/json_writer.h"

namespace ringshard::deployments {
namespace {

std::string_view generic_message(uint16_t status) {
  switch (status) {
    case 400: return "invalid request";
    case 404: return "not found";
    case 413: return "request body too large";
    default: return status >= 500 ? "internal error" : "request refused";
  }
}

}  // namespace

std::string render_error(const ApiError& e, std::string_view request_id) {
  std::string message = e.message;
  if (message.empty()) {
    if (!e.field.empty()) {
      message = e.field;
      if (!e.reason.empty()) message += ' ' + e.reason;
    } else if (!e.reason.empty()) {
      message = e.reason;
    } else {
      message = generic_message(e.status);
    }
  }
  std::string out;
  out.reserve(96 + message.size() + e.field.size() + e.reason.size() + request_id.size());
  JsonWriter w(out);
  w.begin_object().key("error").begin_object();
  w.key("code").string(e.code.empty() ? std::string_view("invalid_request") : e.code);
  w.key("message").string(message);
  w.key("details").begin_object();
  if (!e.field.empty()) w.key("field").string(e.field);
  if (!e.reason.empty()) w.key("reason").string(e.reason);
  if (!request_id.empty()) w.key("request_id").string(request_id);
  w.end_object().end_object().end_object();
  return out;
}

ApiError field_error(std::string_view field, std::string_view reason) {
  ApiError e;
  e.field = std::string(field);
  e.reason = std::string(reason);
  e.message = e.field + ' ' + e.reason;
  return e;
}

ApiError not_found_error(std::string_view id) {
  ApiError e;
  e.status = 404;
  e.code = "not_found";
  e.message = "deployment ";
  e.message += clip_echo(id);
  e.message += " not found";
  return e;
}

std::string clip_echo(std::string_view s) {
  if (s.size() <= kMaxEcho) return std::string(s);
  size_t n = kMaxEcho;
  // Back off over continuation bytes so a multi-byte character is not cut.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

}  // namespace ringshard::deployments
