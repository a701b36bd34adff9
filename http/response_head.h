// http/response_head.h: serialising a response head, pure.
//
// The driver's hot path: status line (pre-encoded), Server, Date (cached by
// the caller), Content-Type, Content-Length or Transfer-Encoding, Connection
// and extra headers, into a caller-provided buffer. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringshard::http {

struct HeaderField {
  std::string_view name, value;
};

struct ResponseHead {
  enum class Connection : uint8_t { kNone, kClose, kKeepAlive };
  uint16_t status = 200;
  std::string_view server;        // omitted if empty
  std::string_view date;          // omitted if empty
  std::string_view content_type;  // omitted if empty
  bool has_length = false;
  uint64_t length = 0;
  bool chunked = false;           // Transfer-Encoding: chunked (ignored with a length)
  Connection connection = Connection::kNone;
  std::span<const HeaderField> extra;
};

// Exact number of bytes serialize_response_head() writes for `head`.
size_t response_head_size(const ResponseHead& head);
// Writes the head (ending with the blank line) to `out`, which must hold
// response_head_size(head) bytes. Returns the bytes written.
size_t serialize_response_head(const ResponseHead& head, char* out);

}  // namespace ringshard::http
