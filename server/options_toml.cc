// server/options_toml.cc: the TOML reader: toml++ parses, the settings
// table (options_table.h) decides what each key means.
#include "server/options_toml.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <tuple>
#include <vector>

#include "server/options_checks.h"
#include "server/options_table.h"
#include "server/options_toml_guard.h"
#include "server/options_units.h"
#include "server/options_values.h"
#include "server/tomlpp.h"

namespace ringshard::server {
namespace options_detail {
namespace {

// A config file is a few hundred bytes; the cap keeps "--config /dev/zero"
// from eating memory.
constexpr size_t kMaxConfigBytes = 1 << 20;

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string expected_type(const Setting& s) {
  switch (s.kind) {
    case Kind::kListen: return "a string like \"127.0.0.1:8080\"";
    case Kind::kOptionalListen: return "a string like \"0.0.0.0:8443\" or \"off\"";
    case Kind::kPath: return "a string";
    case Kind::kPathList: return "an array of strings like [\"cert.pem\"]";
    case Kind::kChoice: return "a string (" + choice_list(s) + ")";
    case Kind::kBool: return "a boolean (true or false)";
    case Kind::kCount: return "an integer";
    case Kind::kSize: return "an integer (bytes) or a string like \"16KiB\"";
    case Kind::kDuration:
      return "an integer (seconds) or a string like \"10s\"";
  }
  return "a value";
}

std::string where(std::string_view origin, const toml::source_region& region) {
  std::string out = printable(origin, 256);
  if (region.begin.line != 0) {
    out += ":" + std::to_string(region.begin.line) + ":" +
           std::to_string(region.begin.column);
  }
  return out + ": ";
}

// Walks a parsed document over a copy of the options and keeps the error
// that comes first in the text (toml::table iterates in key order).
class ConfigReader {
 public:
  ConfigReader(std::string_view origin, Options& out)
      : origin_(origin), out_(out) {}

  void read(const toml::table& root) {
    for (const auto& [key, node] : root) {
      if (find_section(key.str()) == nullptr) {
        unknown_root_key(key, node);
      } else if (const toml::table* table = node.as_table()) {
        read_section(key.str(), *table);
      } else {
        fail(key.source(), quote(key.str()) + " must be a table ([" +
                               std::string(key.str()) + "]), not " +
                               std::string(type_name(node.type())));
      }
    }
  }

  // The checks across settings that fail and involve a key of this document.
  // `first` gets the one that comes first in the text.
  CrossErrors cross_check(std::optional<std::string>* first) const {
    CrossErrors out;
    std::optional<Located> earliest;
    auto report = [&](std::optional<std::string>& slot, const toml::node& node,
                      std::string message) {
      Located e{node.source().begin.line, node.source().begin.column,
                where(origin_, node.source()) + message};
      if (!earliest || std::tie(e.line, e.column) <
                           std::tie(earliest->line, earliest->column)) {
        earliest = e;
      }
      slot = std::move(e.message);
    };
    if (out_.max_target_bytes > out_.max_head_bytes) {
      std::string head = format_size(out_.max_head_bytes);
      std::string target = format_size(out_.max_target_bytes);
      if (const toml::node* node = seen("http", "max_target_bytes")) {
        report(out.head_target, *node,
               "[http] max_target_bytes: " + target +
                   " is larger than max_head_bytes (" + head + ")");
      } else if (const toml::node* node = seen("http", "max_head_bytes")) {
        report(out.head_target, *node,
               "[http] max_head_bytes: " + head +
                   " is smaller than max_target_bytes (" + target +
                   "); lower max_target_bytes too");
      }
    }
    if (auto conflict = tls_listen_conflict(out_)) {
      if (const toml::node* node = seen("tls", "listen")) {
        report(out.tls_listen, *node, "[tls] listen: " + *conflict);
      } else if (const toml::node* node = seen("server", "listen")) {
        report(out.tls_listen, *node,
               "[server] listen: " + *conflict +
                   "; change [tls] listen or set it to \"off\"");
      }
    }
    if (auto counts = tls_pair_counts(out_)) {
      const toml::node* node = seen("tls", "certs");
      if (node == nullptr) node = seen("tls", "keys");
      if (node != nullptr) {
        report(out.tls_pairs, *node,
               "[tls] certs and keys must come in pairs " + *counts);
      }
    }
    if (earliest) *first = std::move(earliest->message);
    return out;
  }

  std::optional<std::string> error() const {
    if (!first_) return std::nullopt;
    return first_->message;
  }

 private:
  struct Located {
    uint32_t line;
    uint32_t column;
    std::string message;
  };

  void fail(const toml::source_region& region, std::string message) {
    Located e{region.begin.line, region.begin.column,
              where(origin_, region) + message};
    if (!first_ || std::tie(e.line, e.column) <
                       std::tie(first_->line, first_->column)) {
      first_ = std::move(e);
    }
  }

  void unknown_root_key(const toml::key& key, const toml::node& node) {
    if (node.is_table()) {
      fail(key.source(), "unknown section [" + printable(key.str()) +
                             "]; sections are " + section_list("and"));
      return;
    }
    std::string home = sections_with_key(key.str());
    if (!home.empty()) {
      fail(key.source(), "key " + quote(key.str()) + " belongs in " + home);
      return;
    }
    fail(key.source(), "unknown key " + quote(key.str()) + "; settings go in " +
                           section_list("or"));
  }

