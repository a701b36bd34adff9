#include "tests/integration/routes.h"

#include <charconv>
#include <memory>
#include <stdexcept>

#include "engine/shard.h"
#include "http/server.h"

namespace ringshard::test {

namespace {

struct StreamState {
  uint64_t total = 0;
  uint64_t sent = 0;
};

http::Producer pattern_producer(uint64_t total) {
  auto st = std::make_shared<StreamState>();
  st->total = total;
  return [st](http::BodyStream& out) {
    char block[16384];
    while (st->sent < st->total) {
      const uint64_t n = std::min<uint64_t>(sizeof(block), st->total - st->sent);
      for (uint64_t i = 0; i < n; ++i) block[i] = stream_byte(st->sent + i);
      st->sent += n;
      if (!out.write(std::string_view(block, n))) {
        if (st->sent < st->total) return;  // called again when writable
      }
    }
    out.end();
  };
}

uint64_t query_number(std::string_view q) {
  uint64_t n = 0;
  std::from_chars(q.data(), q.data() + q.size(), n);
  return n;
}

}  // namespace

void add_test_routes(http::Router& router) {
  using http::Method;
  router.add(Method::kPost, "/echo", [](http::ServerRequest& req, http::Response& res) {
    res.send(200, "text/plain", req.body());
  });
  router.add(Method::kGet, "/async", [](http::ServerRequest& req, http::Response& res) {
    auto* pending = new std::pair<http::AsyncResponse, std::string>(
        res.defer(), "async:" + std::string(req.query()));
    engine::ShardMessage m;
    m.ptr = pending;
    m.fn = [](engine::Shard&, const engine::ShardMessage& msg) {
      std::unique_ptr<std::pair<http::AsyncResponse, std::string>> p(
          static_cast<std::pair<http::AsyncResponse, std::string>*>(msg.ptr));
      p->first.send(200, "text/plain", p->second);
    };
    req.shard().post(req.shard().index(), m);
  });
  router.add(Method::kGet, "/stream", [](http::ServerRequest& req, http::Response& res) {
    res.stream(200, "application/octet-stream", std::nullopt,
               pattern_producer(query_number(req.query())));
  });
  router.add(Method::kGet, "/stream-len", [](http::ServerRequest& req, http::Response& res) {
    const uint64_t n = query_number(req.query());
    res.stream(200, "application/octet-stream", n, pattern_producer(n));
  });
  router.add(Method::kGet, "/users/{id}/items/{item}",
             [](http::ServerRequest& req, http::Response& res) {
               res.send(200, "text/plain",
                        std::string(req.param("id")) + "/" + std::string(req.param("item")));
             });
  router.add(Method::kGet, "/throw", [](http::ServerRequest&, http::Response&) {
    throw std::runtime_error("boom");
  });
}

}  // namespace ringshard::test
