#include "ws/builtin_endpoints.h"

#include <memory>
#include <string>

#include "json/json.h"

namespace ringshard::ws {

namespace {

class EchoEndpoint final : public Endpoint {
 public:
  void on_message(WebSocket& ws, std::string_view message, bool text) const override {
    ws.send(message, text);
  }
};

constexpr size_t kMaxChannelName = 128;

class ChatEndpoint final : public Endpoint {
 public:
  void on_open(WebSocket& ws) const override { ws.subscribe(kChatGlobalTopic); }

  void on_message(WebSocket& ws, std::string_view message, bool text) const override {
    if (!text) {
      ws.close(close_code::kUnsupportedData, "chat messages are JSON text");
      return;
    }
    json::ParseError perr;
    const std::optional<json::Value> doc = json::parse(message, &perr);
    if (!doc) {
      error(ws, std::string("bad JSON at byte ") + std::to_string(perr.offset) + ": " +
                    std::string(perr.message));
      return;
    }
    if (!doc->is_object()) {
      error(ws, "a message must be a JSON object");
      return;
    }
    const json::Value* type = doc->find("type");
    if (type == nullptr || !type->is_string()) {
      error(ws, "missing \"type\"");
      return;
    }
    const std::string_view t = type->as_string();
    if (t == "global_message") {
      std::string out = R"({"type":"global_message","message":)";
      dump_message(*doc, out);
      out += '}';
      ws.publish(kChatGlobalTopic, out);
      return;
    }
    if (t != "join_channel" && t != "leave_channel" && t != "channel_message") {
      std::string e = "unknown type ";
      json::append_string(e, t);
      error(ws, e);
      return;
    }
    const json::Value* channel = doc->find("channel");
    if (channel == nullptr || !channel->is_string() || channel->as_string().empty() ||
        channel->as_string().size() > kMaxChannelName) {
      error(ws, "\"channel\" must be a string of 1 to 128 bytes");
      return;
    }
    const std::string_view name = channel->as_string();
    std::string topic(kChatChannelPrefix);
    topic += name;
    std::string out;
    if (t == "join_channel") {
      ws.subscribe(topic);
      out = R"({"type":"joined","channel":)";
      json::append_string(out, name);
      out += '}';
      ws.send(out);
    } else if (t == "leave_channel") {
      ws.unsubscribe(topic);
      out = R"({"type":"left","channel":)";
      json::append_string(out, name);
      out += '}';
      ws.send(out);
    } else {
      if (!ws.subscribed(topic)) {
        error(ws, "join the channel before sending to it");
        return;
      }
      out = R"({"type":"channel_message","channel":)";
      json::append_string(out, name);
      out += R"(,"message":)";
      dump_message(*doc, out);
      out += '}';
      ws.publish(topic, out);
    }
  }

 private:
  static void dump_message(const json::Value& doc, std::string& out) {
    const json::Value* m = doc.find("message");
    if (m == nullptr) {
      out += "null";
    } else {
      m->dump_to(out);
    }
  }

  static void error(WebSocket& ws, std::string_view what) {
    std::string out = R"({"type":"error","error":)";
    json::append_string(out, what);
    out += '}';
    ws.send(out);
  }
};

}  // namespace

void add_builtin_endpoints(WsServer& server, http::Router& router) {
  server.add_endpoint(router, "/ws/echo", std::make_shared<EchoEndpoint>());
  server.add_endpoint(router, "/ws/chat", std::make_shared<ChatEndpoint>());
}

}  // namespace ringshard::ws
