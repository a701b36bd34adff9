// http/builtin_routes.h: the routes every ringshard serves.
//
//   GET /plaintext  "Hello, World!" (text/plain), the benchmark endpoint
//   GET /json       {"message":"Hello, World!"} (application/json)
//   GET /health     {"status":"ok"}: the process is up
//   GET /ready      {"status":"ready"}, or 503 while the shard drains
//
// Control plane: call once while building the Router.
#pragma once

#include "http/router.h"

namespace ringshard::http {

void add_builtin_routes(Router& router);

}  // namespace ringshard::http