  void read_section(std::string_view section, const toml::table& table) {
    for (const auto& [key, node] : table) {
      const Setting* s = find_by_key(section, key.str());
      if (s == nullptr) {
        std::string message = "unknown key " + quote(key.str()) + " in [" +
                              std::string(section) + "]";
        std::string home = sections_with_key(key.str());
        if (!home.empty()) message += "; it belongs in " + home;
        fail(key.source(), message);
        continue;
      }
      seen_.push_back({s, &node});
      std::string name = "[" + std::string(section) + "] " + std::string(s->key);
      if (s->kind == Kind::kPathList && node.is_array()) {
        read_list(*s, *node.as_array(), name);
      } else if (auto problem = read_value(*s, node)) {
        fail(node.source(), name + ": " + *problem);
      }
    }
  }

  // A TOML array replaces the list (flags append instead).
  void read_list(const Setting& s, const toml::array& array,
                 const std::string& name) {
    if (array.size() > s.max) {
      fail(array.source(), name + ": at most " + std::to_string(s.max) +
                               " entries, got " + std::to_string(array.size()));
      return;
    }
    std::vector<std::string> entries;
    for (size_t i = 0; i < array.size(); ++i) {
      const toml::node& entry = *array.get(i);
      std::string label = name + ": entry " + std::to_string(i + 1) + ": ";
      const auto* str = entry.as_string();
      if (str == nullptr) {
        fail(entry.source(), label + "expected a string, got " +
                                 std::string(type_name(entry.type())));
        return;
      }
      if (auto problem = path_problem(str->get())) {
        fail(entry.source(), label + *problem);
        return;
      }
      entries.push_back(str->get());
    }
    out_.*s.list = std::move(entries);
  }

  std::optional<std::string> read_value(const Setting& s,
                                        const toml::node& node) {
    if (const auto* str = node.as_string()) {
      if (s.kind != Kind::kBool && s.kind != Kind::kCount &&
          s.kind != Kind::kPathList) {
        return apply_text(s, str->get(), out_);
      }
    } else if (const auto* integer = node.as_integer()) {
      int64_t n = integer->get();
      std::string shown = std::to_string(n);
      uint64_t scale = s.kind == Kind::kDuration ? kSecondMs : 1;
      uint64_t v = 0;
      if (s.kind == Kind::kCount || s.kind == Kind::kSize ||
          s.kind == Kind::kDuration) {
        if (n < 0 || __builtin_mul_overflow(static_cast<uint64_t>(n), scale, &v)) {
          return quote(shown) + " is out of range " + range_text(s);
        }
        return store_number(s, v, shown, out_);
      }
    } else if (const auto* boolean = node.as_boolean()) {
      if (s.kind == Kind::kBool) {
        s.set(out_, boolean->get());
        return std::nullopt;
      }
    }
    return "expected " + expected_type(s) + ", got " +
           std::string(type_name(node.type()));
  }

  // The node this document gave a setting, or nullptr.
  const toml::node* seen(std::string_view section, std::string_view key) const {
    for (const auto& [setting, node] : seen_) {
      if (setting->section == section && setting->key == key) return node;
    }
    return nullptr;
  }

  std::string_view origin_;
  Options& out_;
  std::vector<std::pair<const Setting*, const toml::node*>> seen_;
  std::optional<Located> first_;
};

}  // namespace

std::optional<OptionsError> apply_config(std::string_view text,
                                         std::string_view origin, Options& into,
                                         CrossErrors* deferred) {
  GuardedText guarded = guard_toml(text);
  toml::table root;
  try {
    root = toml::parse(guarded.text, origin);
  } catch (const toml::parse_error& e) {
    // The error toml++ found first wins, unless it is on the guard's line
    // or later: there it may be about the '\x01' the guard put in.
    const GuardHit* hit = guarded.hit ? &*guarded.hit : nullptr;
    if (hit == nullptr || e.source().begin.line < hit->line) {
      return OptionsError{OptionsError::kConfig,
                          where(origin, e.source()) +
                              printable(e.description(), 200)};
    }
  }
  if (guarded.hit) {
    toml::source_region region;
    region.begin = {guarded.hit->line, guarded.hit->column};
    return OptionsError{OptionsError::kConfig,
                        where(origin, region) + guarded.hit->message};
  }
  Options copy = into;
  ConfigReader reader(origin, copy);
  reader.read(root);
  if (auto error = reader.error()) {
    return OptionsError{OptionsError::kConfig, std::move(*error)};
  }
  std::optional<std::string> first_cross;
  CrossErrors cross = reader.cross_check(&first_cross);
  if (first_cross && deferred == nullptr) {
    return OptionsError{OptionsError::kConfig, std::move(*first_cross)};
  }
  if (deferred != nullptr) *deferred = std::move(cross);
  into = std::move(copy);
  return std::nullopt;
}

std::optional<std::string> read_config_file(const std::string& path,
                                            std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    char buf[128];
    return std::string(strerror_r(errno, buf, sizeof buf));
  }
  char chunk[4096];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    contents.append(chunk, n);
    if (contents.size() > kMaxConfigBytes) {
      std::fclose(file);
      return "larger than " + format_size(kMaxConfigBytes);
    }
  }
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    char buf[128];
    return std::string(strerror_r(error, buf, sizeof buf));
  }
  return std::nullopt;
}

}  // namespace options_detail

std::optional<OptionsError> apply_config_text(std::string_view toml_text,
                                              std::string_view origin,
                                              Options& into) {
  try {
    return options_detail::apply_config(toml_text, origin, into, nullptr);
  } catch (const std::exception& e) {
    return OptionsError{OptionsError::kConfig,
                        std::string(origin) + ": " + e.what()};
  }
}

}  // namespace ringshard::server
