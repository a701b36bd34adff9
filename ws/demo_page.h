// ws/demo_page.h: GET /ws/demo, a small self-contained HTML page (inline
// script, nothing else to fetch) that talks to /ws/echo from a browser.
//
//   ws::add_demo_page(router);   // beside ws::add_builtin_endpoints
//
// On load the page runs a self-test against /ws/echo over ws:// or wss://
// (whichever matches the page): a short text, a 100 KB text, an empty text,
// a 64 KiB binary ArrayBuffer, 10 pipelined messages, and a clean close
// 1000. It shows each step and the negotiated extensions, and reports the
// outcome where a browser test can read it: document.title becomes "PASS"
// or "FAIL: <why>", and <pre id="result"> holds JSON
//   {"pass":true,"extensions":"permessage-deflate","steps":[...]}.
// Below that, a form echoes whatever a person types.
//
// The page is a compile-time constant: the route allocates nothing and
// serves the same bytes on every shard. Control plane: call once while
// building the router.
#pragma once

#include "http/router.h"

namespace ringshard::ws {

void add_demo_page(http::Router& router);

}  // namespace ringshard::ws
