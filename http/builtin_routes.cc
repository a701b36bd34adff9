#include "http/builtin_routes.h"

#include <time.h>

#include <algorithm>
#include <array>

#include "http/server.h"
#include "obs/json_escape.h"

namespace ringshard::http {

namespace {

constexpr uint64_t kMaxBytes = uint64_t{1} << 30;
constexpr size_t kPeriod = 251;
constexpr size_t kBlock = kPeriod * 64;  // 16,064 bytes: whole periods

const std::array<char, kBlock + kPeriod>& pattern_block() {
  static const auto block = [] {
    std::array<char, kBlock + kPeriod> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = bytes_pattern(i);
    return b;
  }();
  return block;
}

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

}  // namespace

std::string health_body(const HealthInfo& health) {
  const uint64_t now = monotonic_ms();
  const uint64_t uptime = now > health.started_ms ? (now - health.started_ms) / 1000 : 0;
  std::string out = R"({"status":"healthy","version":)";
  obs::append_json_string(out, health.version);
  out += R"(,"uptime":)";
  out += std::to_string(uptime);
  out += '}';
  return out;
}

void add_builtin_routes(Router& router, std::shared_ptr<const HealthInfo> health) {
  router.add(Method::kGet, "/plaintext", [](ServerRequest&, Response& res) {
    res.send(200, "text/plain", "Hello, World!");
  });
  router.add(Method::kGet, "/json", [](ServerRequest&, Response& res) {
    res.send(200, "application/json", R"({"message":"Hello, World!"})");
  });
  router.add(Method::kGet, "/health", [health](ServerRequest&, Response& res) {
    res.send(200, "application/json", health_body(*health));
  });
  router.add(Method::kGet, "/bytes/{n}", [](ServerRequest& req, Response& res) {
    const std::string_view text = req.param("n");
    uint64_t n = 0;
    bool ok = !text.empty() && text.size() <= 10;
    for (char c : text) {
      ok = ok && c >= '0' && c <= '9';
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || n > kMaxBytes) {
      res.send_error(400, "n must be a byte count from 0 to 1073741824");
      return;
    }
    uint64_t sent = 0;
    res.stream(200, "application/octet-stream", n, [n, sent](BodyStream& out) mutable {
      const auto& block = pattern_block();
      while (sent < n) {
        // Start inside the block at the pattern's phase, so every write is
        // one contiguous slice.
        const size_t phase = static_cast<size_t>(sent % kPeriod);
        const size_t len = static_cast<size_t>(std::min<uint64_t>(n - sent, kBlock));
        const bool more = out.write(std::string_view(block.data() + phase, len));
        sent += len;
        if (!more) return;
      }
      out.end();
    });
  });
  router.add(Method::kGet, "/ready", [health](ServerRequest& req, Response& res) {
    if (req.shard().draining()) {
      res.send_error(503, "draining");
      return;
    }
    if (health->not_ready) {
      if (const std::string why = health->not_ready(); !why.empty()) {
        res.send_error(503, why);
        return;
      }
    }
    res.send(200, "application/json", R"({"status":"ready"})");
  });
}

}  // namespace ringshard::http
