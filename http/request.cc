// http/request.cc: helpers over the parsed request (method names, the
// case-insensitive header lookup). Nothing here allocates.
#include "http/request.h"

namespace ringshard::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kPatch: return "PATCH";
    case Method::kOptions: return "OPTIONS";
    case Method::kConnect: return "CONNECT";
    case Method::kTrace: return "TRACE";
    case Method::kUnknown: break;
  }
  return "UNKNOWN";
}

std::string_view Request::header(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return {};
}

}  // namespace ringshard::http
