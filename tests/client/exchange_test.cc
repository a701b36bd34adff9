// One exchange of the HTTP client against loopback servers: response
// framing (Content-Length, chunked, until close, HEAD, 204, 1xx), strict
// parsing, limits, 101 hand-over, streamed bodies both ways with
// backpressure and pause/resume, cancellation.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/client/client_harness.h"

namespace ringshard::test {
namespace RS_UNITY_ID {

using client::ClientError;

// Answers each request on a connection with the next canned response.
RawServer canned(std::vector<std::string> responses) {
  return RawServer([responses](RawConn& c) {
    for (const std::string& r : responses) {
      if (c.read_request().empty()) return;
      for (char ch : r) {  // byte by byte: heads and chunk lines split across reads
        if (!c.send(std::string_view(&ch, 1))) return;
      }
    }
    c.wait_eof();
  });
}

TEST(ClientExchange, ContentLengthAndChunkedBodiesOnOneConnection) {
  RawServer backend = canned({
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  client::ClientResult a = host.fetch(up, get("/a"));
  ASSERT_TRUE(a.ok()) << a.detail;
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.reason, "OK");
  EXPECT_EQ(a.header("content-type"), "text/plain");
  EXPECT_EQ(a.body, "hello");
  client::ClientResult b = host.fetch(up, get("/b"));
  ASSERT_TRUE(b.ok()) << b.detail;
  EXPECT_EQ(b.body, "abc0123456789abcdef");
  client::ClientResult c = host.fetch(up, get("/c"));
  ASSERT_TRUE(c.ok()) << c.detail;
  EXPECT_EQ(c.body, "");
  EXPECT_EQ(up->metrics().connects.get(), 1u);
  EXPECT_EQ(up->metrics().responses[2].get(), 3u);
}

TEST(ClientExchange, CloseDelimitedBody) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\n\r\nuntil ");
    c.send("the end");
    c.close();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  const client::ClientResult r = host.fetch(up, get("/"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.body, "until the end");
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
}

TEST(ClientExchange, HeadNoContentAndNotModifiedHaveNoBody) {
  RawServer backend = canned({
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  client::ClientRequest head = get("/");
  head.method = "HEAD";
  client::ClientResult h = host.fetch(up, std::move(head));
  ASSERT_TRUE(h.ok()) << h.detail;
  EXPECT_EQ(h.header("content-length"), "100");
  EXPECT_EQ(h.body, "");
  EXPECT_EQ(host.fetch(up, get("/")).status, 204);
  EXPECT_EQ(host.fetch(up, get("/")).status, 304);
  EXPECT_EQ(host.fetch(up, get("/")).body, "ok");
  EXPECT_EQ(up->metrics().connects.get(), 1u);
}

TEST(ClientExchange, InterimResponsesAreSkipped) {
  RawServer backend = canned({
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  const client::ClientResult r = host.fetch(up, get("/"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "done");
}

TEST(ClientExchange, MalformedResponsesAreErrorsNeverPassedOn) {
  const std::vector<std::string> bad = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok",
      "HELLO\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const std::string& response : bad) {
    RawServer backend = canned({response});
    ClientHost host;
    client::Upstream* up = host.upstream(local_upstream(backend.port()));
    RecordingSink sink;
    host.stream(up, get("/"), sink);
    ASSERT_TRUE(sink.wait([](RecordingSink& s) { return s.done(); })) << response;
    std::lock_guard lock(sink.mu);
    EXPECT_TRUE(sink.failed) << response;
    EXPECT_EQ(sink.error, ClientError::kBadResponse) << response;
    if (response.find("chunked\r\n\r\nzz") == std::string::npos) {
      EXPECT_EQ(sink.status, 0) << "a head reached the sink: " << response;
    }
    EXPECT_EQ(sink.body, "");
  }
}

TEST(ClientExchange, OversizedHeadAndBodyAreRefused) {
  RawServer backend = canned({
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2'000, 'a') + "\r\nContent-Length: 0\r\n\r\n",
  });
  ClientHost host;
  auto uo = local_upstream(backend.port());
  uo.max_response_head_bytes = 1'024;
  client::Upstream* up = host.upstream(uo);
  EXPECT_EQ(host.fetch(up, get("/")).error, ClientError::kBadResponse);

  RawServer big = canned({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x')});
  auto uo2 = local_upstream(big.port());
  uo2.max_response_body = 99;
  client::Upstream* up2 = host.upstream(uo2);
  EXPECT_EQ(host.fetch(up2, get("/")).error, ClientError::kBadResponse);
}

TEST(ClientExchange, BufferedRequestBodyLimit) {
  RawServer backend = canned({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"});
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  std::shared_ptr<Pending> p = std::make_shared<Pending>();
  host.on_client([&](client::HttpClient& c) {
    c.request(*up, get("/"), [p](client::ClientResult&& r) {
      std::lock_guard lock(p->mu);
      p->result = std::move(r);
      p->done = true;
      p->cv.notify_all();
    }, /*max_body=*/4);
    return true;
  });
  const client::ClientResult r = p->wait();
  EXPECT_EQ(r.error, ClientError::kBadResponse);
  EXPECT_EQ(r.status, 200);
}

TEST(ClientExchange, RequestThatWouldSmuggleIsRefused) {
  RawServer backend = canned({});
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  client::ClientRequest r = get("/");
  r.headers.emplace_back("X-A", "1\r\nX-Injected: 2");
  EXPECT_EQ(host.fetch(up, std::move(r)).error, ClientError::kInvalidRequest);
  EXPECT_EQ(host.fetch(up, get("/a b")).error, ClientError::kInvalidRequest);
  client::ClientRequest m = get("/");
  m.method = "GE T";
  EXPECT_EQ(host.fetch(up, std::move(m)).error, ClientError::kInvalidRequest);
  EXPECT_EQ(backend.accepted(), 0);
}

TEST(ClientExchange, RequestHeadAsSent) {
  std::string seen;
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    seen = c.read_request();
    got = true;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  client::ClientRequest r;
  r.method = "PUT";
  r.target = "/items/1?x=y";
  r.headers = {{"X-Trace", "abc"}, {"Content-Length", "999"}};
  r.body_mode = client::BodyMode::kBuffered;
  r.body = "payload";
  ASSERT_TRUE(host.fetch(up, std::move(r)).ok());
  ASSERT_TRUE(got.load());
  const std::string host_header = "Host: 127.0.0.1:" + std::to_string(backend.port()) + "\r\n";
  EXPECT_EQ(seen, "PUT /items/1?x=y HTTP/1.1\r\nX-Trace: abc\r\n" + host_header +
                      "Content-Length: 7\r\n\r\npayload");
}

TEST(ClientExchange, SwitchingProtocolsHandsTheConnectionOver) {
  RawServer backend([](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
           "first-frame");
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  RecordingSink sink;
  client::ClientRequest r = get("/ws");
  r.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  host.stream(up, std::move(r), sink);
  ASSERT_TRUE(sink.wait([](RecordingSink& s) { return s.done(); }));
  {
    std::lock_guard lock(sink.mu);
    EXPECT_TRUE(sink.upgraded);
    EXPECT_EQ(sink.status, 101);  // the head came first (a proxy passes it on)
    // The rest may arrive with the head or after it (then it is the new
    // handler's): what came with it is handed over, never lost.
    EXPECT_TRUE(std::string_view("first-frame").starts_with(sink.upgrade_rest));
  }
  EXPECT_EQ(up->metrics().responses[1].get(), 1u);
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
}

TEST(ClientExchange, StreamedUploadWithBackpressure) {
  TestServerOptions o;
  o.shards = 1;
  o.routes = [](http::Router& r) {
    http::RouteOptions big;
    big.max_body = 16u << 20;
    r.add(http::Method::kPost, "/upload", [](http::ServerRequest& req, http::Response& res) {
      res.send(200, "text/plain", std::to_string(req.body().size()));
    }, big);
  };
  TestServer backend(o);
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  for (bool with_length : {false, true}) {
    RecordingSink sink;
    sink.upload.assign(8u << 20, 'u');
    client::ClientRequest r;
    r.method = "POST";
    r.target = "/upload";
    r.body_mode = client::BodyMode::kStreamed;
    if (with_length) r.stream_length = sink.upload.size();
    host.stream(up, std::move(r), sink);
    ASSERT_TRUE(sink.wait([](RecordingSink& s) { return s.done(); }, 30'000));
    std::lock_guard lock(sink.mu);
    EXPECT_TRUE(sink.ended) << client::client_error_name(sink.error);
    EXPECT_EQ(sink.body, std::to_string(8u << 20));
    EXPECT_GT(sink.refused_writes, 0) << "the send queue never filled";
    EXPECT_GT(sink.writable_calls, 1);
  }
}

TEST(ClientExchange, StreamedResponsePausesAndResumes) {
  const std::string payload(1u << 20, 'p');
  RawServer backend([&](RawConn& c) {
    c.read_request();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(payload.size()) + "\r\n\r\n");
    c.send(payload);
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  RecordingSink sink;
  sink.pause_each = true;
  host.stream(up, get("/"), sink);
  int resumes = 0;
  while (true) {
    int chunks = 0;
    ASSERT_TRUE(sink.wait([&](RecordingSink& s) {
      chunks = s.chunks;
      return s.done() || s.chunks > resumes;
    }));
    {
      std::lock_guard lock(sink.mu);
      if (sink.done()) break;
      // Paused: nothing more arrives until resume().
      EXPECT_EQ(sink.chunks, resumes + 1);
    }
    host.sync();
    {
      std::lock_guard lock(sink.mu);
      EXPECT_EQ(sink.chunks, resumes + 1) << "on_body after it returned false";
    }
    ++resumes;
    host.on_client([&](client::HttpClient&) {
      client::ExchangeHandle h;
      {
        std::lock_guard lock(sink.mu);
        h = sink.handle;
      }
      h.resume();
      return true;
    });
    ASSERT_LT(resumes, 100'000);
  }
  std::lock_guard lock(sink.mu);
  EXPECT_TRUE(sink.ended);
  EXPECT_EQ(sink.body.size(), payload.size());
  EXPECT_GT(resumes, 1);
  EXPECT_EQ(up->metrics().idle.get(), 1u);  // reusable after the paused body
}

TEST(ClientExchange, ChunkedResponseFromTheServer) {
  TestServerOptions o;
  o.shards = 1;
  o.routes = [](http::Router& r) {
    r.add(http::Method::kGet, "/stream", [](http::ServerRequest&, http::Response& res) {
      auto left = std::make_shared<int>(100);
      res.stream(200, "text/plain", std::nullopt, [left](http::BodyStream& out) {
        while (*left > 0) {
          --*left;
          if (!out.write(std::string(1000, static_cast<char>('a' + *left % 26)))) return;
        }
        out.end();
      });
    });
  };
  TestServer backend(o);
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  RecordingSink sink;
  host.stream(up, get("/stream"), sink);
  ASSERT_TRUE(sink.wait([](RecordingSink& s) { return s.done(); }));
  std::lock_guard lock(sink.mu);
  EXPECT_TRUE(sink.ended);
  EXPECT_EQ(sink.framing, client::Framing::kChunked);
  EXPECT_EQ(sink.body.size(), 100'000u);
}

TEST(ClientExchange, CancelClosesTheConnectionWithoutCallback) {
  std::atomic<bool> got{false};
  RawServer backend([&](RawConn& c) {
    c.read_request();
    got = true;
    c.wait_eof();
  });
  ClientHost host;
  client::Upstream* up = host.upstream(local_upstream(backend.port()));
  RecordingSink sink;
  host.stream(up, get("/"), sink);
  ASSERT_TRUE(TestServer::wait_until([&] { return got.load(); }));
  host.on_client([&](client::HttpClient&) {
    std::lock_guard lock(sink.mu);
    sink.handle.cancel();
    EXPECT_FALSE(sink.handle.active());
    return true;
  });
  ASSERT_TRUE(TestServer::wait_until([&] { return up->metrics().open.get() == 0; }));
  host.sync();
  std::lock_guard lock(sink.mu);
  EXPECT_FALSE(sink.done());
  EXPECT_EQ(up->metrics().error_count(ClientError::kCancelled), 1u);
}

}  // namespace
}  // namespace ringshard::test
