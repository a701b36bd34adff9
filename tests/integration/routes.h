// tests/integration/routes.h: routes the integration tests add to the
// built-in ones.
//   POST /echo          answers the request body (text/plain)
//   GET  /async         deferred: answered on the next loop turn through
//                       the shard's own mailbox ("async:<query>")
//   GET  /stream?N      streams N bytes of a known pattern (chunked)
//   GET  /stream-len?N  the same with Content-Length
//   GET  /users/{id}/items/{item}   echoes the two parameters
//   GET  /throw         a handler that throws
#pragma once

#include <cstdint>
#include <string>

#include "http/router.h"

namespace ringshard::test {

void add_test_routes(http::Router& router);
// Byte i of the /stream pattern.
inline char stream_byte(uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); }

}  // namespace ringshard::test
