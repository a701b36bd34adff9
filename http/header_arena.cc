#include "http/header_arena.h"

#include <cstring>

#include "http/chars.h"
#include "http/request.h"

namespace ringshard::http {

bool HeaderArena::valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!chars::is_tchar(c)) return false;
  }
  return true;
}

bool HeaderArena::valid_value(std::string_view value) {
  // memchr is vectorised; values are short and almost always clean.
  return std::memchr(value.data(), '\r', value.size()) == nullptr &&
         std::memchr(value.data(), '\n', value.size()) == nullptr &&
         std::memchr(value.data(), '\0', value.size()) == nullptr;
}

bool HeaderArena::add(size_t since, std::string_view name, std::string_view value) {
  if (!valid_name(name) || !valid_value(value)) return false;
  const size_t start = since < entries_.size() ? entries_[since].name_at : bytes_.size();
  if (bytes_.size() - start + name.size() + value.size() > kMaxBytes) return false;
  Entry e;
  e.name_at = static_cast<uint32_t>(bytes_.size());
  e.name_len = static_cast<uint32_t>(name.size());
  bytes_.append(name);
  e.value_at = static_cast<uint32_t>(bytes_.size());
  e.value_len = static_cast<uint32_t>(value.size());
  bytes_.append(value);
  entries_.push_back(e);
  return true;
}

void HeaderArena::add_trusted(std::string_view name, std::string_view value) {
  Entry e;
  e.name_at = static_cast<uint32_t>(bytes_.size());
  e.name_len = static_cast<uint32_t>(name.size());
  e.value_at = e.name_at + e.name_len;
  e.value_len = static_cast<uint32_t>(value.size());
  bytes_.append(name).append(value);
  entries_.push_back(e);
}

std::span<const HeaderField> HeaderArena::fields(size_t since) {
  views_.clear();
  for (size_t i = since; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    views_.push_back(HeaderField{std::string_view(bytes_).substr(e.name_at, e.name_len),
                                 std::string_view(bytes_).substr(e.value_at, e.value_len)});
  }
  return views_;
}

std::string_view HeaderArena::find(size_t since, std::string_view name) const {
  for (size_t i = entries_.size(); i > since; --i) {
    const Entry& e = entries_[i - 1];
    if (iequals(std::string_view(bytes_).substr(e.name_at, e.name_len), name)) {
      return std::string_view(bytes_).substr(e.value_at, e.value_len);
    }
  }
  return {};
}

void HeaderArena::truncate(size_t mark) {
  if (mark >= entries_.size()) return;
  bytes_.resize(entries_[mark].name_at);
  entries_.resize(mark);
}

}  // namespace ringshard::http
