#include "server/server_app.h"

#include "http/builtin_routes.h"

namespace ringshard::server {

ServerApp::ServerApp(const Options& options, const engine::Clock* clock) : options_(options) {
  http_config_.parser.max_head_bytes = options.max_head_bytes;
  http_config_.parser.max_target_bytes = options.max_target_bytes;
  http_config_.parser.max_headers = options.max_headers;
  http_config_.max_body_bytes = options.max_body_bytes;
  http_config_.header_timeout_ms = options.header_timeout_ms;
  http_config_.body_timeout_ms = options.body_timeout_ms;
  http_config_.idle_timeout_ms = options.idle_timeout_ms;
  http::add_builtin_routes(router_);

  engine::EngineConfig ec;
  ec.shards = options.shards;
  ec.listen_host = options.listen.host;
  ec.listen_port = options.listen.port;
  ec.max_connections = options.max_connections;
  ec.send_queue_limit = options.send_queue_limit;
  ec.recv_buffer_size = options.recv_buffer_size;
  ec.recv_buffer_count = options.recv_buffer_count;
  ec.drain_timeout_ms = options.drain_timeout_ms;
  ec.defer_accept = options.defer_accept;
  ec.clock = clock;
  engine_ = std::make_unique<engine::Engine>(std::move(ec));
  servers_.assign(engine_->config().shards, nullptr);
}

engine::StartError ServerApp::start() {
  // The factory runs on each shard's thread; each writes only its own slot.
  engine_->set_handler_factory(
      [this](engine::Shard& shard) -> std::unique_ptr<engine::ConnectionHandler> {
        auto h = http::make_http_handler(shard, http_config_, router_);
        servers_[shard.index()] = static_cast<const http::HttpServer*>(h.get());
        return h;
      });
  return engine_->start();
}

const http::HttpServer* ServerApp::http_server(unsigned shard) const {
  return shard < servers_.size() ? servers_[shard] : nullptr;
}

}  // namespace ringshard::server
