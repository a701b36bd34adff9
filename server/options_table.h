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
// Options, one line in docs/configuration.md and config/ringshard.example.toml.
// Adding a [section]: one row in sections() and the rows of its keys; the
// TOML reader, the messages that list the sections and --help follow.
// An array of tables ([[rate_limit]], [[auth.token]]) is a section of shape
// kArrayOfTables with exactly one row, of kind kRecords and an empty key,
// whose Records describe the keys of one element (options_records.h).
// Settings that depend on each other are checked in options_checks.h.
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
  kText,            // `text`: a string checked (and normalized) by `check`
  kList,            // `list` of strings, each checked by `check`; see ListFlag
  kRecords,         // `records`: the elements of an array of tables
};

// How a kList's flag adds to it.
enum class ListFlag {
  kRepeat,  // one entry per flag, repeatable; the first flag replaces the file's list
  kSplit,   // one flag holds the whole list, comma-separated; the last flag wins
};

// Checks one string value (a kText value or a kList entry) and writes its
// stored form (e.g. lower-cased, or "" for "off") to `out`; returns what is
// wrong, as a fragment like "'x' is not ...".
using TextCheck = std::optional<std::string> (*)(std::string_view text, std::string& out);

// The keys of one element of an array of tables. A dotted key
// ("pool.max_idle") is a key of a table inside the element: the reader
// takes it from [upstream.pool] max_idle or from pool.max_idle = ...
// (the same TOML), and --print-config writes the dotted form.
enum class FieldKind {
  kText,
  kTextList,
  kCount,
  kBool,       // `number` 0 or 1
  kDuration,   // `number` in milliseconds: a string ("250ms") or an integer (seconds)
  kCountList,  // `numbers`: an array of integers, each in min..max
};

struct Field {
  std::string_view key;
  FieldKind kind;
  bool required = false;
  bool secret = false;     // --print-config shows "<redacted>"
  uint64_t min = 0;        // kCount, kDuration (ms), kCountList (each entry)
  uint64_t max = 0;
};

// One element's values, by field position, as the TOML reader or a flag
// found them; `present` is false for a key left out.
struct FieldValue {
  bool present = false;
  std::string text;               // kText
  std::vector<std::string> list;  // kTextList
  uint64_t number = 0;            // kCount, kBool, kDuration
  std::vector<uint64_t> numbers;  // kCountList
};
using Record = std::vector<FieldValue>;

// What is wrong with an element: `field` is the position of the offending
// key, or kWholeRecord.
struct RecordError {
  static constexpr size_t kWholeRecord = static_cast<size_t>(-1);
  size_t field = kWholeRecord;
  std::string message;
};

// An array of tables in Options, type-erased for the reader, the flags and
// --print-config. `append` checks everything (required keys, syntax,
// uniqueness against the elements already there) and leaves `o` unchanged
// on error; `get` returns element `index` with every field present.
struct Records {
  std::span<const Field> fields;
  size_t max;  // most elements
  size_t (*size)(const Options& o);
  void (*clear)(Options& o);
  std::optional<RecordError> (*append)(Options& o, const Record& record);
  Record (*get)(const Options& o, size_t index);
  // A flag's value as a record (syntax only; `append` checks the rest).
  std::optional<std::string> (*parse_flag)(std::string_view text, Record& out);
  // Set: flags merge into the file's list through this (an element with
  // the same identity is changed, else one is added) instead of the first
  // flag replacing the list. Checks like `append`.
  std::optional<RecordError> (*merge_flag)(Options& o, const Record& record) = nullptr;
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
  std::span<const Choice> choices = {};  // kChoice, as --help lists them; a kChoice
                                         // with `text` stores the choice's text there
  // kPathList, kList: what no entry means, for --help. kText: how an empty
  // value is shown by --help and --print-config (and read back).
  std::string_view when_empty;
  TextCheck check = nullptr;             // kText, kList
  ListFlag list_flag = ListFlag::kRepeat;  // kList
  const Records* records = nullptr;      // kRecords
  // A secret could appear in this value (or in a Records field marked
  // secret): --print-config shows "<redacted>".
  bool secret = false;
  std::string_view help;
};

enum class Shape { kTable, kArrayOfTables };

struct Section {
  std::string_view name;   // TOML table: "server", or dotted for a nested one ("auth.token")
  std::string_view title;  // --help group; "" continues the group before it
  Shape shape = Shape::kTable;
};

// Every setting, sections in the order of sections() and keys within a
// section in the order --help and effective_config_text() show them.
std::span<const Setting> settings();
std::span<const Section> sections();

const Section* find_section(std::string_view name);
const Setting* find_by_flag(std::string_view flag);
// For an array-of-tables section, `key` is "".
const Setting* find_by_key(std::string_view section, std::string_view key);

// "[server]", or "[[rate_limit]]" for an array of tables.
std::string section_header(const Section& s);
// How messages name a setting: "[server] listen" or "[[auth.token]]".
std::string setting_name(const Setting& s);

// The top-level sections: "[server], [http], ... and [[rate_limit]]" (with
// `last` = "and").
std::string section_list(std::string_view last);
// The sections that have a key of this name: "[server], [tls] or [admin]",
// or "".
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
