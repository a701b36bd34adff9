// plugins/deployments/console.h: the deployment console, served at
// GET /v1/console as text/html; charset=utf-8.
//
// One self-contained page (no external scripts, fonts or styles, so a
// Content-Security-Policy of default-src 'self'; script-src 'unsafe-inline';
// style-src 'unsafe-inline'; connect-src 'self' serves it): a token field
// (prefilled from #token=... in the URL, remembered in localStorage), the
// deployment list (GET /v1/deployments with Authorization: Bearer), a create
// form (POST /v1/deployments), and live status through the WebSocket
// /v1/stream?access_token=TOKEN (ws: or wss: to match the page).
//
// Stable element ids for tests: #token, #create-form, #name, #image, #cpu,
// #memory, #create, #deployments (a table; each row has data-id = the
// deployment id and a cell .status), #stream-state ("open" while the
// stream is open), #error (the last error message).
//
// The view is static (valid for the process); any thread; no allocation.
#pragma once

#include <string_view>

namespace ringshard::deployments {

std::string_view console_html();

}  // namespace ringshard::deployments
