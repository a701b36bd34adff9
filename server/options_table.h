// server/options_table.h: the settings table, internal to server/options*.cc.
//
// Every setting is one row of settings(): its TOML section and key, its
// flag, its kind, its range and where it lives in Options. The flag parser
// (options_argv.cc), the TOML reader (options_toml.cc), --help and
// --check-config (options_help.cc) all read this table, so a setting cannot
// be reachable from one and missing from another, and the help always shows
// the real defaults.
//
// Adding a key: one row in settings() (options_table.cc), one field in
// Options, one line in docs/configuration.md. Adding a [section]: one row
// in sections() and the rows of its keys; the TOML reader, the messages that
// list the sections and --help follow. Settings that depend on each other
// are checked in options_checks.h.
//
// Constant data and pure functions: any thread may call them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/options.h"

namespace ringshard::server::options_detail {

enum class Kind {
  kListen,          // `address`: HOST:PORT
  kOptionalListen,  // `optional_address`: HOST:PORT, or "off" for none
  kPath,            // `text`: a file or directory name, never empty
  kPathList,        // `list`; each flag appends, a TOML array replaces
  kChoice,          // one of `choices`, stored through `set`
  kBool,            // through get/set
  kCount,           // through get/set: decimal digits
  kSize,            // through get/set: bytes, see options_units.h
  kDuration,        // through get/set: milliseconds, see options_units.h
};

// A kChoice value: the text the user writes and what `set` stores.
struct Choice {
  std::string_view text;
  uint64_t value;
};

struct Setting {
  std::string_view section;  // TOML table
  std::string_view key;      // TOML key
  std::string_view flag;     // "--name"
  std::string_view metavar;  // shown in --help
  Kind kind;
  uint64_t min = 0;  // numeric kinds, in base units (count, bytes, ms)
  uint64_t max = 0;  // also the most entries of a kPathList
  // Nonzero: values in 1..min_nonzero-1 are refused although min is 0
  // ("0 turns it off, else at least min_nonzero").
  uint64_t min_nonzero = 0;
  bool power_of_two = false;
  // Set when the real upper bound is another setting: range messages show
  // "<min>..<max_text>" (the check itself is in options_checks.h).
  std::string_view max_text;
  uint64_t (*get)(const Options&) = nullptr;  // numeric, bool and choice kinds
  void (*set)(Options&, uint64_t) = nullptr;
  ListenAddress Options::*address = nullptr;                 // kListen
  std::optional<ListenAddress> Options::*optional_address = nullptr;  // kOptionalListen
  std::string Options::*text = nullptr;                      // kPath
  std::vector<std::string> Options::*list = nullptr;         // kPathList
  std::span<const Choice> choices = {};  // kChoice, as --help lists them
  std::string_view when_empty;           // kPathList: what no entry means, for --help
  std::string_view help;
};

struct Section {
  std::string_view name;   // TOML table
  std::string_view title;  // --help group
};

// Every setting, sections in the order of sections() and keys within a
// section in the order --help and effective_config_text() show them.
std::span<const Setting> settings();
std::span<const Section> sections();

const Section* find_section(std::string_view name);
const Setting* find_by_flag(std::string_view flag);
const Setting* find_by_key(std::string_view section, std::string_view key);

// "[server], [http], [engine] and [tls]" (with `last` = "and").
std::string section_list(std::string_view last);
// The sections that have a key of this name: "[server] or [tls]", or "".
std::string sections_with_key(std::string_view key);

// A kChoice's choices: "1.2 or 1.3".
std::string choice_list(const Setting& s);
// The text of a kChoice's current value in `o`.
std::string_view choice_text(const Setting& s, const Options& o);

// A numeric or bool value as --help and --check-config show it.
std::string format_value(const Setting& s, uint64_t v);
// "1ms..24h", "0 or 1s..168h", "64..max_head_bytes".
std::string range_text(const Setting& s);

}  // namespace ringshard::server::options_detail
