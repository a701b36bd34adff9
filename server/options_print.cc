// server/options_print.cc: the effective configuration as TOML, for
// --print-config and --check-config, generated from the settings table
// (options_table.h) so that it has every key, every section and every
// element of every array of tables.
//
// Layout: sections in table order; an empty array of tables is written as
// `key = []` in its parent table (at the top of the document for a
// top-level one), because a document without the key would leave whatever
// the options held, and a round trip must replace it. The [plugins.NAME]
// tables follow [plugins], as the reader kept them; with secrets redacted,
// a string under a key that names a secret (secret, password, token, key)
// is shown as "<redacted>", since only the plugin knows its keys.
#include <cctype>
#include <cstdio>
#include <sstream>

#include "server/options.h"
#include "server/options_table.h"
#include "server/options_units.h"
#include "server/tomlpp.h"

namespace ringshard::server {

using namespace options_detail;

namespace {

constexpr std::string_view kRedacted = "<redacted>";

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) out += (i == 0 ? "" : ", ") + toml_string(entries[i]);
  return out + "]";
}

// "auth.token" -> parent "auth", key "token"; "rate_limit" -> "", "rate_limit".
std::pair<std::string_view, std::string_view> split_section(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {"", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// `key = []` for each empty array of tables directly under `parent`.
void empty_arrays(std::string_view parent, const Options& o, std::string& out) {
  for (const Setting& s : settings()) {
    if (s.kind != Kind::kRecords || s.records->size(o) != 0) continue;
    auto [section_parent, key] = split_section(s.section);
    if (section_parent == parent) out += std::string(key) + " = []\n";
  }
}

std::string value_text(const Setting& s, const Options& o, bool redact) {
  if (redact && s.secret) return toml_string(kRedacted);
  switch (s.kind) {
    case Kind::kListen:
      return toml_string(format_listen_address(o.*s.address));
    case Kind::kOptionalListen:
      return toml_string(o.*s.optional_address ? format_listen_address(*(o.*s.optional_address))
                                               : "off");
    case Kind::kPath:
      return toml_string(o.*s.text);
    case Kind::kText:
      return toml_string((o.*s.text).empty() ? std::string(s.when_empty) : o.*s.text);
    case Kind::kPathList:
    case Kind::kList:
      return toml_array(o.*s.list);
    case Kind::kChoice:
      return toml_string(choice_text(s, o));
    case Kind::kBool:
    case Kind::kCount:
      return format_value(s, s.get(o));
    case Kind::kSize:
    case Kind::kDuration:
      return toml_string(format_value(s, s.get(o)));
    case Kind::kRecords:
      break;
  }
  return "\"\"";
}

void records_text(const Setting& s, const Options& o, bool redact, std::string& out) {
  const Records& records = *s.records;
  for (size_t i = 0; i < records.size(o); ++i) {
    out += "\n[[" + std::string(s.section) + "]]\n";
    Record record = records.get(o, i);
    for (size_t f = 0; f < records.fields.size(); ++f) {
      const Field& field = records.fields[f];
      out += std::string(field.key) + " = ";
      if (redact && field.secret) {
        out += toml_string(kRedacted);
      } else if (field.kind == FieldKind::kText) {
        out += toml_string(record[f].text);
      } else if (field.kind == FieldKind::kTextList) {
        out += toml_array(record[f].list);
      } else if (field.kind == FieldKind::kBool) {
        out += record[f].number != 0 ? "true" : "false";
      } else if (field.kind == FieldKind::kDuration) {
        out += toml_string(options_detail::format_duration(record[f].number));
      } else if (field.kind == FieldKind::kCountList) {
        out += "[";
        for (size_t n = 0; n < record[f].numbers.size(); ++n) {
          out += (n == 0 ? "" : ", ") + std::to_string(record[f].numbers[n]);
        }
        out += "]";
      } else {
        out += std::to_string(record[f].number);
      }
      out += "\n";
    }
  }
}

bool names_secret(std::string_view key) {
  std::string k;
  for (char c : key) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : {"secret", "password", "passwd", "token"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return k == "key" || k.ends_with("_key") || k.ends_with("-key");
}

void redact_table(toml::table& table) {
  for (auto&& [key, node] : table) {
    if (toml::table* sub = node.as_table()) {
      redact_table(*sub);
    } else if (node.is_string() && names_secret(key.str())) {
      node.as_string()->get() = std::string(kRedacted);
    } else if (toml::array* array = node.as_array(); array != nullptr && names_secret(key.str())) {
      for (auto& entry : *array) {
        if (entry.is_string()) entry.as_string()->get() = std::string(kRedacted);
      }
    }
  }
}

std::string plugin_section_text(const PluginSection& section, bool redact) {
  if (!redact) return section.toml;
  try {
    toml::table doc = toml::parse(section.toml);
    redact_table(doc);
    std::ostringstream out;
    out << toml::toml_formatter(doc);
    return out.str() + "\n";
  } catch (const toml::parse_error&) {
    // The reader wrote it; it parses. Show nothing rather than a secret.
    return "[plugins." + section.name + "]\n# (not shown)\n";
  }
}

}  // namespace

std::string effective_config_text(const Options& options, Redact redact) {
  const bool hide = redact == Redact::kSecrets;
  std::string out = "# ringshard effective configuration\n";
  empty_arrays("", options, out);
  for (const Section& section : sections()) {
    if (section.shape == Shape::kArrayOfTables) {
      records_text(*find_by_key(section.name, ""), options, hide, out);
      continue;
    }
    out += "\n" + section_header(section) + "\n";
    for (const Setting& s : settings()) {
      if (s.section != section.name) continue;
      out += std::string(s.key) + " = " + value_text(s, options, hide) + "\n";
    }
    empty_arrays(section.name, options, out);
    if (section.name == "plugins") {
      for (const PluginSection& p : options.plugin_sections) {
        out += "\n" + plugin_section_text(p, hide);
      }
    }
  }
  return out;
}

}  // namespace ringshard::server
