// server/plugin_auth.h: the scopes plugin routes ask for (rs_route_options
// ::scope), checked against the server's credentials ([[auth.token]],
// [[auth.api_key]], --auth-token...), and the development token.
//
//   PluginAuth auth(shards);
//   route.middleware.push_back(auth.gate("deployments:read", /*websocket=*/false));
//   ...after every plugin's init():
//   if (!auth.configure(options, &notes, error)) exit(78);
//
// A gate is route middleware: http::AuthMiddleware with one rule, "every
// request needs `scope`", so it answers exactly as the global auth does
// (401 with WWW-Authenticate, 403 insufficient_scope, 400 for malformed
// credentials, the standard error body). A WebSocket route's gate also
// takes the token from an access_token query parameter (RFC 6750 2.3).
// Gates forward to the current generation of credentials, which a reload
// (SIGHUP) replaces; every generation is kept, since a request may still
// be inside an older one.
//
// The development token: when at least one route names a scope and no
// credential is configured, configure() reads <data_dir>/dev-token or
// creates it (32 random bytes in hex, mode 0600, the directory created
// 0700 when missing) and makes it a bearer credential named "dev" carrying
// every scope any route named. configure() adds a note for the operator
// with the token and how to send it.
//
// Threads: gate(), configure() on the control plane; gates and identify()
// on any shard (lock-free: one acquire load of the generation).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/auth.h"
#include "http/middleware.h"
#include "http/mw_auth.h"
#include "server/options.h"

namespace ringshard::server {

// Who sent a request, as far as plugin routes are concerned.
struct PluginIdentity {
  bool auth_off = true;  // no credential exists at all: nothing is checked
  std::string_view principal;                      // empty: none or invalid
  const std::vector<std::string>* scopes = nullptr;  // the credential's
};

class PluginAuth {
 public:
  explicit PluginAuth(unsigned shards);
  ~PluginAuth();

  // The route middleware that requires `scope`; one per (scope, websocket),
  // shared by the routes that name it. Before configure(): it forwards to
  // nothing yet (configure() must run before the engine starts).
  const http::Middleware* gate(const std::string& scope, bool websocket);
  // Every scope a gate was made for.
  const std::set<std::string>& scopes() const { return scopes_; }

  // Builds the credentials from `options` (plus the development token when
  // needed) and points every gate at them. False with `error` (invalid
  // credentials, the token file) and nothing changed. `notes` (may be
  // null) gets what the operator should read.
  bool configure(const Options& options, std::vector<std::string>* notes, std::string& error);

  // The credential the request presents (Authorization: Bearer, X-API-Key,
  // or for a WebSocket the access_token parameter). Any shard.
  PluginIdentity identify(const http::ServerRequest& req, bool websocket) const;

  // The development token in use ("" when none).
  const std::string& dev_token() const { return dev_token_; }

 private:
  struct Generation;
  class Gate;

  unsigned shards_;
  std::set<std::string> scopes_;
  std::map<std::pair<std::string, bool>, std::unique_ptr<Gate>> gates_;
  std::vector<std::unique_ptr<Generation>> generations_;
  std::atomic<const Generation*> current_{nullptr};
  std::string dev_token_;
};

// Reads <data_dir>/dev-token, or creates it (and data_dir) as described
// above. False with `error` when it cannot be read or written or does not
// hold a token.
bool ensure_dev_token(const std::string& data_dir, std::string& token, bool& created,
                      std::string& error);

}  // namespace ringshard::server
