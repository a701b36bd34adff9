// plugins/deployments/model_create.cc: the create body's rules, checked on
// BodyParser's tree. Known members are tracked with a bit each, so a
// repeated member is found without comparing every pair of keys; an
// unknown member is refused before its repeats could matter.
#include "plugins/deployments/model_create.h"

namespace ringshard::deployments {
namespace {

enum Seen : uint8_t { kName = 1, kImage = 2, kResources = 4, kCpu = 8, kMemory = 16 };

std::string between(int64_t min, int64_t max) {
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

std::string join(std::string_view prefix, std::string_view key) {
  std::string path(prefix);
  if (!path.empty()) path += '.';
  path += clip_echo(key);
  return path;
}

bool fail(ApiError& err, std::string_view field, std::string_view reason) {
  err = field_error(field, reason);
  return false;
}

// A string member into `out`.
bool read_string(const JsonNode& n, std::string_view field,
                 std::string_view (*problem)(std::string_view), std::string& out,
                 ApiError& err) {
  if (n.kind != JsonKind::kString) return fail(err, field, "must be a string");
  if (const std::string_view p = problem(n.text); !p.empty()) return fail(err, field, p);
  out.assign(n.text);
  return true;
}

bool read_integer(const JsonNode& n, std::string_view field, int64_t min, int64_t max,
                  int64_t& out, ApiError& err) {
  if (n.kind != JsonKind::kNumber || !n.integral) return fail(err, field, "must be an integer");
  int64_t v = 0;
  if (!json_token_to_int64(n.text, v) || v < min || v > max) {
    return fail(err, field, between(min, max));
  }
  out = v;
  return true;
}

bool read_resources(const BodyParser& tree, const JsonNode& obj, Resources& out,
                    unsigned& seen, ApiError& err) {
  for (uint32_t i = obj.first_child; i != kNoNode; i = tree.node(i).next) {
    const JsonNode& m = tree.node(i);
    unsigned bit = 0;
    if (m.key == "cpu") {
      bit = kCpu;
    } else if (m.key == "memory") {
      bit = kMemory;
    } else {
      return fail(err, join("resources", m.key), "unknown field");
    }
    if (seen & bit) return fail(err, join("resources", m.key), "duplicate key");
    seen |= bit;
    const bool ok = bit == kCpu
                        ? read_integer(m, "resources.cpu", kMinCpu, kMaxCpu, out.cpu, err)
                        : read_integer(m, "resources.memory", kMinMemoryMib, kMaxMemoryMib,
                                       out.memory_mib, err);
    if (!ok) return false;
  }
  return true;
}

bool is_label_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

std::string_view name_problem(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return "must be between 1 and 63 characters long";
  }
  for (char c : name) {
    if (!is_label_char(c)) return "must contain only a-z, 0-9 and '-'";
  }
  if (name.front() == '-' || name.back() == '-') {
    return "must start and end with a letter or a digit";
  }
  return {};
}

std::string_view image_problem(std::string_view image) {
  if (image.empty()) return "must not be empty";
  if (image.size() > kMaxImageBytes) return "must be at most 255 bytes";
  for (size_t i = 0; i < image.size(); ++i) {
    const auto c = static_cast<unsigned char>(image[i]);
    // C0 controls and DEL; C1 controls are U+0080-009F, UTF-8 C2 80..C2 9F.
    const bool c1 = c == 0xC2 && i + 1 < image.size() &&
                    static_cast<unsigned char>(image[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) return "must not contain control characters";
  }
  return {};
}

bool validate_create(const BodyParser& tree, uint32_t index, CreateRequest& out,
                     ApiError& err) {
  const JsonNode& root = tree.node(index);
  if (root.kind != JsonKind::kObject) {
    err = ApiError{};
    err.reason = "must be a JSON object";
    err.message = "request body must be a JSON object";
    return false;
  }
  out = CreateRequest{};
  unsigned seen = 0;
  for (uint32_t i = root.first_child; i != kNoNode; i = tree.node(i).next) {
    const JsonNode& m = tree.node(i);
    unsigned bit = 0;
    if (m.key == "name") {
      bit = kName;
    } else if (m.key == "image") {
      bit = kImage;
    } else if (m.key == "resources") {
      bit = kResources;
    } else {
      return fail(err, clip_echo(m.key), "unknown field");
    }
    if (seen & bit) return fail(err, m.key, "duplicate key");
    seen |= bit;
    bool ok = true;
    switch (bit) {
      case kName: ok = read_string(m, "name", name_problem, out.name, err); break;
      case kImage: ok = read_string(m, "image", image_problem, out.image, err); break;
      default:
        if (m.kind != JsonKind::kObject) return fail(err, "resources", "must be an object");
        ok = read_resources(tree, m, out.resources, seen, err);
    }
    if (!ok) return false;
  }
  if (!(seen & kName)) return fail(err, "name", "is required");
  if (!(seen & kImage)) return fail(err, "image", "is required");
  if (!(seen & kResources)) return fail(err, "resources", "is required");
  if (!(seen & kCpu)) return fail(err, "resources.cpu", "is required");
  if (!(seen & kMemory)) return fail(err, "resources.memory", "is required");
  return true;
}

bool parse_create(BodyParser& parser, std::string_view body, CreateRequest& out,
                  ApiError& err) {
  if (!parser.parse(body, kCreateLimits, err)) return false;
  return validate_create(parser, 0, out, err);
}

bool parse_create(std::string_view body, CreateRequest& out, ApiError& err) {
  BodyParser parser;
  return parse_create(parser, body, out, err);
}

}  // namespace ringshard::deployments
