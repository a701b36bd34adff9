#include "http/json_body.h"

#include <simdjson.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "http/request.h"
#include "http/status.h"

namespace ringshard::http {

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING);

namespace ondemand = simdjson::ondemand;

struct JsonBodyParser::Impl {
  ondemand::parser parser;
  std::string padded;  // body copy followed by kJsonPadding bytes
};

JsonBodyParser::JsonBodyParser() : impl_(std::make_unique<Impl>()) {}
JsonBodyParser::~JsonBodyParser() = default;
JsonBodyParser::JsonBodyParser(JsonBodyParser&&) noexcept = default;
JsonBodyParser& JsonBodyParser::operator=(JsonBodyParser&&) noexcept = default;

namespace {

std::string_view describe(simdjson::error_code e) {
  switch (e) {
    case simdjson::EMPTY: return "empty body";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::UNCLOSED_STRING: return "unterminated string";
    case simdjson::STRING_ERROR: return "invalid string (escape or control character)";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid literal";
    case simdjson::NUMBER_ERROR: return "invalid number";
    case simdjson::DEPTH_ERROR: return "nested too deeply";
    case simdjson::CAPACITY: return "body too large to parse";
    case simdjson::MEMALLOC: return "out of memory";
    default: return "malformed JSON";
  }
}

// RFC 8259 6: number = [ "-" ] int [ frac ] [ exp ]. Returns false when
// `s` is not one; `integral` says whether it has no frac and no exp.
bool scan_number(std::string_view s, bool& integral) {
  size_t i = 0;
  auto digits = [&] {
    const size_t b = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - b;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  integral = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
    integral = false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
    integral = false;
  }
  return i == s.size();
}

// An integral number token to int64; false when out of range.
bool to_int64(std::string_view s, int64_t& out) {
  const bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t v = 0;
  for (char c : s) {
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string between(int64_t min, int64_t max) {
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

std::string length_reason(const StringRule& rule) {
  if (rule.min == rule.max) {
    return "must be exactly " + std::to_string(rule.min) + " characters long";
  }
  return "must be between " + std::to_string(rule.min) + " and " +
         std::to_string(rule.max) + " characters long";
}

}  // namespace

// Walks the document depth-first, recording object members. Every value is
// read (strings unescaped, literals and numbers checked), because On-Demand
// validates only what is read. Returns false after recording an error.
struct JsonBody::Walker {
  JsonBody& body;
  std::string path;      // the dotted path of the member being walked
  std::string repeated;  // the first member path seen twice

  bool json_error(simdjson::error_code e) {
    body.fail_json(std::string(describe(e)));
    return false;
  }

  bool walk_object(ondemand::object object, uint32_t depth, bool record) {
    for (auto member : object) {
      ondemand::field field;
      if (auto e = std::move(member).get(field)) return json_error(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return json_error(e);
      const size_t parent_size = path.size();
      Entry* entry = nullptr;
      if (record) {
        if (!path.empty()) path += '.';
        path += key;
        if (!add_entry(entry)) return false;
      }
      ondemand::value value = field.value();
      if (!walk_value(value, depth, entry)) return false;
      path.resize(parent_size);
    }
    return true;
  }

  bool add_entry(Entry*& entry) {
    if (body.entries_.size() >= body.limits_.max_fields) {
      body.fail_json("more than " + std::to_string(body.limits_.max_fields) +
                     " members");
      return false;
    }
    if (body.arena_.size() + path.size() > std::numeric_limits<uint32_t>::max()) {
      body.fail_json("body too large to parse");
      return false;
    }
    for (const Entry& e : body.entries_) {
      if (body.path_of(e) == path) {
        // Reported after the walk, so malformed JSON later wins; the
        // repeated value is walked without being recorded.
        if (repeated.empty()) repeated = path;
        return true;
      }
    }
    Entry e;
    e.path_offset = static_cast<uint32_t>(body.arena_.size());
    e.path_size = static_cast<uint32_t>(path.size());
    body.arena_ += path;
    body.entries_.push_back(e);
    entry = &body.entries_.back();
    return true;
  }

  // `entry`: where to record the value, or nullptr inside arrays. It may be
  // invalidated by add_entry below it, so it is written before descending.
  bool walk_value(ondemand::value value, uint32_t depth, Entry* entry) {
    ondemand::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    switch (type) {
      case ondemand::json_type::object:
      case ondemand::json_type::array: {
        if (depth + 1 > body.limits_.max_depth) {
          body.fail_json("nested deeper than " +
                         std::to_string(body.limits_.max_depth) + " levels");
          return false;
        }
        if (type == ondemand::json_type::array) {
          if (entry) entry->kind = Kind::kArray;
          ondemand::array array;
          if (auto e = value.get_array().get(array)) return json_error(e);
          for (auto item : array) {
            ondemand::value v;
            if (auto e = std::move(item).get(v)) return json_error(e);
            if (!walk_value(v, depth + 1, nullptr)) return false;
          }
          return true;
        }
        if (entry) entry->kind = Kind::kObject;
        ondemand::object object;
        if (auto e = value.get_object().get(object)) return json_error(e);
        return walk_object(object, depth + 1, entry != nullptr);
      }
      case ondemand::json_type::string: {
        std::string_view s;
        if (auto e = value.get_string().get(s)) return json_error(e);
        if (entry) {
          if (body.arena_.size() + s.size() > std::numeric_limits<uint32_t>::max()) {
            body.fail_json("body too large to parse");
            return false;
          }
          entry->kind = Kind::kString;
          entry->text_offset = static_cast<uint32_t>(body.arena_.size());
          entry->text_size = static_cast<uint32_t>(s.size());
          body.arena_ += s;
        }
        return true;
      }
      case ondemand::json_type::number: {
        // The raw token, classified here: simdjson would refuse numbers it
        // cannot convert (1e400, 2^64), which are valid JSON.
        std::string_view raw = value.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' ||
                                raw.back() == '\n' || raw.back() == '\r')) {
          raw.remove_suffix(1);
        }
        bool integral = false;
        if (!scan_number(raw, integral)) return json_error(simdjson::NUMBER_ERROR);
        if (entry) {
          entry->kind = integral ? Kind::kInteger : Kind::kNumber;
          if (integral) entry->out_of_range = !to_int64(raw, entry->integer);
        }
        return true;
      }
      case ondemand::json_type::boolean: {
        bool b = false;
        if (auto e = value.get_bool().get(b)) return json_error(e);
        if (entry) {
          entry->kind = Kind::kBool;
          entry->boolean = b;
        }
        return true;
      }
      case ondemand::json_type::null: {
        bool is_null = false;
        if (auto e = value.is_null().get(is_null)) return json_error(e);
        if (!is_null) return json_error(simdjson::N_ATOM_ERROR);
        if (entry) entry->kind = Kind::kNull;
        return true;
      }
    }
    return json_error(simdjson::TAPE_ERROR);
  }
};

JsonBody::JsonBody(std::string_view body, const JsonBodyLimits& limits)
    : limits_(limits) {
  JsonBodyParser parser;
  parse(parser, body, 0);
}

JsonBody::JsonBody(JsonBodyParser& parser, std::string_view body,
                   const JsonBodyLimits& limits)
    : limits_(limits) {
  parse(parser, body, 0);
}

JsonBody::JsonBody(JsonBodyParser& parser, std::string_view body, size_t capacity,
                   const JsonBodyLimits& limits)
    : limits_(limits) {
  parse(parser, body, capacity);
}

void JsonBody::parse(JsonBodyParser& p, std::string_view body, size_t capacity) {
  limits_.max_depth = std::clamp<uint32_t>(limits_.max_depth, 1, kJsonMaxDepthCeiling);
  JsonBodyParser::Impl& impl = *p.impl_;
  simdjson::padded_string_view input;
  if (capacity >= body.size() + kJsonPadding) {
    input = simdjson::padded_string_view(body.data(), body.size(), capacity);
  } else {
    // resize() only grows the buffer once the parser has seen a big body.
    impl.padded.resize(body.size() + kJsonPadding);
    std::copy(body.begin(), body.end(), impl.padded.begin());
    std::fill(impl.padded.begin() + static_cast<std::ptrdiff_t>(body.size()),
              impl.padded.end(), ' ');
    input = simdjson::padded_string_view(impl.padded.data(), body.size(),
                                         impl.padded.size());
  }
  ondemand::document doc;
  if (auto e = impl.parser.iterate(input).get(doc)) {
    fail_json(std::string(describe(e)));
    return;
  }
  ondemand::json_type type;
  if (auto e = doc.type().get(type)) {
    fail_json(std::string(describe(e)));
    return;
  }
  // Paths and unescaped strings are about as long as the body: one
  // allocation each for the arena and the member list in the common case.
  arena_.reserve(body.size());
  entries_.reserve(16);
  Walker walker{*this, {}};
  // A root that is not an object is still walked: malformed JSON is
  // reported as such before "must be an object".
  bool walked = false;
  bool at_end_checked = false;
  const char* body_end = input.data() + input.size();
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object root;
      if (auto e = doc.get_object().get(root)) return fail_json(std::string(describe(e)));
      walked = walker.walk_object(root, 1, true);
      break;
    }
    case ondemand::json_type::array: {
      ondemand::array root;
      if (auto e = doc.get_array().get(root)) return fail_json(std::string(describe(e)));
      walked = true;
      for (auto item : root) {
        ondemand::value v;
        if (auto e = std::move(item).get(v)) return fail_json(std::string(describe(e)));
        if (!walker.walk_value(v, 1, nullptr)) return;
      }
      break;
    }
    case ondemand::json_type::string: {
      std::string_view ignored;
      if (auto e = doc.get_string().get(ignored)) return fail_json(std::string(describe(e)));
      walked = true;
      break;
    }
    case ondemand::json_type::number:
    case ondemand::json_type::boolean:
    case ondemand::json_type::null: {
      // Root scalars are checked from the raw token: simdjson's root-scalar
      // getters have let a literal with letters after it ("falseu") pass.
      // raw_json_token() peeks without consuming, so current_location()
      // would still point at the token: check the end here instead.
      std::string_view raw;
      if (auto e = doc.raw_json_token().get(raw)) return fail_json(std::string(describe(e)));
      if (raw.data() + raw.size() != body_end) return fail_json("bytes after the JSON value");
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' ||
                              raw.back() == '\n' || raw.back() == '\r')) {
        raw.remove_suffix(1);
      }
      bool integral = false;
      const bool valid = type == ondemand::json_type::number
                             ? scan_number(raw, integral)
                             : raw == "true" || raw == "false" || raw == "null";
      if (!valid) return fail_json("invalid value");
      at_end_checked = true;
      walked = true;
      break;
    }
  }
  if (!walked) return;
  // At the end of the input current_location() is OUT_OF_BOUNDS; anything
  // else is a token after the root value.
  const char* trailing = nullptr;
  if (!at_end_checked && doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return fail_json("bytes after the JSON value");
  }
  if (type != ondemand::json_type::object) fail({}, "the body must be a JSON object");
  if (!walker.repeated.empty()) fail(walker.repeated, "is given more than once");
}

