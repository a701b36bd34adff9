// server/options_values.h: storing a setting's value into Options, internal
// to server/options*.cc.
//
// The text form of a setting (a flag's value, or a TOML string) goes
// through apply_text(); a TOML integer through store_number(). Both check
// the setting's syntax and range from its row in options_table.h and return
// what is wrong as a message fragment ("'9x' is not a number; ..."), which
// the caller prefixes with the flag or the file:line:column and key.
// Pure functions; they allocate only the strings they return.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/options.h"
#include "server/options_table.h"

namespace ringshard::server::options_detail {

// Parses and stores the text form of any setting (a flag's value): for
// kPathList and a kRepeat kList one entry, appended; for a kSplit kList the
// whole comma-separated list; for kRecords one element, appended. Returns
// what is wrong, or nothing; on error `o` is unchanged.
std::optional<std::string> apply_text(const Setting& s, std::string_view text, Options& o);

// Checks that a record has its required keys and its numbers in range, then
// appends it through s.records->append. On error `o` is unchanged.
std::optional<RecordError> apply_record(const Setting& s, const Record& record, Options& o);

// Range and power-of-two check of a numeric value in base units, then
// store. `shown` is the value as the user wrote it.
std::optional<std::string> store_number(const Setting& s, uint64_t v,
                                        std::string_view shown, Options& o);

// What is wrong with a file or directory name, or nothing. Files are not
// opened here: the server reports an unreadable one when it starts.
std::optional<std::string> path_problem(std::string_view text);

}  // namespace ringshard::server::options_detail
