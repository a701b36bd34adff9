// http/header_arena.h: owned storage for the extra headers of the
// responses being built on one shard.
//
// Response::header() copies name and value here, so an application may
// pass temporaries; nothing is capped at a small count. The arena is used
// as a stack: a Response remembers mark() when it is made and truncates
// back to it once its head is written, so a response built inside another
// one's handler (an AsyncResponse answered from a handler) nests cleanly.
// Memory is kept between responses: no allocation per request once warm.
//
// Validation: a name must be an RFC 9110 token and a value must not hold
// CR, LF or NUL (response splitting); add() refuses them, and a response's
// headers may not pass kMaxBytes in all.
//
// Thread: one per shard (HttpServer), used on that shard only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/response_head.h"

namespace ringshard::http {

class HeaderArena {
 public:
  static constexpr size_t kMaxBytes = 64 * 1024;  // per response

  size_t mark() const { return entries_.size(); }
  // False (and nothing stored) for an invalid name or value, or when the
  // entries since `since` would pass kMaxBytes.
  bool add(size_t since, std::string_view name, std::string_view value);
  // The same without the checks, for a name and value the caller has
  // validated already (configuration checked at load, digits it formatted,
  // request header values the parser accepted: they hold no CR/LF/NUL).
  void add_trusted(std::string_view name, std::string_view value);
  size_t count(size_t since) const { return entries_.size() - since; }
  // Views of the entries since `since`, valid until the next add() or
  // truncate().
  std::span<const HeaderField> fields(size_t since);
  // The value of the last header named `name` (case-insensitive) since
  // `since`; empty view if none.
  std::string_view find(size_t since, std::string_view name) const;
  void truncate(size_t mark);

  static bool valid_name(std::string_view name);
  static bool valid_value(std::string_view value);

 private:
  struct Entry {
    uint32_t name_at, name_len, value_at, value_len;
  };
  std::string bytes_;
  std::vector<Entry> entries_;
  std::vector<HeaderField> views_;
};

}  // namespace ringshard::http
