// The ringshard binary: options, signals, the server log, and the server's
// lifetime.
//
// Exit codes: 0 after a clean drain; 64 bad flags; 78 bad config file, or
// a plugin that cannot be loaded, refuses its section or fails to start;
// 69 io_uring unavailable (the message names the cause and the fix);
// 71 the listening socket could not be set up; 78 also when a TLS
// certificate or key cannot be loaded or the access log cannot be opened;
// 130/143 a second SIGINT/SIGTERM during the drain; 70 when a shard's
// io_uring failed at runtime (the engine stops instead of running with a
// dead shard).
//
// Signals (taken by sigtimedwait on this thread only; the shards never see
// them): SIGTERM/SIGINT drain, SIGHUP reloads the configuration file and
// the certificates (validated first; an invalid file keeps the running
// configuration), SIGUSR1 reopens the access log (logrotate).
//
// systemd: with $NOTIFY_SOCKET set, READY=1 once serving, RELOADING=1 (with
// MONOTONIC_USEC) and READY=1 around a reload, STOPPING=1 at the drain, and
// WATCHDOG=1 every half $WATCHDOG_USEC (Type=notify-reload, see
// packaging/ringshard.service).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <variant>
#include <vector>

#include "obs/log.h"
#include "server/options.h"
#include "server/plugin_host.h"
#include "server/server_app.h"
#include "server/systemd_notify.h"

namespace {

using namespace ringshard;

obs::LogOptions log_options(const server::Options& o) {
  obs::LogOptions lo;
  obs::parse_log_format(o.log_format, lo.format);  // validated by the options
  obs::parse_log_level(o.log_level, lo.min_level);
  return lo;
}

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

}  // namespace

int main(int argc, char** argv) {
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
    case server::Action::kCheckConfig: {
      std::fputs(server::effective_config_text(po.options).c_str(), stdout);
      if (!po.check_config) return 0;
      // Each plugin checks its own section.
      std::vector<std::string> lines;
      std::string error;
      if (!server::check_plugins(po.options, lines, error)) {
        std::fprintf(stderr, "ringshard: %s\n", error.c_str());
        return 78;
      }
      if (po.print_config) return 0;  // the configuration alone, as asked
      for (const std::string& line : lines) std::printf("# %s\n", line.c_str());
      std::printf("# ringshard: configuration OK\n");
      return 0;
    }
    case server::Action::kRun:
      break;
  }
  obs::Logger log(log_options(po.options));
  constexpr int kMain = obs::kMainShard;

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
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  server::ServerApp app(po.options);
  app.set_logger(&log);
  if (auto err = app.start(); !err.ok()) {
    log.error(kMain, err.message);
    return err.exit_code;
  }
  engine::Engine& engine = app.engine();
  server::ListenAddress bound = po.options.listen;
  bound.port = engine.port();
  std::string batching = "off";
  if (engine.batch_wait_us() != 0) {
    batching = std::to_string(engine.batch_wait_us()) + "us";
  } else if (po.options.batch_wait_us != 0) {
    batching = "off (needs Linux 6.13+ and DEFER_TASKRUN)";
  }
  log.info(kMain, std::string("ringshard ") + RINGSHARD_VERSION + ": listening on " +
                      server::format_listen_address(bound) + ", " +
                      std::to_string(engine.shard_count()) + " shards, io_uring " +
                      engine.ring_mode() + ", completion batching " + batching);
  for (const std::string& line : app.tls_log()) log.info(kMain, "tls: " + line);
  if (app.tls_enabled()) {
    server::ListenAddress tls_bound = *po.options.tls_listen;
    tls_bound.port = app.tls_port();
    log.info(kMain, "https on " + server::format_listen_address(tls_bound));
  }
  if (po.options.admin_listen) {
    server::ListenAddress admin = *po.options.admin_listen;
    admin.port = app.admin_port();
    log.info(kMain, "admin on " + server::format_listen_address(admin) +
                        " (/metrics, /health, /ready)");
  }
  if (!po.options.access_log.empty()) log.info(kMain, "access log: " + po.options.access_log);

  server::SystemdNotifier systemd = server::SystemdNotifier::from_environment();
  systemd.ready();
  const auto watchdog = server::watchdog_interval();
  const uint64_t watchdog_every_ms =
      watchdog ? static_cast<uint64_t>(watchdog->count() / 2000) : 0;
  uint64_t next_watchdog_ms = monotonic_ms() + watchdog_every_ms;

  bool draining = false;
  while (!engine.finished()) {
    timespec tick{0, 100'000'000};
    siginfo_t info;
    const int sig = sigtimedwait(&sigs, &info, &tick);
    if (watchdog_every_ms != 0 && monotonic_ms() >= next_watchdog_ms) {
      systemd.watchdog();
      next_watchdog_ms = monotonic_ms() + watchdog_every_ms;
    }
    if (sig == SIGHUP) {
      systemd.reloading();
      std::vector<std::string> notes;
      const bool ok = app.reload(argc, argv, notes);
      for (const std::string& n : notes) {
        const bool restart = n.find("needs a restart") != std::string::npos;
        log.log(!ok ? obs::LogLevel::kError : restart ? obs::LogLevel::kWarn : obs::LogLevel::kInfo,
                kMain, "SIGHUP: " + n);
      }
      if (ok) log.set_min_level(log_options(app.options()).min_level);
      systemd.ready();
    } else if (sig == SIGUSR1) {
      log.info(kMain, "SIGUSR1: " + app.reopen_logs());
    } else if (sig == SIGTERM || sig == SIGINT) {
      if (draining) {
        log.warn(kMain, "second signal, exiting now");
        _exit(128 + sig);
      }
      draining = true;
      systemd.stopping();
      log.info(kMain, "draining (deadline " + std::to_string(po.options.drain_timeout_ms) + " ms)");
      engine.drain();
    }
  }
  engine.wait();
  app.stop_logs();
  if (const std::string failure = engine.failure(); !failure.empty()) {
    log.error(kMain, failure);
    return 70;
  }
  log.info(kMain, "drained, exiting");
  return 0;
}
