// server/options_argv.cc: the command line: scanning argv, then the config
// file, then the flags over it, then the checks across settings.
//
// Two passes: scan() only sorts the arguments, so that --help and --version
// win even over a bad flag before them; then the file is read and each flag
// is applied in order through the settings table (options_table.h).
#include <algorithm>
#include <exception>
#include <vector>

#include "server/options.h"
#include "server/options_checks.h"
#include "server/options_table.h"
#include "server/options_toml.h"
#include "server/options_units.h"
#include "server/options_values.h"

namespace ringshard::server {
namespace {

using namespace options_detail;

OptionsError usage_error(std::string message) {
  return OptionsError{OptionsError::kUsage, std::move(message) + " (see --help)"};
}

struct FlagUse {
  const Setting* setting;
  std::string_view flag;  // as the user spelled it
  std::string value;
  bool clear = false;     // --no-plugins: empty the list where the flag stands
};

struct ScannedArgs {
  bool help = false;
  bool version = false;
  bool check_config = false;
  bool print_config = false;
  std::optional<std::string> config_path;
  std::vector<FlagUse> uses;
  std::optional<OptionsError> error;  // the first one
};

// First pass: what each argument is, without judging values, so that --help
// wins even over a bad flag before it.
ScannedArgs scan(int argc, const char* const* argv) {
  ScannedArgs out;
  auto fail = [&out](std::string message) {
    if (!out.error) out.error = usage_error(std::move(message));
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "-V" || arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      fail(arg.size() > 1 && arg[0] == '-' && arg != "--"
               ? "unknown flag " + quote(arg)
               : "unexpected argument " + quote(arg));
      continue;
    }
    size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::optional<std::string_view> inline_value;
    if (eq != std::string_view::npos) inline_value = arg.substr(eq + 1);

    // --no-NAME turns off the bool --NAME; --no-access-log is
    // --access-log off (access_log was a bool once).
    const Setting* negated = nullptr;
    if (name.substr(0, 5) == "--no-") {
      negated = find_by_flag("--" + std::string(name.substr(5)));
      if (negated != nullptr && negated->kind != Kind::kBool &&
          negated->flag != "--access-log") {
        negated = nullptr;
      }
    }
    if (name == "--no-plugins") {
      if (inline_value) {
        fail("--no-plugins: does not take a value");
      } else {
        out.uses.push_back({find_by_flag("--plugin"), name, "", true});
      }
      continue;
    }
    if (name == "--help" || name == "--version" || name == "--check-config" ||
        name == "--print-config" || negated != nullptr) {
      if (inline_value) {
        fail(std::string(name) + ": does not take a value");
      } else if (name == "--check-config") {
        out.check_config = true;
      } else if (name == "--print-config") {
        out.print_config = true;
      } else if (negated != nullptr) {
        out.uses.push_back({negated, name, negated->kind == Kind::kBool ? "false" : "off"});
      }
      continue;
    }
    const Setting* setting = find_by_flag(name);
    if (setting == nullptr && name != "--config") {
      fail("unknown flag " + quote(name));
      continue;
    }
    std::string value;
    if (inline_value) {
      value = std::string(*inline_value);
    } else if (setting != nullptr && setting->kind == Kind::kBool) {
      value = "true";
    } else if (i + 1 < argc && argv[i + 1] != nullptr &&
               std::string_view(argv[i + 1]).substr(0, 2) != "--") {
      value = argv[++i];
    } else {
      fail(std::string(name) + ": missing value");
      continue;
    }
    if (setting == nullptr) {
      if (value.empty()) {
        fail("--config: must not be empty");
      } else {
        out.config_path = std::move(value);
      }
    } else {
      out.uses.push_back({setting, name, std::move(value)});
    }
  }
  return out;
}

std::variant<ParsedOptions, OptionsError> parse_options_or_throw(
    int argc, const char* const* argv) {
  ScannedArgs args = scan(argc, argv);
  ParsedOptions parsed;
  if (args.help) {
    parsed.action = Action::kHelp;
    return parsed;
  }
  if (args.version) {
    parsed.action = Action::kVersion;
    return parsed;
  }
  if (args.error) return *args.error;
  if (args.check_config || args.print_config) parsed.action = Action::kCheckConfig;
  parsed.print_config = args.print_config;
  parsed.check_config = args.check_config;

  Options& o = parsed.options;
  CrossErrors file_cross;
  if (args.config_path) {
    std::string text;
    if (auto problem = read_config_file(*args.config_path, text)) {
      return OptionsError{OptionsError::kConfig,
                          "cannot read config file " +
                              quote(*args.config_path, 256) + ": " + *problem};
    }
    if (auto error = apply_config(text, *args.config_path, o, &file_cross)) {
      return *error;
    }
    o.config_path = *args.config_path;
  }

  // Any --cert or --key replaces both of the file's lists, so the pairs on
  // the command line are exactly the ones given there. Other repeatable
  // flags replace their own list.
  auto is_list = [](const FlagUse& use) { return use.setting->kind == Kind::kPathList; };
  bool list_flags = std::any_of(args.uses.begin(), args.uses.end(), is_list);
  if (list_flags) {
    for (const Setting& s : settings()) {
      if (s.kind == Kind::kPathList) (o.*s.list).clear();
    }
  }
  for (const FlagUse& use : args.uses) {
    const Setting& s = *use.setting;
    if (s.kind == Kind::kList && s.list_flag == ListFlag::kRepeat) (o.*s.list).clear();
    if (s.kind == Kind::kRecords && s.records->merge_flag == nullptr) s.records->clear(o);
  }
  for (const FlagUse& use : args.uses) {
    if (use.clear) {
      (o.*use.setting->list).clear();
      continue;
    }
    if (auto problem = apply_text(*use.setting, use.value, o)) {
      return usage_error(std::string(use.flag) + ": " + *problem);
    }
    if (is_list(use) && (o.*use.setting->list).size() > use.setting->max) {
      return usage_error(std::string(use.flag) + ": given more than " +
                         std::to_string(use.setting->max) + " times");
    }
  }
  // The flag as last spelled for a setting, or "" when no flag set it.
  auto flag_used = [&args](std::string_view flag) {
    std::string_view spelled;
    for (const FlagUse& use : args.uses) {
      if (use.setting->flag == flag) spelled = use.flag;
    }
    return spelled;
  };
  auto file_error = [](std::optional<std::string>& message) {
    return OptionsError{OptionsError::kConfig, std::move(*message)};
  };

  if (o.max_target_bytes > o.max_head_bytes) {
    std::string head = format_size(o.max_head_bytes);
    std::string target = format_size(o.max_target_bytes);
    if (std::string_view flag = flag_used("--max-target-bytes"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + target +
                         " is larger than max-head-bytes (" + head + ")");
    }
    if (std::string_view flag = flag_used("--max-head-bytes"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + head +
                         " is smaller than max-target-bytes (" + target +
                         "); lower --max-target-bytes too");
    }
    if (file_cross.head_target) return file_error(file_cross.head_target);
  }
  if (auto conflict = tls_listen_conflict(o)) {
    if (std::string_view flag = flag_used("--tls-listen"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *conflict);
    }
    if (std::string_view flag = flag_used("--listen"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *conflict +
                         "; move HTTPS with --tls-listen or turn it off with "
                         "--tls-listen off");
    }
    if (file_cross.tls_listen) return file_error(file_cross.tls_listen);
  }
  if (auto conflict = admin_listen_conflict(o)) {
    if (std::string_view flag = flag_used("--admin-listen"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + conflict->message);
    }
    std::string_view other = conflict->with_tls ? "--tls-listen" : "--listen";
    if (std::string_view flag = flag_used(other); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + conflict->message +
                         "; move the admin listener with --admin-listen or turn it "
                         "off with --admin-listen off");
    }
    if (file_cross.admin_listen) return file_error(file_cross.admin_listen);
  }
  if (auto counts = tls_pair_counts(o)) {
    if (list_flags) {
      return usage_error("--cert and --key must come in pairs " + *counts);
    }
    if (file_cross.tls_pairs) return file_error(file_cross.tls_pairs);
  }
  if (auto problem = proxy_routes_problem(o)) {
    if (std::string_view flag = flag_used("--route"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *problem);
    }
    if (std::string_view flag = flag_used("--upstream"); !flag.empty()) {
      return usage_error(std::string(flag) + ": " + *problem);
    }
    if (file_cross.proxy_routes) return file_error(file_cross.proxy_routes);
  }
  return parsed;
}

}  // namespace

std::variant<ParsedOptions, OptionsError> parse_options(int argc,
                                                        const char* const* argv) {
  try {
    return parse_options_or_throw(argc, argv);
  } catch (const std::exception& e) {
    return OptionsError{OptionsError::kConfig,
                        std::string("cannot parse options: ") + e.what()};
  }
}

}  // namespace ringshard::server
