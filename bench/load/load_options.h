// bench/load/load_options.h: what ringshard-load is asked to do.
//
//   ringshard-load http://127.0.0.1:8080/plaintext --connections 64 --duration 10s
//       [--mode keepalive|pipeline|close] [--depth 16] [--rate R]
//       [--requests N] [--threads T] [--method M] [--header "K: V"]...
//       [--body S | --body-file PATH] [--expect-status 200] [--timeout 5s]
//       [--max-errors N] [--json]
//   ringshard-load https://127.0.0.1:8443/plaintext [--tls-resume] ...
//   ringshard-load ws://127.0.0.1:8080/ws/echo --ws-echo [--size 32] [--depth 1]
//       [--binary] [--deflate] [--server-pid PID] ...
//   ringshard-load ws://127.0.0.1:8080/ws/chat --ws-fanout --connections 10000
//       [--publishers 1] [--channel bench] [--rate R] [--requests N] ...
//   ringshard-load ws://127.0.0.1:8080/v1/stream --ws-stream --connections 1000
//       --requests 100 --header "Authorization: Bearer T" [--post /v1/deployments]
//       [--body JSON] [--event-status pending] ...
//
// An https:// (wss://) URL runs every connection over TLS (BoringSSL, TLS
// 1.3, the certificate is not verified): in close mode each request pays a
// full handshake, or a ticket-resumed one with --tls-resume.
// The WebSocket modes are described in bench/load/ws_load.h, the stream
// delivery mode (--ws-stream) in bench/load/stream_load.h, how the request
// is encoded in bench/load/request_encoder.h.
//
// Control plane only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringshard::load {

enum class Mode { kKeepAlive, kPipeline, kClose };
// kNone: HTTP requests (Mode applies). kEcho: WebSocket messages echoed by
// the server. kFanout: channel messages published to many subscribers.
// kStream: HTTP creates, each timed to its event at many stream subscribers.
enum class WsMode { kNone, kEcho, kFanout, kStream };

struct LoadOptions {
  std::string host = "127.0.0.1";   // IPv4/IPv6 literal or "localhost"
  uint16_t port = 80;
  std::string path = "/";
  std::string method = "GET";        // --ws-stream: POST
  std::vector<std::string> headers;  // extra "Name: value" lines, checked
  std::string body;                  // --body or the contents of --body-file
  bool body_given = false;           // sent with Content-Length even when empty
  Mode mode = Mode::kKeepAlive;
  unsigned depth = 16;               // pipeline depth
  unsigned connections = 64;         // total, over all threads
  unsigned threads = 1;              // load-generator shards
  uint64_t duration_ms = 10'000;     // ignored when requests > 0
  uint64_t requests = 0;             // stop after this many responses (0: use duration)
  double rate = 0;                   // requests/s over all connections; 0: as fast as possible
  int expect_status = 200;
  uint64_t timeout_ms = 5'000;       // a response that takes longer is an error
  uint64_t max_errors = 0;           // exit 1 when more errors than this
  bool json = false;
  bool pin = false;                  // pin load threads to the CPUs of the affinity mask
  bool tls = false;                  // https:// URL
  bool tls_resume = false;           // offer the session ticket last received (per thread)
  // WebSocket modes (ws:// URLs, --ws-echo, --ws-fanout).
  WsMode ws = WsMode::kNone;
  bool depth_given = false;          // --depth was set (WebSocket modes default to 1)
  uint64_t ws_size = 32;             // message payload bytes
  bool ws_binary = false;            // binary messages (echo), else text
  bool ws_deflate = false;           // offer permessage-deflate
  unsigned ws_publishers = 1;        // fan-out: publisher connections
  std::string ws_channel = "bench";  // fan-out: the /ws/chat channel
  int server_pid = 0;                // report this process's CPU time over the measured window
  // Stream delivery (--ws-stream, bench/load/stream_load.h).
  std::string stream_post_path = "/v1/deployments";  // where the creates go
  std::string stream_event_type = "deployment.update";
  std::string stream_event_status = "pending";       // the event timed per create
  uint64_t stream_settle_ms = 100;   // after the last subscriber opened, before the first create
};

// --ws-stream's defaults where the flags leave them: 1,000 subscribers,
// 100 creates, POST, 201, this body.
inline constexpr unsigned kStreamDefaultSubscribers = 1000;
inline constexpr uint64_t kStreamDefaultCreates = 100;
inline constexpr std::string_view kStreamDefaultBody =
    R"({"name":"stream-bench","image":"nginx:1","resources":{"cpu":1,"memory":128}})";

struct LoadOptionsError {
  std::string message;
};

std::variant<LoadOptions, LoadOptionsError> parse_load_options(int argc, const char* const* argv);
std::string load_usage();
const char* mode_name(Mode m);
const char* ws_mode_name(WsMode m);

}  // namespace ringshard::load