std::string_view JsonBody::path_of(const Entry& e) const {
  return std::string_view(arena_).substr(e.path_offset, e.path_size);
}

void JsonBody::fail(std::string_view field, std::string reason) {
  if (error_.status != 0) return;
  error_.status = 400;
  error_.code = "invalid_request";
  error_.field = std::string(field);
  error_.reason = std::move(reason);
}

void JsonBody::fail_json(std::string reason) {
  if (error_.status != 0) return;
  entries_.clear();  // a half-walked document answers no questions
  error_.status = 400;
  error_.code = "invalid_json";
  error_.reason = std::move(reason);
}

JsonBody::Entry* JsonBody::lookup(std::string_view path, bool required) {
  if (error_.status != 0) return nullptr;
  Entry* found = nullptr;
  for (Entry& e : entries_) {
    const std::string_view p = path_of(e);
    if (p == path) {
      e.asked = true;
      found = &e;
    } else if (p.size() < path.size() && path.starts_with(p) &&
               path[p.size()] == '.') {
      e.asked = true;  // an ancestor: known even when the leaf is absent
      if (e.kind != Kind::kObject) {
        if (required || e.kind != Kind::kNull) fail(p, "must be an object");
        return nullptr;
      }
    }
  }
  if (found == nullptr && required) fail(path, "is required");
  return found;
}

