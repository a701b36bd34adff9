#include "http/builtin_routes.h"

#include "http/server.h"

namespace ringshard::http {

void add_builtin_routes(Router& router) {
  router.add(Method::kGet, "/plaintext", [](ServerRequest&, Response& res) {
    res.send(200, "text/plain", "Hello, World!");
  });
  router.add(Method::kGet, "/json", [](ServerRequest&, Response& res) {
    res.send(200, "application/json", R"({"message":"Hello, World!"})");
  });
  router.add(Method::kGet, "/health", [](ServerRequest&, Response& res) {
    res.send(200, "application/json", R"({"status":"ok"})");
  });
  router.add(Method::kGet, "/ready", [](ServerRequest& req, Response& res) {
    if (req.shard().draining()) {
      res.send_error(503, "draining");
    } else {
      res.send(200, "application/json", R"({"status":"ready"})");
    }
  });
}

}  // namespace ringshard::http
