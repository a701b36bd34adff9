// bench/load/load_options.h: what ringshard-load is asked to do.
//
//   ringshard-load http://127.0.0.1:8080/plaintext --connections 64 --duration 10s
//       [--mode keepalive|pipeline|close] [--depth 16] [--rate R]
//       [--requests N] [--threads T] [--method M] [--header "K: V"]... [--body S]
//       [--expect-status 200] [--timeout 5s] [--max-errors N] [--json]
//   ringshard-load https://127.0.0.1:8443/plaintext [--tls-resume] ...
//   ringshard-load ws://127.0.0.1:8080/ws/echo --ws-echo [--size 32] [--depth 1]
//       [--binary] [--deflate] [--server-pid PID] ...
//   ringshard-load ws://127.0.0.1:8080/ws/chat --ws-fanout --connections 10000
//       [--publishers 1] [--channel bench] [--rate R] [--requests N] ...
//
// An https:// (wss://) URL runs every connection over TLS (BoringSSL, TLS
// 1.3, the certificate is not verified): in close mode each request pays a
// full handshake, or a ticket-resumed one with --tls-resume.
// The WebSocket modes are described in bench/load/ws_load.h.
//
// Control plane only.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ringshard::load {

enum class Mode { kKeepAlive, kPipeline, kClose };
// kNone: HTTP requests (Mode applies). kEcho: WebSocket messages echoed by
// the server. kFanout: channel messages published to many subscribers.
enum class WsMode { kNone, kEcho, kFanout };

struct LoadOptions {
  std::string host = "127.0.0.1";   // IPv4/IPv6 literal or "localhost"
  uint16_t port = 80;
  std::string path = "/";
  std::string method = "GET";
  std::vector<std::string> headers;  // extra "Name: value" lines
  std::string body;
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
};

struct LoadOptionsError {
  std::string message;
};

std::variant<LoadOptions, LoadOptionsError> parse_load_options(int argc, const char* const* argv);
std::string load_usage();
const char* mode_name(Mode m);
const char* ws_mode_name(WsMode m);

}  // namespace ringshard::load