std::optional<std::string_view> JsonBody::read_string(std::string_view path,
                                                      const StringRule& rule,
                                                      bool required) {
  Entry* e = lookup(path, required);
  if (e == nullptr || (!required && e->kind == Kind::kNull)) return std::nullopt;
  if (e->kind != Kind::kString) {
    fail(path, "must be a string");
    return std::nullopt;
  }
  const std::string_view s = std::string_view(arena_).substr(e->text_offset, e->text_size);
  const size_t n = code_points(s);
  if (n < rule.min || n > rule.max) {
    fail(path, length_reason(rule));
    return std::nullopt;
  }
  if (rule.allowed != nullptr && !rule.allowed(s)) {
    fail(path, std::string(rule.allowed_reason));
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> JsonBody::read_integer(std::string_view path, int64_t min,
                                              int64_t max, bool required) {
  Entry* e = lookup(path, required);
  if (e == nullptr || (!required && e->kind == Kind::kNull)) return std::nullopt;
  if (e->kind != Kind::kInteger) {
    fail(path, "must be an integer");
    return std::nullopt;
  }
  if (e->out_of_range || e->integer < min || e->integer > max) {
    fail(path, between(min, max));
    return std::nullopt;
  }
  return e->integer;
}

std::optional<bool> JsonBody::read_boolean(std::string_view path, bool required) {
  Entry* e = lookup(path, required);
  if (e == nullptr || (!required && e->kind == Kind::kNull)) return std::nullopt;
  if (e->kind != Kind::kBool) {
    fail(path, "must be a boolean");
    return std::nullopt;
  }
  return e->boolean;
}

std::string_view JsonBody::string(std::string_view path, const StringRule& rule) {
  return read_string(path, rule, true).value_or(std::string_view());
}
std::optional<std::string_view> JsonBody::optional_string(std::string_view path,
                                                          const StringRule& rule) {
  return read_string(path, rule, false);
}
int64_t JsonBody::integer(std::string_view path, int64_t min, int64_t max) {
  return read_integer(path, min, max, true).value_or(0);
}
std::optional<int64_t> JsonBody::optional_integer(std::string_view path, int64_t min,
                                                  int64_t max) {
  return read_integer(path, min, max, false);
}
bool JsonBody::boolean(std::string_view path) {
  return read_boolean(path, true).value_or(false);
}
std::optional<bool> JsonBody::optional_boolean(std::string_view path) {
  return read_boolean(path, false);
}
bool JsonBody::has(std::string_view path) { return lookup(path, false) != nullptr; }

bool JsonBody::ok() {
  if (error_.status == 0 && limits_.unknown_fields == UnknownFields::kReject) {
    for (const Entry& e : entries_) {
      if (!e.asked) {
        fail(path_of(e), "is not a known field");
        break;
      }
    }
  }
  return error_.status == 0;
}

std::string JsonBody::error_json() const {
  std::string out = "{\"error\":{\"code\":\"";
  out += error_.code.empty() ? std::string_view("invalid_request") : error_.code;
  out += "\",\"message\":\"";
  out += error_.code == "invalid_json" ? "the request body is not valid JSON"
                                       : "the request body is not valid";
  out += "\",\"details\":{";
  if (!error_.field.empty()) {
    out += "\"field\":\"";
    append_json_escaped(out, error_.field);
    out += "\",";
  }
  out += "\"reason\":\"";
  append_json_escaped(out, error_.reason);
  out += "\"}}}";
  return out;
}

bool is_json_content_type(std::string_view ct) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  const size_t semi = ct.find(';');
  const std::string_view type = trim(ct.substr(0, semi));
  constexpr std::string_view kApp = "application/";
  if (type.size() <= kApp.size() || !iequals(type.substr(0, kApp.size()), kApp)) {
    return false;
  }
  const std::string_view sub = type.substr(kApp.size());
  const bool json = iequals(sub, "json") ||
                    (sub.size() > 5 && iequals(sub.substr(sub.size() - 5), "+json"));
  if (!json) return false;
  std::string_view params = semi == std::string_view::npos ? std::string_view()
                                                           : ct.substr(semi + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq)), "charset")) continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!iequals(value, "utf-8")) return false;
  }
  return true;
}

std::string unsupported_media_type_json() {
  return "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":"
         "\"the request body must be JSON (Content-Type: application/json)\","
         "\"details\":{}}}";
}

}  // namespace ringshard::http
