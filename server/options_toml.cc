// server/options_toml.cc: the TOML reader: toml++ parses, the settings
// table (options_table.h) decides what each key means.
#include "server/options_toml.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <exception>
#include <sstream>
#include <tuple>
#include <vector>

#include "server/options_checks.h"
#include "server/options_table.h"
#include "server/options_toml_guard.h"
#include "server/options_units.h"
#include "server/options_values.h"
#include "server/plugin_names.h"
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
    case Kind::kText:
      return s.when_empty.empty() ? std::string("a string")
                                  : "a string (\"" + std::string(s.when_empty) + "\" for none)";
    case Kind::kList: return "an array of strings";
    case Kind::kRecords:
      return "an array of tables ([[" + std::string(s.section) + "]])";
  }
  return "a value";
}

std::string_view field_type(FieldKind kind) {
  switch (kind) {
    case FieldKind::kText: return "a string";
    case FieldKind::kTextList: return "an array of strings";
    case FieldKind::kCount: return "an integer";
    case FieldKind::kBool: return "a boolean (true or false)";
    case FieldKind::kDuration: return "an integer (seconds) or a string like \"10s\"";
    case FieldKind::kCountList: return "an array of integers";
  }
  return "a value";
}

// "name, sha256 and scopes".
std::string field_list(const Records& records) {
  std::string out;
  for (size_t i = 0; i < records.fields.size(); ++i) {
    if (i != 0) out += i + 1 == records.fields.size() ? " and " : ", ";
    out += records.fields[i].key;
  }
  return out;
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
      const Section* section = find_section(key.str());
      if (section == nullptr || key.str().find('.') != std::string_view::npos) {
        unknown_root_key(key, node);
      } else {
        read_nested(*section, key, node);
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
    if (auto conflict = admin_listen_conflict(out_)) {
      std::string_view other = conflict->with_tls ? "tls" : "server";
      if (const toml::node* node = seen("admin", "listen")) {
        report(out.admin_listen, *node, "[admin] listen: " + conflict->message);
      } else if (const toml::node* node = seen(other, "listen")) {
        report(out.admin_listen, *node,
               "[" + std::string(other) + "] listen: " + conflict->message +
                   "; change [admin] listen or set it to \"off\"");
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
    if (auto problem = proxy_routes_problem(out_)) {
      const toml::node* node = seen("route", "");
      if (node == nullptr) node = seen("upstream", "");
      if (node != nullptr) report(out.proxy_routes, *node, *problem);
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

  // A section's table, or the array of tables of a kArrayOfTables section.
  void read_nested(const Section& section, const toml::key& key, const toml::node& node) {
    if (section.shape == Shape::kArrayOfTables) {
      const Setting* s = find_by_key(section.name, "");
      seen_.push_back({s, &node});
      if (const toml::array* array = node.as_array()) {
        read_records(*s, *array);
      } else {
        fail(key.source(), quote(key.str()) + " must be an array of tables (" +
                               section_header(section) + "), not " +
                               std::string(type_name(node.type())));
      }
    } else if (const toml::table* table = node.as_table()) {
      read_section(section.name, *table);
    } else if (section.name == "plugins") {
      // plugins = [...] beside [plugins.NAME] tables is not even TOML.
      fail(key.source(), "'plugins' must be a table: list the plugins to load as [plugins] "
                         "load = [...]");
    } else {
      fail(key.source(), quote(key.str()) + " must be a table (" + section_header(section) +
                             "), not " + std::string(type_name(node.type())));
    }
  }

  void read_section(std::string_view section, const toml::table& table) {
    // A document's [plugins] holds all its plugin sections: they replace
    // the ones already there, as an array replaces a list.
    if (section == "plugins") out_.plugin_sections.clear();
    for (const auto& [key, node] : table) {
      const Setting* s = find_by_key(section, key.str());
      if (section == "plugins" && s == nullptr && !key.str().empty()) {
        read_plugin_section(key, node);
        continue;
      }
      if (s == nullptr || key.str().empty()) {
        std::string nested_name = std::string(section) + "." + std::string(key.str());
        if (const Section* nested = find_section(nested_name); nested && !key.str().empty()) {
          read_nested(*nested, key, node);
          continue;
        }
        std::string message = "unknown key " + quote(key.str()) + " in [" +
                              std::string(section) + "]";
        std::string home = sections_with_key(key.str());
        if (!home.empty()) message += "; it belongs in " + home;
        fail(key.source(), message);
        continue;
      }
      seen_.push_back({s, &node});
      std::string name = setting_name(*s);
      if ((s->kind == Kind::kPathList || s->kind == Kind::kList) && node.is_array()) {
        read_list(*s, *node.as_array(), name);
      } else if (auto problem = read_value(*s, node)) {
        fail(node.source(), name + ": " + *problem);
      }
    }
  }

  // [plugins.NAME]: the plugin's own table, kept as TOML text for the
  // plugin to read (Options::plugin_sections); its keys mean nothing here.
  void read_plugin_section(const toml::key& key, const toml::node& node) {
    const std::string name(key.str());
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(key.source(), "unknown key " + quote(key.str()) +
                             " in [plugins]; [plugins] has `load`, and a table [plugins.NAME] "
                             "per plugin for its settings");
      return;
    }
    if (!is_valid_plugin_name(name)) {
      fail(key.source(), "[plugins." + printable(name) +
                             "]: not a plugin name (1..64 of a-z, 0-9, '_' and '-')");
      return;
    }
    // An inline table ([plugins] x = {...}) is written out as [plugins.x].
    toml::table copy = *table;
    copy.is_inline(false);
    toml::table plugins;
    plugins.insert(name, std::move(copy));
    toml::table doc;
    doc.insert("plugins", std::move(plugins));
    std::ostringstream text;
    text << toml::toml_formatter(doc);
    auto& sections = out_.plugin_sections;
    PluginSection section{name, text.str()};
    if (section.toml.empty() || section.toml.back() != '\n') section.toml += '\n';
    sections.insert(std::upper_bound(sections.begin(), sections.end(), section,
                                     [](const PluginSection& a, const PluginSection& b) {
                                       return a.name < b.name;
                                     }),
                    std::move(section));
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
      std::string stored = str->get();
      auto problem = s.kind == Kind::kPathList ? path_problem(stored)
                                               : s.check(str->get(), stored);
      if (problem) {
        fail(entry.source(), label + *problem);
        return;
      }
      entries.push_back(std::move(stored));
    }
    out_.*s.list = std::move(entries);
  }

  // An array of tables replaces the list (flags append instead). Each
  // element is checked against the Records' keys, then appended.
  void read_records(const Setting& s, const toml::array& array) {
    const Records& records = *s.records;
    std::string name = setting_name(s);
    records.clear(out_);
    for (size_t i = 0; i < array.size(); ++i) {
      const toml::node& entry = *array.get(i);
      std::string label = name + " " + std::to_string(i + 1) + ": ";
      const toml::table* table = entry.as_table();
      if (table == nullptr) {
        fail(entry.source(), label + "expected a table, got " +
                                 std::string(type_name(entry.type())));
        return;
      }
      Record record(records.fields.size());
      std::vector<const toml::node*> nodes(records.fields.size(), nullptr);
      // Keys come in name order, not text order: report every unknown key
      // and wrong type (fail() keeps the first in the text), then check the
      // values only of an element whose keys and types are right.
      bool shape_ok = read_element(records, label, "", *table, record, nodes);
      if (!shape_ok) return;
      if (auto error = apply_record(s, record, out_)) {
        bool whole = error->field == RecordError::kWholeRecord || nodes[error->field] == nullptr;
        const toml::source_region& region =
            whole ? table->source() : nodes[error->field]->source();
        std::string key = whole ? "" : std::string(records.fields[error->field].key) + ": ";
        fail(region, label + key + error->message);
        return;
      }
    }
  }

  // The keys of one element, or of a table inside it (`prefix` "pool."):
  // a table value whose name starts dotted fields is read as such.
  bool read_element(const Records& records, const std::string& label, const std::string& prefix,
                    const toml::table& table, Record& record,
                    std::vector<const toml::node*>& nodes) {
    bool shape_ok = true;
    for (const auto& [key, value] : table) {
      std::string name = prefix + std::string(key.str());
      size_t f = 0;
      while (f < records.fields.size() && records.fields[f].key != name) ++f;
      if (f == records.fields.size()) {
        const toml::table* sub = value.as_table();
        bool is_group = std::any_of(records.fields.begin(), records.fields.end(),
                                    [&](const Field& field) {
                                      return field.key.starts_with(name + ".");
                                    });
        if (sub != nullptr && is_group) {
          shape_ok = read_element(records, label, name + ".", *sub, record, nodes) && shape_ok;
          continue;
        }
        fail(key.source(), label + "unknown key " + quote(name) + "; keys are " +
                               field_list(records));
        shape_ok = false;
        continue;
      }
      nodes[f] = &value;
      if (auto problem = read_field(records.fields[f], value, record[f])) {
        fail(value.source(), label + name + ": " + *problem);
        shape_ok = false;
      }
    }
    return shape_ok;
  }

  std::optional<std::string> read_field(const Field& f, const toml::node& node,
                                        FieldValue& out) {
    out.present = true;
    auto wrong = [&] {
      return "expected " + std::string(field_type(f.kind)) + ", got " +
             std::string(type_name(node.type()));
    };
    switch (f.kind) {
      case FieldKind::kText:
        if (const auto* str = node.as_string()) {
          out.text = str->get();
          return std::nullopt;
        }
        return wrong();
      case FieldKind::kTextList: {
        const toml::array* array = node.as_array();
        if (array == nullptr) return wrong();
        for (size_t i = 0; i < array->size(); ++i) {
          const auto* str = array->get(i)->as_string();
          if (str == nullptr) {
            return "entry " + std::to_string(i + 1) + ": expected a string, got " +
                   std::string(type_name(array->get(i)->type()));
          }
          out.list.push_back(str->get());
        }
        return std::nullopt;
      }
      case FieldKind::kCount:
        if (const auto* integer = node.as_integer()) {
          if (integer->get() < 0 || static_cast<uint64_t>(integer->get()) < f.min ||
              static_cast<uint64_t>(integer->get()) > f.max) {
            return quote(std::to_string(integer->get())) + " is out of range " +
                   std::to_string(f.min) + ".." + std::to_string(f.max);
          }
          out.number = static_cast<uint64_t>(integer->get());
          return std::nullopt;
        }
        return wrong();
      case FieldKind::kBool:
        if (const auto* boolean = node.as_boolean()) {
          out.number = boolean->get() ? 1 : 0;
          return std::nullopt;
        }
        return wrong();
      case FieldKind::kDuration: {
        uint64_t ms = 0;
        std::string shown;
        if (const auto* integer = node.as_integer()) {
          shown = std::to_string(integer->get());
          if (integer->get() < 0 ||
              __builtin_mul_overflow(static_cast<uint64_t>(integer->get()), kSecondMs, &ms)) {
            ms = UINT64_MAX;
          }
        } else if (const auto* str = node.as_string()) {
          shown = str->get();
          NumberStatus status = parse_scaled(str->get(), kDurationUnits, ms);
          if (status == NumberStatus::kSyntax) {
            return quote(shown) + " is not a duration; use e.g. \"250ms\", \"10s\", \"2m\"";
          }
          if (status == NumberStatus::kOverflow) ms = UINT64_MAX;
        } else {
          return wrong();
        }
        if (ms < f.min || ms > f.max) {
          return quote(shown) + " is out of range " + format_duration(f.min) + ".." +
                 format_duration(f.max);
        }
        out.number = ms;
        return std::nullopt;
      }
      case FieldKind::kCountList: {
        const toml::array* array = node.as_array();
        if (array == nullptr) return wrong();
        for (size_t i = 0; i < array->size(); ++i) {
          const auto* integer = array->get(i)->as_integer();
          std::string entry = "entry " + std::to_string(i + 1) + ": ";
          if (integer == nullptr) {
            return entry + "expected an integer, got " +
                   std::string(type_name(array->get(i)->type()));
          }
          if (integer->get() < 0 || static_cast<uint64_t>(integer->get()) < f.min ||
              static_cast<uint64_t>(integer->get()) > f.max) {
            return entry + quote(std::to_string(integer->get())) + " is out of range " +
                   std::to_string(f.min) + ".." + std::to_string(f.max);
          }
          out.numbers.push_back(static_cast<uint64_t>(integer->get()));
        }
        return std::nullopt;
      }
    }
    return wrong();
  }

  std::optional<std::string> read_value(const Setting& s,
                                        const toml::node& node) {
    if (const auto* str = node.as_string()) {
      if (s.kind != Kind::kBool && s.kind != Kind::kCount && s.kind != Kind::kPathList &&
          s.kind != Kind::kList && s.kind != Kind::kRecords) {
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
