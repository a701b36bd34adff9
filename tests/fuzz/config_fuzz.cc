// libFuzzer target for server/options.h. One input is used three ways:
//   1. as a TOML document for apply_config_text();
//   2. as a listen address for parse_listen_address();
//   3. as a command line for parse_options(): split on NUL bytes when it has
//      any (argv strings cannot hold NUL), otherwise on ASCII whitespace so
//      that the text seeds and dictionary reach it too.
// Beyond "no crash, no leak, no exception", every result is checked: errors
// are one line of the right kind, accepted options are inside their ranges,
// and accepted values survive a print-and-parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/options.h"

namespace {

using ringshard::server::ListenAddress;
using ringshard::server::Options;
using ringshard::server::OptionsError;
using ringshard::server::ParsedOptions;

void require(bool condition) {
  if (!condition) std::abort();
}

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

void check_error(const OptionsError& error, OptionsError::Kind kind) {
  require(error.kind == kind);
  require(!error.message.empty());
  require(error.message.find('\n') == std::string::npos);
  require(error.message.find('\r') == std::string::npos);
}

void check_ranges(const Options& o) {
  constexpr uint64_t kDay = 24ull * 3600 * 1000;
  require(o.shards <= 1024);
  require(!o.data_dir.empty());
  for (uint32_t t : {o.header_timeout_ms, o.body_timeout_ms, o.idle_timeout_ms}) {
    require(t >= 1 && t <= kDay);
  }
  require(o.drain_timeout_ms <= kDay);
  require(o.max_head_bytes >= 1024 && o.max_head_bytes <= (1u << 20));
  require(o.max_target_bytes >= 64 && o.max_target_bytes <= o.max_head_bytes);
  require(o.max_headers >= 1 && o.max_headers <= 256);
  require(o.max_body_bytes <= (64ull << 30));
  require(o.max_connections >= 1 && o.max_connections <= 1'000'000);
  require(o.send_queue_limit >= 4096 && o.send_queue_limit <= (1u << 30));
  require(power_of_two(o.recv_buffer_size) && o.recv_buffer_size >= 1024 &&
          o.recv_buffer_size <= (1u << 20));
  require(power_of_two(o.recv_buffer_count) && o.recv_buffer_count >= 16 &&
          o.recv_buffer_count <= 32768);
  auto reparsed = ringshard::server::parse_listen_address(
      ringshard::server::format_listen_address(o.listen));
  require(reparsed.has_value() && *reparsed == o.listen);
}

void fuzz_toml(std::string_view input) {
  Options options;
  if (auto error = ringshard::server::apply_config_text(input, "fuzz.toml", options)) {
    check_error(*error, OptionsError::kConfig);
    require(options == Options{});  // untouched on error
    return;
  }
  check_ranges(options);
  // TOML strings are UTF-8, so the effective config must read back the same.
  Options back;
  back.shards = options.shards == 1 ? 2 : 1;
  auto error = ringshard::server::apply_config_text(
      ringshard::server::effective_config_text(options, ringshard::server::Redact::kNothing),
      "effective", back);
  require(!error.has_value());
  require(back == options);
}

void fuzz_listen(std::string_view input) {
  std::optional<ListenAddress> address = ringshard::server::parse_listen_address(input);
  if (!address) return;
  require(!address->host.empty());
  std::string text = ringshard::server::format_listen_address(*address);
  require(ringshard::server::parse_listen_address(text) == address);
}

void fuzz_argv(std::string_view input) {
  bool nul_split = input.find('\0') != std::string_view::npos;
  auto is_separator = [nul_split](char c) {
    return nul_split ? c == '\0'
                     : c == ' ' || c == '\n' || c == '\t' || c == '\r' ||
                           c == '\v' || c == '\f';
  };
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || is_separator(input[i])) {
      std::string arg(input.substr(start, i - start));
      start = i + 1;
      if (!nul_split && arg.empty()) continue;
      // --config would read whatever file the fuzzer names (/dev/stdin
      // blocks); the file path is covered by fuzz_toml instead.
      if (arg == "--config" || arg.rfind("--config=", 0) == 0) continue;
      args.push_back(std::move(arg));
    }
  }
  std::vector<const char*> argv = {"ringshard"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  auto result = ringshard::server::parse_options(static_cast<int>(argv.size() - 1),
                                                 argv.data());
  if (const auto* error = std::get_if<OptionsError>(&result)) {
    check_error(*error, OptionsError::kUsage);
    require(error->message.ends_with(" (see --help)"));
    return;
  }
  const ParsedOptions& parsed = std::get<ParsedOptions>(result);
  require(parsed.options.config_path.empty());
  check_ranges(parsed.options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_toml(input);
  fuzz_listen(input);
  fuzz_argv(input);
  return 0;
}
