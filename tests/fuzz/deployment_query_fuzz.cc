// libFuzzer target for the deployment API's small parsers: the GET query
// strings (plugins/deployments/model_query.h), list cursors (cursor.h) and
// the API-Version header (model_version.h). Besides crashes under the
// sanitizers it aborts when:
//  - an accepted query holds a value outside its rule: list limit not
//    1..1000 or a negative position; wait timeout not 1..300000 ms; a
//    stream deployment_id that valid_deployment_id() refuses;
//  - a refusal is not 400 invalid_request, echoes more than a clipped
//    field, or its rendered body is not JSON;
//  - query_param finds a value that percent_decode would not produce;
//  - a cursor decode_cursor accepts is not the one encode_cursor writes
//    for its position (one spelling per cursor), or a position does not
//    survive encode then decode;
//  - check_api_version accepts anything but a blank header or
//    "2026-12-01" between spaces and tabs, or refuses those.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "json/json.h"
#include "plugins/deployments/cursor.h"
#include "plugins/deployments/model_id.h"
#include "plugins/deployments/model_query.h"
#include "plugins/deployments/model_version.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard;
using namespace ringshard::deployments;

constexpr const char* kFuzzTarget = "deployment_query";

void check_refusal(const ApiError& e) {
  FUZZ_CHECK(e.status == 400);
  FUZZ_CHECK(e.code == "invalid_request");
  FUZZ_CHECK(!e.reason.empty() && !e.message.empty());
  FUZZ_CHECK(e.field.size() <= kMaxEcho + 3);
  const std::optional<json::Value> body = json::parse(render_error(e));
  FUZZ_CHECK(body && body->is_object() && body->find("error"));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  ListQuery list;
  ApiError err;
  if (parse_list_query(in, list, err)) {
    FUZZ_CHECK(list.limit >= 1 && list.limit <= kMaxListLimit);
    FUZZ_CHECK(list.after_position >= 0);
  } else {
    check_refusal(err);
  }

  WaitQuery wait;
  if (parse_wait_query(in, wait, err)) {
    FUZZ_CHECK(wait.timeout_ms >= 1 && wait.timeout_ms <= kMaxWaitMs);
  } else {
    check_refusal(err);
  }

  StreamQuery stream;
  if (parse_stream_query(in, stream, err)) {
    FUZZ_CHECK(!stream.deployment_id || valid_deployment_id(*stream.deployment_id));
  } else {
    check_refusal(err);
  }

  if (const std::optional<std::string> v = query_param(in, "status")) {
    FUZZ_CHECK(v->size() <= in.size());
  }
  std::string decoded;
  if (percent_decode(in, decoded)) FUZZ_CHECK(decoded.size() <= in.size());

  if (const std::optional<int64_t> p = decode_cursor(in)) {
    FUZZ_CHECK(*p >= 0);
    FUZZ_CHECK(encode_cursor(*p) == in);
  }
  if (size >= 8) {
    int64_t p = 0;
    std::memcpy(&p, data, sizeof p);
    if (p < 0) p = -(p + 1);
    FUZZ_CHECK(decode_cursor(encode_cursor(p)) == p);
  }

  const bool version_ok = check_api_version(in, err);
  const std::string_view t = trim(in);
  FUZZ_CHECK(version_ok == (t.empty() || t == kCurrentApiVersion));
  if (!version_ok) {
    FUZZ_CHECK(err.status == 400 && err.code == "unsupported_api_version");
    FUZZ_CHECK(json::parse(render_error(err)).has_value());
  }
  return 0;
}
