// The ringshard binary: options, signals, and the server's lifetime.
//
// Exit codes: 0 after a clean drain; 64 bad flags; 78 bad config file;
// 69 io_uring unavailable (the message names the cause and the fix);
// 71 the listening socket could not be set up; 78 also when a TLS
// certificate or key cannot be loaded; 130/143 a second SIGINT/SIGTERM
// during the drain; 70 when a shard's io_uring failed at runtime (the
// engine stops instead of running with a dead shard). SIGHUP reloads the
// TLS certificates.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <variant>

#include "server/options.h"
#include "server/server_app.h"

int main(int argc, char** argv) {
  using namespace ringshard;
  auto parsed = server::parse_options(argc, argv);
  if (auto* err = std::get_if<server::OptionsError>(&parsed)) {
    std::fprintf(stderr, "ringshard: %s\n", err->message.c_str());
    return err->exit_code();
  }
  const auto& po = std::get<server::ParsedOptions>(parsed);
  switch (po.action) {
    case server::Action::kHelp:
      std::fputs(server::usage_text().c_str(), stdout);
      return 0;
    case server::Action::kVersion:
      std::printf("%s\n", server::version_text().c_str());
      return 0;
    case server::Action::kCheckConfig:
      std::fputs(server::effective_config_text(po.options).c_str(), stdout);
      std::printf("# ringshard: configuration OK\n");
      return 0;
    case server::Action::kRun:
      break;
  }

  // Every connection is a file descriptor: take the hard limit, so the
  // default soft limit (often 1024) does not cap connections silently.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  // Shard threads inherit this mask: signals are taken only by sigwait here.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  server::ServerApp app(po.options);
  if (auto err = app.start(); !err.ok()) {
    std::fprintf(stderr, "%s\n", err.message.c_str());
    return err.exit_code;
  }
  engine::Engine& engine = app.engine();
  server::ListenAddress bound = po.options.listen;
  bound.port = engine.port();
  std::fprintf(stderr, "ringshard %s: listening on %s, %u shards, io_uring %s\n",
               RINGSHARD_VERSION, server::format_listen_address(bound).c_str(),
               engine.shard_count(), engine.ring_mode());
  for (const std::string& line : app.tls_log()) std::fprintf(stderr, "ringshard: tls: %s\n", line.c_str());
  if (app.tls_enabled()) {
    server::ListenAddress tls_bound = *po.options.tls_listen;
    tls_bound.port = app.tls_port();
    std::fprintf(stderr, "ringshard: https on %s\n", server::format_listen_address(tls_bound).c_str());
  }
  std::fflush(stderr);

  bool draining = false;
  while (!engine.finished()) {
    timespec tick{0, 100'000'000};
    siginfo_t info;
    const int sig = sigtimedwait(&sigs, &info, &tick);
    if (sig == SIGHUP) {
      std::string message;
      app.reload_tls(message);
      std::fprintf(stderr, "ringshard: SIGHUP: %s\n", message.c_str());
      std::fflush(stderr);
    } else if (sig == SIGTERM || sig == SIGINT) {
      if (draining) {
        std::fprintf(stderr, "ringshard: second signal, exiting now\n");
        _exit(128 + sig);
      }
      draining = true;
      std::fprintf(stderr, "ringshard: draining (deadline %u ms)\n",
                   po.options.drain_timeout_ms);
      engine.drain();
    }
  }
  engine.wait();
  if (const std::string failure = engine.failure(); !failure.empty()) {
    std::fprintf(stderr, "ringshard: %s\n", failure.c_str());
    return 70;
  }
  std::fprintf(stderr, "ringshard: drained, exiting\n");
  return 0;
}
