// libFuzzer target for plugins/deployments/model_create.h (parse_create over
// BodyParser, simdjson On-Demand underneath), checked against json/json.h,
// the project's own strict parser. Besides crashes under the sanitizers it
// aborts when:
//  - an accepted body holds a value outside its rule: name not 1..63 of
//    [a-z0-9-] with a letter or digit at both ends, image not 1..255 bytes
//    of valid UTF-8 without control characters, cpu not 1..64, memory not
//    64..1048576;
//  - the two parsers disagree on what JSON is: json::parse accepts and
//    parse_create says malformed_json, or json::parse refuses (for a reason
//    other than its own limits) and parse_create does not say
//    malformed_json, unless it stopped first at its own size, depth or
//    value-count limit;
//  - a refusal is not 400/413 with a code, or its rendered body is not a
//    JSON object {"error":{"code","message","details"}};
//  - a reused parser answers differently from a fresh one;
//  - an accepted request, rendered back with the JSON writer, does not
//    parse to the same request (the writer's escaping round-trips).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/json.h"
#include "plugins/deployments/json_writer.h"
#include "plugins/deployments/model_create.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard;
using namespace ringshard::deployments;

constexpr const char* kFuzzTarget = "deployment_body";

void check_bounds(const CreateRequest& r) {
  FUZZ_CHECK(!r.name.empty() && r.name.size() <= 63);
  for (char c : r.name) {
    FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  FUZZ_CHECK(r.name.front() != '-' && r.name.back() != '-');
  FUZZ_CHECK(!r.image.empty() && r.image.size() <= 255);
  for (unsigned char c : r.image) FUZZ_CHECK(c >= 0x20 && c != 0x7F);
  // Valid UTF-8: json.h (which checks it) reads the escaped image back
  // unchanged, where the writer would have replaced a bad byte.
  std::string quoted;
  append_json_string(quoted, r.image);
  const std::optional<json::Value> back = json::parse(quoted);
  FUZZ_CHECK(back && back->as_string() == r.image);
  FUZZ_CHECK(r.resources.cpu >= 1 && r.resources.cpu <= 64);
  FUZZ_CHECK(r.resources.memory_mib >= 64 && r.resources.memory_mib <= 1048576);
}

void check_error(const ApiError& e) {
  FUZZ_CHECK(e.status == 400 || e.status == 413);
  FUZZ_CHECK(!e.code.empty() && !e.message.empty());
  const std::optional<json::Value> body = json::parse(render_error(e, "req\"1"));
  FUZZ_CHECK(body && body->is_object());
  const json::Value* err = body->find("error");
  FUZZ_CHECK(err && err->is_object());
  FUZZ_CHECK(err->find("code") && err->find("code")->as_string() == e.code);
  FUZZ_CHECK(err->find("message") && err->find("message")->is_string());
  FUZZ_CHECK(err->find("details") && err->find("details")->is_object());
}

bool stopped_at_own_limit(const ApiError& e) {
  return e.code == "payload_too_large" || e.reason.starts_with("nested deeper than") ||
         e.reason.starts_with("more than ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static BodyParser shared;

  CreateRequest req;
  ApiError err;
  const bool ok = parse_create(in, req, err);

  CreateRequest again;
  ApiError err_again;
  const bool ok_again = parse_create(shared, in, again, err_again);
  FUZZ_CHECK(ok == ok_again);
  FUZZ_CHECK(err.code == err_again.code && err.field == err_again.field &&
             err.reason == err_again.reason);

  json::ParseError perr;
  const std::optional<json::Value> v = json::parse(in, &perr);
  const std::string_view m = perr.message;
  const bool json_limit = !v && (m == "input exceeds max_bytes" ||
                                 m == "nesting exceeds max_depth" ||
                                 m == "array or object exceeds max_items" ||
                                 m == "string exceeds max_string_bytes" ||
                                 m == "number out of range");  // valid JSON (1e400)
  if (v) {
    FUZZ_CHECK(ok || err.code != "malformed_json");
  } else if (!json_limit && !(!ok && stopped_at_own_limit(err))) {
    FUZZ_CHECK(!ok);
    FUZZ_CHECK(err.code == "malformed_json");
  }

  if (!ok) {
    check_error(err);
    return 0;
  }
  FUZZ_CHECK(req.name == again.name && req.image == again.image &&
             req.resources.cpu == again.resources.cpu &&
             req.resources.memory_mib == again.resources.memory_mib);
  check_bounds(req);

  std::string body;
  JsonWriter w(body);
  w.begin_object().key("name").string(req.name).key("image").string(req.image);
  w.key("resources").begin_object().key("cpu").integer(req.resources.cpu);
  w.key("memory").integer(req.resources.memory_mib).end_object().end_object();
  CreateRequest round;
  ApiError round_err;
  FUZZ_CHECK(parse_create(shared, body, round, round_err));
  FUZZ_CHECK(round.name == req.name && round.image == req.image &&
             round.resources.cpu == req.resources.cpu &&
             round.resources.memory_mib == req.resources.memory_mib);
  return 0;
}
