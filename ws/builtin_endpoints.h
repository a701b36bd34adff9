// ws/builtin_endpoints.h: the WebSocket endpoints every ringshard serves,
// for tests, benchmarks and conformance suites (Autobahn).
//
//   /ws/echo   echoes every message back as it came (text or binary),
//              compressed when permessage-deflate was negotiated.
//   /ws/chat   the channel model, JSON text messages:
//                {"type":"join_channel","channel":"c"}    -> {"type":"joined","channel":"c"}
//                {"type":"leave_channel","channel":"c"}   -> {"type":"left","channel":"c"}
//                {"type":"channel_message","channel":"c","message":m}
//                    -> every member of c, on every shard, gets
//                       {"type":"channel_message","channel":"c","message":m}
//                {"type":"global_message","message":m}
//                    -> every /ws/chat connection gets
//                       {"type":"global_message","message":m}
//              Errors answer {"type":"error","error":"..."} and keep the
//              connection: bad JSON, not an object, an unknown or missing
//              type, a missing or non-string channel, a channel message to a
//              channel not joined. Binary messages are refused with 1003.
//              Channel names: 1..128 bytes.
//
// Control plane: call once while building the router.
#pragma once

#include "http/router.h"
#include "ws/server.h"

namespace ringshard::ws {

void add_builtin_endpoints(WsServer& server, http::Router& router);

// The topic a /ws/chat channel maps to, and the topic of global messages.
inline constexpr std::string_view kChatChannelPrefix = "chat:";
inline constexpr std::string_view kChatGlobalTopic = "chat";

}  // namespace ringshard::ws
