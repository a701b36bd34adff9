// server/options_values.cc: a setting's text or number, checked and stored.
#include "server/options_values.h"

#include "server/options_units.h"
#include "server/options_words.h"

namespace ringshard::server::options_detail {
namespace {

std::string syntax_hint(Kind kind) {
  switch (kind) {
    case Kind::kDuration:
      return "is not a duration; use a whole number with ms, s, m or h "
             "(250ms, 10s, 2m, 1h) or whole seconds";
    case Kind::kSize:
      return "is not a size; use bytes or a whole number with k, KiB, m, "
             "MiB, g or GiB (16k, 1MiB)";
    default:
      return "is not a number; use decimal digits only";
  }
}

}  // namespace

std::optional<std::string> store_number(const Setting& s, uint64_t v,
                                        std::string_view shown, Options& o) {
  bool pow2_ok = !s.power_of_two || (v != 0 && (v & (v - 1)) == 0);
  bool gap_ok = v == 0 || v >= s.min_nonzero;
  if (v < s.min || v > s.max || !pow2_ok || !gap_ok) {
    return quote(shown) + (s.power_of_two ? " is not a power of two in "
                                          : " is out of range ") +
           range_text(s);
  }
  s.set(o, v);
  return std::nullopt;
}

std::optional<std::string> path_problem(std::string_view text) {
  if (text.empty()) return std::string("must not be empty");
  if (text.find('\0') != std::string_view::npos) {
    return std::string("must not contain a NUL character");
  }
  return std::nullopt;
}

std::optional<RecordError> apply_record(const Setting& s, const Record& record,
                                        Options& o) {
  const Records& records = *s.records;
  for (size_t i = 0; i < records.fields.size(); ++i) {
    const Field& f = records.fields[i];
    if (f.required && !record[i].present) {
      return RecordError{RecordError::kWholeRecord,
                         "missing key '" + std::string(f.key) + "'"};
    }
    if (f.kind == FieldKind::kCount && record[i].present &&
        (record[i].number < f.min || record[i].number > f.max)) {
      return RecordError{i, quote(std::to_string(record[i].number)) + " is out of range " +
                                std::to_string(f.min) + ".." + std::to_string(f.max)};
    }
  }
  if (records.size(o) >= records.max) {
    return RecordError{RecordError::kWholeRecord,
                       "more than " + std::to_string(records.max) + " entries"};
  }
  return records.append(o, record);
}

std::optional<std::string> apply_text(const Setting& s, std::string_view text,
                                      Options& o) {
  switch (s.kind) {
    case Kind::kListen:
    case Kind::kOptionalListen: {
      bool optional = s.kind == Kind::kOptionalListen;
      if (optional && text == "off") {
        (o.*s.optional_address).reset();
        return std::nullopt;
      }
      auto address = parse_listen_address(text);
      if (!address) {
        return quote(text) + (optional ? " is not HOST:PORT or off (e.g. "
                                         "127.0.0.1:8443, [::1]:8443, :8443)"
                                       : " is not HOST:PORT (e.g. 127.0.0.1:8080, "
                                         "[::1]:8080, :8080)");
      }
      if (optional) {
        o.*s.optional_address = *address;
      } else {
        o.*s.address = *address;
      }
      return std::nullopt;
    }
    case Kind::kPath:
      if (auto problem = path_problem(text)) return problem;
      o.*s.text = std::string(text);
      return std::nullopt;
    case Kind::kPathList:
      if (auto problem = path_problem(text)) return problem;
      (o.*s.list).emplace_back(text);
      return std::nullopt;
    case Kind::kText: {
      std::string stored;
      if (auto problem = s.check(text, stored)) return problem;
      o.*s.text = std::move(stored);
      return std::nullopt;
    }
    case Kind::kList: {
      std::vector<std::string> entries;
      if (s.list_flag == ListFlag::kRepeat) {
        entries.emplace_back(text);
      } else if (!split_list(text, entries)) {
        return quote(text) + " is not a comma-separated list (no empty entries)";
      }
      if ((s.list_flag == ListFlag::kRepeat ? (o.*s.list).size() : 0) + entries.size() >
          s.max) {
        return "more than " + std::to_string(s.max) + " entries";
      }
      for (std::string& entry : entries) {
        std::string stored;
        if (auto problem = s.check(entry, stored)) return problem;
        entry = std::move(stored);
      }
      if (s.list_flag == ListFlag::kRepeat) {
        (o.*s.list).push_back(std::move(entries[0]));
      } else {
        o.*s.list = std::move(entries);
      }
      return std::nullopt;
    }
    case Kind::kRecords: {
      Record record(s.records->fields.size());
      if (auto problem = s.records->parse_flag(text, record)) return problem;
      auto error = s.records->merge_flag != nullptr ? s.records->merge_flag(o, record)
                                                    : apply_record(s, record, o);
      if (error) {
        if (error->field == RecordError::kWholeRecord) return error->message;
        return std::string(s.records->fields[error->field].key) + ": " + error->message;
      }
      return std::nullopt;
    }
    case Kind::kChoice:
      for (const Choice& c : s.choices) {
        if (c.text == text) {
          if (s.text != nullptr) {
            o.*s.text = std::string(c.text);
          } else {
            s.set(o, c.value);
          }
          return std::nullopt;
        }
      }
      return quote(text) + " is not allowed; use " + choice_list(s);
    case Kind::kBool:
      if (text == "true" || text == "false") {
        s.set(o, text == "true");
        return std::nullopt;
      }
      return quote(text) + " is not a boolean; use true or false";
    case Kind::kCount:
    case Kind::kSize:
    case Kind::kDuration: {
      uint64_t v = 0;
      NumberStatus status =
          s.kind == Kind::kCount ? parse_decimal(text, v)
          : s.kind == Kind::kSize ? parse_scaled(text, kSizeUnits, v)
                                  : parse_scaled(text, kDurationUnits, v);
      if (status == NumberStatus::kSyntax) {
        return quote(text) + " " + syntax_hint(s.kind);
      }
      if (status == NumberStatus::kOverflow) {
        return quote(text) + " is out of range " + range_text(s);
      }
      return store_number(s, v, text, o);
    }
  }
  return std::string("unsupported setting");
}

}  // namespace ringshard::server::options_detail
