// server/server_app.h: assembles a ringshard server from Options: the
// router with the built-in routes, the HTTP configuration, and the engine.
//
// Tests build servers in-process with it (port 0, a ManualClock), which is
// why nothing here is global: two ServerApps can run in one process.
//
//   ServerApp app(options);
//   app.router().add(...);            // optional extra routes, before start()
//   if (auto e = app.start(); !e.ok()) { ... }
//   app.engine().drain(); app.engine().wait();
//
// Control plane only.
#pragma once

#include <memory>

#include "engine/engine.h"
#include "http/router.h"
#include "http/server.h"
#include "server/options.h"

namespace ringshard::server {

class ServerApp {
 public:
  explicit ServerApp(const Options& options, const engine::Clock* clock = nullptr);

  http::Router& router() { return router_; }
  const http::ServerConfig& http_config() const { return http_config_; }
  engine::Engine& engine() { return *engine_; }

  engine::StartError start();
  // The HttpServer of shard i (its metrics), valid while the app runs.
  const http::HttpServer* http_server(unsigned shard) const;

 private:
  Options options_;
  http::Router router_;
  http::ServerConfig http_config_;
  std::vector<const http::HttpServer*> servers_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace ringshard::server
