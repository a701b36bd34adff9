// server/options_help.cc: --help and --version. The help is generated from
// the settings table (options_table.h), so that it shows every setting and
// its real default. (--print-config: options_print.cc.)
#include <cstdio>

#include "server/options.h"
#include "server/options_table.h"

#ifndef RINGSHARD_VERSION
#define RINGSHARD_VERSION "unknown"
#endif

namespace ringshard::server {

using namespace options_detail;

std::string version_text() { return "ringshard " RINGSHARD_VERSION; }

std::string usage_text() {
  const Options defaults;
  std::string out =
      "Usage: ringshard [FLAGS]\n"
      "\n"
      "ringshard serves HTTP and HTTPS on io_uring, one shard per core.\n"
      "Settings come from built-in defaults, then the --config file, then the\n"
      "flags: a flag always wins over the file, wherever --config stands.\n"
      "Valued flags take '--flag VALUE' or '--flag=VALUE'; boolean flags\n"
      "'--flag', '--flag=BOOL' or '--no-flag'. When a flag is repeated the last\n"
      "one wins, except the repeatable ones (--cert, --key, --cors-allow-origin,\n"
      "--auth-token, --auth-api-key, --auth-rule, --rate-limit, --plugin), which\n"
      "add up and then replace the file's list (--cert and --key: both lists).\n";
  // "  --flag VALUE" in a 30-column gutter, then the help and the default
  // wrapped to 80 columns.
  auto line = [&out](std::string left, std::string_view help,
                     std::string default_text) {
    constexpr size_t kGutter = 30;
    constexpr size_t kWidth = 80;
    std::string text(help);
    if (!default_text.empty()) text += " [" + default_text + "]";
    out += "  " + left;
    size_t column = 2 + left.size();
    bool first_word = true;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find(' ', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view word = std::string_view(text).substr(pos, end - pos);
      size_t start = first_word ? kGutter : column + 1;
      if (column >= start || start + word.size() > kWidth) {
        out += "\n" + std::string(kGutter, ' ');
        column = kGutter;
      } else {
        out += std::string(start - column, ' ');
        column = start;
      }
      out += word;
      column += word.size();
      first_word = false;
      pos = end + 1;
    }
    out += "\n";
  };
  out += "\nGeneral:\n";
  line("-h, --help", "print this help and exit", "");
  line("-V, --version", "print the version and exit", "");
  line("    --config FILE", "read settings from a TOML file", "none");
  line("    --check-config", "check the file and flags, print the result, exit",
       "");
  line("    --print-config",
       "print the effective configuration as TOML (secrets redacted), exit", "");
  // After the row of this flag, the flag that has no row of its own.
  auto extra_line = [&line](std::string_view flag) {
    if (flag == "--plugin") {
      line("    --no-plugins", "load no plugin, not even the default ones", "");
    }
  };
  std::string_view section;
  for (const Setting& s : settings()) {
    if (s.section != section) {
      section = s.section;
      if (const Section* known = find_section(section); known && !known->title.empty()) {
        out += "\n" + std::string(known->title) + ":\n";
      }
    }
    std::string left = "    " + std::string(s.flag);
    left += s.kind == Kind::kBool ? std::string(s.metavar)
                                  : " " + std::string(s.metavar);
    std::string default_text;
    switch (s.kind) {
      case Kind::kListen:
        default_text = format_listen_address(defaults.*s.address);
        break;
      case Kind::kOptionalListen:
        default_text = defaults.*s.optional_address
                           ? format_listen_address(*(defaults.*s.optional_address))
                           : "off";
        break;
      case Kind::kPath:
        default_text = defaults.*s.text;
        break;
      case Kind::kPathList:
        default_text = s.when_empty;
        break;
      case Kind::kText:
        default_text = !(defaults.*s.text).empty() ? defaults.*s.text
                       : !s.when_empty.empty()      ? std::string(s.when_empty)
                                                    : "none";
        break;
      case Kind::kList: {
        const std::vector<std::string>& entries = defaults.*s.list;
        for (size_t i = 0; i < entries.size(); ++i) default_text += (i ? ", " : "") + entries[i];
        if (entries.empty()) default_text = s.when_empty.empty() ? "none" : s.when_empty;
        break;
      }
      case Kind::kRecords:
        default_text = "none";
        break;
      case Kind::kChoice:
        default_text = choice_text(s, defaults);
        break;
      case Kind::kBool:
        default_text = s.get(defaults) != 0 ? "on" : "off";
        break;
      default:
        default_text = format_value(s, s.get(defaults));
    }
    line(left, s.help, default_text);
    extra_line(s.flag);
  }
  out +=
      "\n"
      "Values:\n"
      "  HOST:PORT  IPv4 (127.0.0.1:8080), bracketed IPv6 ([::1]:8080),\n"
      "             localhost:8080, *:8080 or :8080 (all IPv4 addresses);\n"
      "             port 0 picks a free port\n"
      "  DUR        whole number with ms, s, m or h (250ms, 10s, 2m, 1h);\n"
      "             a bare number is seconds; 1ms..24h (drain: 0s..24h;\n"
      "             TLS handshake: 1ms..1h; ticket rotation: 0 or 1s..168h)\n"
      "  SIZE       bytes, or a whole number with k/K/KiB, m/M/MiB, g/G/GiB\n"
      "             (powers of 1024: 16k = 16384)\n"
      "  N          decimal digits\n"
      "  LIST       comma-separated values (GET,POST); '' is an empty list\n"
      "  BOOL       true or false\n"
      "\n"
      "Exit codes:\n"
      "  0   success (also after a graceful drain)\n"
      "  64  bad command line (unknown flag, missing or bad value)\n"
      "  78  bad config file (unreadable, not TOML, unknown key, bad value),\n"
      "      or a plugin that cannot be loaded, refuses its settings or fails\n"
      "      to start\n"
      "\n"
      "Signals:\n"
      "  SIGTERM, SIGINT  stop accepting, finish in-flight requests, close\n"
      "                   connections cleanly, exit within --drain-timeout;\n"
      "                   a second signal exits at once\n"
      "  SIGHUP           reload the TLS certificates and keys; on an error\n"
      "                   the old ones stay in use\n"
      "\n"
      "Auth tokens and API keys are given by the SHA-256 of the secret, in hex:\n"
      "  printf %s \"$TOKEN\" | sha256sum\n"
      "\n"
      "Plugins: each [plugins.NAME] table of the file holds the settings of\n"
      "plugin NAME (a table for a plugin that is not loaded is an error);\n"
      "--check-config also runs each plugin's own check of its table. See\n"
      "docs/plugins.md.\n"
      "\n"
      "See docs/configuration.md for the TOML keys.\n";
  return out;
}

}  // namespace ringshard::server
