// libFuzzer target for the TLS record path (tls/session.h), server side.
// The first input byte picks the phase, the second where the rest is split
// into two receive() calls (as two receive buffers would present it):
//   even: the bytes arrive instead of a ClientHello (handshake parsing);
//   odd:  a real TLS 1.3 session is established in memory with the
//         project's client, then the bytes arrive as further records
//         (record layer, decryption, post-handshake messages, alerts).
// Checks, besides the sanitizers' crash and leak detection:
//  - garbage never completes a handshake, and no plaintext is delivered
//    before one has completed;
//  - once a session has failed it stays failed and delivers nothing more.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include "tls/certificate.h"
#include "tls/server_context.h"
#include "tls/session.h"
#include "tls/transport.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace ringshard::tls;

constexpr const char* kFuzzTarget = "tls record";

struct Buffer final : WireSink {
  void wire(std::string_view bytes) override { data.append(bytes); }
  std::string take() { return std::exchange(data, {}); }
  std::string data;
};

struct Contexts {
  std::shared_ptr<const ServerContext> server;
  std::shared_ptr<const ClientContext> client;
};

const Contexts& contexts() {
  static const Contexts c = [] {
    char dir[] = "/tmp/ringshard-fuzz-tls-XXXXXX";
    if (mkdtemp(dir) == nullptr) FUZZ_FAIL("mkdtemp");
    std::string error;
    const auto now = static_cast<int64_t>(std::time(nullptr));
    auto dev = ensure_dev_certificate(std::string(dir) + "/tls", now, error);
    if (!dev) FUZZ_FAIL("dev certificate");
    ServerOptions opts;
    opts.certificates.push_back({dev->cert_path, dev->key_path});
    Contexts out;
    out.server = ServerContext::create(opts, std::make_shared<TicketKeys>(3'600'000), now, error);
    out.client = ClientContext::create(ClientOptions{}, error);
    if (!out.server || !out.client) FUZZ_FAIL("contexts");
    unlink(dev->cert_path.c_str());
    unlink(dev->key_path.c_str());
    rmdir((std::string(dir) + "/tls").c_str());
    rmdir(dir);
    return out;
  }();
  return c;
}

struct Probe {
  bool established = false;
  size_t plaintext = 0;
  bool plaintext_before_handshake = false;
};

bool on_established(void* ctx) {
  static_cast<Probe*>(ctx)->established = true;
  return true;
}

bool on_plaintext(void* ctx, std::span<const char> bytes) {
  auto* p = static_cast<Probe*>(ctx);
  if (!p->established) p->plaintext_before_handshake = true;
  p->plaintext += bytes.size();
  return true;
}

// Runs the in-memory handshake between a client and a server session.
bool handshake(Session& client, Buffer& c_out, Session& server, Buffer& s_out, Probe& probe) {
  char scratch[Session::kLargeRecord];
  const Session::Events server_events{on_established, on_plaintext, &probe};
  Probe client_probe;
  const Session::Events client_events{on_established, on_plaintext, &client_probe};
  if (!client.begin_handshake()) return false;
  for (int round = 0; round < 8 && !(probe.established && client_probe.established); ++round) {
    const std::string to_server = c_out.take();
    server.receive(to_server, scratch, server_events);
    const std::string to_client = s_out.take();
    client.receive(to_client, scratch, client_events);
  }
  return probe.established && client_probe.established;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Contexts& ctx = contexts();
  const bool after_handshake = (data[0] & 1) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t split = rest.empty() ? 0 : data[1] % (rest.size() + 1);

  Buffer s_out, c_out;
  Session server, client;
  Probe probe;
  FUZZ_CHECK(server.start(ctx.server->default_ctx(), Session::Role::kServer, &s_out, nullptr));
  if (after_handshake) {
    FUZZ_CHECK(client.start(ctx.client->ctx(), Session::Role::kClient, &c_out, nullptr));
    FUZZ_CHECK(handshake(client, c_out, server, s_out, probe));
    s_out.take();
  }
  const bool established_before = probe.established;
  char scratch[Session::kLargeRecord];
  const Session::Events events{on_established, on_plaintext, &probe};
  const auto first = server.receive(rest.substr(0, split), scratch, events);
  const size_t plaintext_after_first = probe.plaintext;
  const auto second = server.receive(rest.substr(split), scratch, events);

  if (!established_before) FUZZ_CHECK(!probe.established);  // garbage cannot finish a handshake
  FUZZ_CHECK(!probe.plaintext_before_handshake);
  if (first.status == Session::Status::kFailed) {
    FUZZ_CHECK(second.status == Session::Status::kFailed);
    FUZZ_CHECK(probe.plaintext == plaintext_after_first);
  }
  // Sealing on a failed session must refuse, not crash.
  const bool sealed = server.seal("x", 0);
  if (server.status() == Session::Status::kFailed) FUZZ_CHECK(!sealed);
  return 0;
}
