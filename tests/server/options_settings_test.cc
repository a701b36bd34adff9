// Tests for the settings added after the first release of server/options.h:
// the table walk (every flag has a TOML key and the reverse, --help and
// --print-config show each), admin/log/connections/request id/trace
// context/security headers/CORS/compression, arrays of tables ([[auth.*]],
// [[rate_limit]]) from TOML and flags, secrets redaction, and the example
// config file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "server/options.h"
#include "tests/server/options_test_support.h"
#include "server/options_table.h"

namespace ringshard::server {
namespace RS_UNITY_ID {

using Mutate = std::function<void(Options&)>;

const std::string kHashA(64, 'a');
const std::string kHashB = std::string(63, '0') + "1";

Options parse_ok(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  if (auto* error = std::get_if<OptionsError>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
    return {};
  }
  return std::get<ParsedOptions>(result).options;
}

std::string parse_error(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  if (auto* error = std::get_if<OptionsError>(&result)) {
    EXPECT_EQ(error->exit_code(), 64) << error->message;
    return error->message;
  }
  ADD_FAILURE() << "expected an error";
  return "";
}

Options with(const Mutate& mutate) {
  Options o;
  mutate(o);
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The keys of a TOML document, by the table they are in ("" before any
// header; "[[x]]" headers give "x"), from a line scan. `commented` reads
// "# key = " lines too.
std::map<std::string, std::set<std::string>> keys_by_table(const std::string& text,
                                                            bool commented = false) {
  std::map<std::string, std::set<std::string>> out;
  std::string table;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (commented && line.rfind("# ", 0) == 0) line = line.substr(2);
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    line = line.substr(start);
    if (line[0] == '[') {
      size_t open = line.find_first_not_of('[');
      table = line.substr(open, line.find(']') - open);
      out[table];
      continue;
    }
    size_t eq = line.find(" = ");
    if (eq != std::string::npos && line[0] != '#') out[table].insert(line.substr(0, eq));
  }
  return out;
}

// ---- The settings table -------------------------------------------------------

// Every flag maps to exactly one TOML key and every TOML key to one flag;
// --help lists every flag and --print-config every key.
TEST(Settings, EveryFlagHasAKeyAndEveryKeyAFlag) {
  using namespace options_detail;
  const std::string usage = usage_text();
  const auto printed = keys_by_table(effective_config_text(Options{}, Redact::kNothing));
  std::set<std::string_view> flags;
  std::set<std::string> keys;
  for (const Setting& s : settings()) {
    SCOPED_TRACE(std::string(s.flag));
    ASSERT_EQ(s.flag.substr(0, 2), "--");
    EXPECT_TRUE(flags.insert(s.flag).second) << "flag used twice";
    EXPECT_EQ(find_by_flag(s.flag), &s);
    const Section* section = find_section(s.section);
    ASSERT_NE(section, nullptr) << s.section;
    if (section->shape == Shape::kArrayOfTables) {
      EXPECT_TRUE(s.key.empty());
      EXPECT_EQ(s.kind, Kind::kRecords);
    } else {
      EXPECT_FALSE(s.key.empty());
      EXPECT_NE(s.kind, Kind::kRecords);
      auto table = printed.find(std::string(s.section));
      ASSERT_NE(table, printed.end());
      EXPECT_TRUE(table->second.count(std::string(s.key))) << "--print-config lacks the key";
    }
    EXPECT_EQ(find_by_key(s.section, s.key), &s);
    EXPECT_TRUE(keys.insert(setting_name(s)).second) << "key used twice";
    EXPECT_FALSE(s.help.empty());
    std::string shown = "    " + std::string(s.flag) +
                        (s.kind == Kind::kBool ? "" : " ") + std::string(s.metavar);
    EXPECT_NE(usage.find(shown), std::string::npos) << "--help lacks " << shown;
  }
  // The reverse: every key --print-config writes is a row with a flag (an
  // empty array of tables is written `key = []` in its parent table).
  for (const auto& [table, table_keys] : printed) {
    for (const std::string& key : table_keys) {
      const Setting* s = find_by_key(table, key);
      if (s == nullptr) s = find_by_key(table.empty() ? key : table + "." + key, "");
      ASSERT_NE(s, nullptr) << "[" << table << "] " << key;
      EXPECT_FALSE(s->flag.empty());
    }
  }
  // Every section has rows; an array of tables exactly one.
  for (const Section& section : sections()) {
    size_t rows = 0;
    for (const Setting& s : settings()) rows += s.section == section.name;
    EXPECT_GE(rows, 1u) << section.name;
    if (section.shape == Shape::kArrayOfTables) {
      EXPECT_EQ(rows, 1u) << section.name;
    }
  }
}

TEST(Settings, DocsNameEveryFlagAndKey) {
  using namespace options_detail;
  const std::string docs = read_file(std::string(RINGSHARD_SOURCE_DIR) + "/docs/configuration.md");
  for (const Setting& s : settings()) {
    EXPECT_NE(docs.find("`" + std::string(s.flag)), std::string::npos) << s.flag;
    std::string key = s.key.empty() ? "`[[" + std::string(s.section) + "]]`"
                                    : "`[" + std::string(s.section) + "] " + std::string(s.key) + "`";
    EXPECT_NE(docs.find(key), std::string::npos) << key;
  }
}

// ---- The example file -----------------------------------------------------------

const std::string kExamplePath = std::string(RINGSHARD_SOURCE_DIR) + "/config/ringshard.example.toml";

TEST(Settings, ExampleConfigLoadsAndHoldsTheDefaults) {
  Options o;
  auto error = apply_config_text(read_file(kExamplePath), kExamplePath, o);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(o, Options{});
}

// Every key of the table is set in the example (array-of-tables keys in
// the commented examples), and the commented [[...]] examples are valid.
TEST(Settings, ExampleConfigHasEveryKeyAndValidArrayExamples) {
  using namespace options_detail;
  const std::string text = read_file(kExamplePath);
  const auto keys = keys_by_table(text);
  const auto commented = keys_by_table(text, true);
  for (const Setting& s : settings()) {
    if (s.kind != Kind::kRecords) {
      auto table = keys.find(std::string(s.section));
      ASSERT_NE(table, keys.end()) << s.section;
      EXPECT_TRUE(table->second.count(std::string(s.key))) << setting_name(s);
      continue;
    }
    auto table = commented.find(std::string(s.section));
    ASSERT_NE(table, commented.end()) << setting_name(s) << " has no commented example";
    for (const Field& f : s.records->fields) {
      EXPECT_TRUE(table->second.count(std::string(f.key))) << setting_name(s) << " " << f.key;
    }
  }
  // The commented blocks, from "# [[x]]" to the first line that is not
  // "# key = value", uncommented, form a valid document.
  std::string blocks;
  bool in_block = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    bool header = line.rfind("# [[", 0) == 0 && line.size() > 6 &&
                  line.compare(line.size() - 2, 2, "]]") == 0;
    if (header) in_block = true;
    bool assignment = line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos;
    if (in_block && (header || assignment)) {
      blocks += line.substr(2) + "\n";
    } else {
      in_block = false;
    }
  }
  Options o;
  auto error = apply_config_text(blocks, "example blocks", o);
  ASSERT_FALSE(error.has_value()) << error->message << "\n" << blocks;
  EXPECT_FALSE(o.auth_tokens.empty());
  EXPECT_FALSE(o.auth_api_keys.empty());
  EXPECT_FALSE(o.auth_rules.empty());
  EXPECT_FALSE(o.rate_limits.empty());
}

// ---- New flags, valid --------------------------------------------------------------

struct FlagCase {
  std::vector<std::string> args;
  Mutate expect;
};

void PrintTo(const FlagCase& c, std::ostream* os) {
  for (const std::string& a : c.args) *os << a << " ";
}

class NewFlagTest : public testing::TestWithParam<FlagCase> {};

TEST_P(NewFlagTest, Sets) { EXPECT_EQ(parse_ok(GetParam().args), with(GetParam().expect)); }

INSTANTIATE_TEST_SUITE_P(
    Settings, NewFlagTest,
    testing::Values(
        FlagCase{{"--drain-idle-grace", "250ms"}, [](Options& o) { o.drain_idle_grace_ms = 250; }},
        FlagCase{{"--drain-idle-grace=1h"}, [](Options& o) { o.drain_idle_grace_ms = 3'600'000; }},
        FlagCase{{"--deferred-timeout", "24h"},
                 [](Options& o) { o.deferred_timeout_ms = 86'400'000; }},
        FlagCase{{"--deferred-timeout", "1ms"}, [](Options& o) { o.deferred_timeout_ms = 1; }},
        FlagCase{{"--admin-listen", "off"}, [](Options& o) { o.admin_listen.reset(); }},
        FlagCase{{"--admin-listen", "[::1]:9000"},
                 [](Options& o) { o.admin_listen = ListenAddress{"::1", 9000}; }},
        FlagCase{{"--metrics-on-main"}, [](Options& o) { o.metrics_on_main = true; }},
        FlagCase{{"--metrics-on-main=false"}, [](Options&) {}},
        FlagCase{{"--log-format", "json"}, [](Options& o) { o.log_format = "json"; }},
        FlagCase{{"--log-level", "debug"}, [](Options& o) { o.log_level = "debug"; }},
        FlagCase{{"--log-level=error"}, [](Options& o) { o.log_level = "error"; }},
        FlagCase{{"--max-connections-total", "100000"},
                 [](Options& o) { o.max_connections_total = 100'000; }},
        FlagCase{{"--max-connections-per-ip", "64"},
                 [](Options& o) { o.max_connections_per_ip = 64; }},
        FlagCase{{"--no-request-id"}, [](Options& o) { o.request_id_enabled = false; }},
        FlagCase{{"--trace-context=false"}, [](Options& o) { o.trace_context_enabled = false; }},
        FlagCase{{"--security-headers"}, [](Options& o) { o.security_headers_enabled = true; }},
        FlagCase{{"--hsts", "max-age=300"}, [](Options& o) { o.hsts = "max-age=300"; }},
        FlagCase{{"--hsts="}, [](Options& o) { o.hsts = ""; }},
        FlagCase{{"--frame-options", "SAMEORIGIN"},
                 [](Options& o) { o.frame_options = "SAMEORIGIN"; }},
        FlagCase{{"--referrer-policy", "strict-origin"},
                 [](Options& o) { o.referrer_policy = "strict-origin"; }},
        FlagCase{{"--content-security-policy", "default-src 'self'\tx"},
                 [](Options& o) { o.content_security_policy = "default-src 'self'\tx"; }},
        FlagCase{{"--cors"}, [](Options& o) { o.cors_enabled = true; }},
        FlagCase{{"--cors-allow-origin", "https://Example.COM", "--cors-allow-origin",
                  "http://localhost:8080"},
                 [](Options& o) {
                   o.cors_allow_origins = {"https://example.com", "http://localhost:8080"};
                 }},
        FlagCase{{"--cors-allow-origin", "http://[::1]:3000"},
                 [](Options& o) { o.cors_allow_origins = {"http://[::1]:3000"}; }},
        FlagCase{{"--cors-allow-methods", "GET, POST"},
                 [](Options& o) { o.cors_allow_methods = {"GET", "POST"}; }},
        FlagCase{{"--cors-allow-methods", ""}, [](Options& o) { o.cors_allow_methods = {}; }},
        FlagCase{{"--cors-allow-methods", "GET", "--cors-allow-methods", "PUT"},
                 [](Options& o) { o.cors_allow_methods = {"PUT"}; }},  // the last wins
        FlagCase{{"--cors-allow-headers", "X-A,X-B"},
                 [](Options& o) { o.cors_allow_headers = {"X-A", "X-B"}; }},
        FlagCase{{"--cors-expose-headers", "*"}, [](Options& o) { o.cors_expose_headers = {"*"}; }},
        FlagCase{{"--cors-allow-credentials"}, [](Options& o) { o.cors_allow_credentials = true; }},
        FlagCase{{"--cors-max-age", "0"}, [](Options& o) { o.cors_max_age_ms = 0; }},
        FlagCase{{"--cors-max-age", "2h"}, [](Options& o) { o.cors_max_age_ms = 7'200'000; }},
        FlagCase{{"--compression"}, [](Options& o) { o.compression_enabled = true; }},
        FlagCase{{"--compression-min-size", "0"}, [](Options& o) { o.compression_min_size = 0; }},
        FlagCase{{"--compression-min-size", "4KiB"},
                 [](Options& o) { o.compression_min_size = 4096; }},
        FlagCase{{"--compression-types", "Text/,application/wasm"},
                 [](Options& o) { o.compression_types = {"text/", "application/wasm"}; }},
        FlagCase{{"--gzip-level", "9"}, [](Options& o) { o.gzip_level = 9; }},
        FlagCase{{"--no-brotli"}, [](Options& o) { o.brotli = false; }},
        FlagCase{{"--brotli-quality", "0"}, [](Options& o) { o.brotli_quality = 0; }},
        FlagCase{{"--brotli-quality", "11"}, [](Options& o) { o.brotli_quality = 11; }},
        FlagCase{{"--auth"}, [](Options& o) { o.auth_enabled = true; }},
        FlagCase{{"--auth-token", "ci:" + std::string(64, 'A') + ":deploy,read"},
                 [](Options& o) { o.auth_tokens = {{"ci", kHashA, {"deploy", "read"}}}; }},
        FlagCase{{"--auth-token", "a:" + kHashA, "--auth-token", "b:" + kHashB + ":"},
                 [](Options& o) { o.auth_tokens = {{"a", kHashA, {}}, {"b", kHashB, {}}}; }},
        FlagCase{{"--auth-api-key", "svc:" + kHashB + ":x:y"},
                 [](Options& o) { o.auth_api_keys = {{"svc", kHashB, {"x:y"}}}; }},
        FlagCase{{"--auth-rule", "/admin"}, [](Options& o) { o.auth_rules = {{"/admin", {}, ""}}; }},
        FlagCase{{"--auth-rule", "/v1/:GET,HEAD:read", "--auth-rule", "/v1/:*:write"},
                 [](Options& o) {
                   o.auth_rules = {{"/v1/", {"GET", "HEAD"}, "read"}, {"/v1/", {}, "write"}};
                 }},
        FlagCase{{"--auth-rule", "/v1/::"}, [](Options& o) { o.auth_rules = {{"/v1/", {}, ""}}; }},
        FlagCase{{"--rate-limit", "name=api,match=/v1/,key=ip,burst=100,rate=10/s"},
                 [](Options& o) { o.rate_limits = {{"api", "/v1/", "ip", 100, "10/s"}}; }},
        FlagCase{{"--rate-limit", "rate=5/m, burst=1, key=header:X-Tenant, match=/, name=t",
                  "--rate-limit=name=b,match=/b,key=ip/24/48,burst=1000000000,rate=1000000000/s"},
                 [](Options& o) {
                   o.rate_limits = {{"t", "/", "header:X-Tenant", 1, "5/m"},
                                    {"b", "/b", "ip/24/48", 1'000'000'000, "1000000000/s"}};
                 }},
        FlagCase{{"--rate-limit-table-capacity", "1024"},
                 [](Options& o) { o.rate_limit_table_capacity = 1024; }},
        FlagCase{{"--rate-limit-table-capacity", "67108864"},
                 [](Options& o) { o.rate_limit_table_capacity = 1 << 26; }},
        // "*" with credentials is allowed (the server echoes the origin).
        FlagCase{{"--cors-allow-credentials", "--cors-allow-origin", "*"},
                 [](Options& o) { o.cors_allow_credentials = true; }}));

// ---- New flags, invalid --------------------------------------------------------------

struct BadFlagCase {
  std::vector<std::string> args;
  std::string message;  // without " (see --help)"
};

void PrintTo(const BadFlagCase& c, std::ostream* os) {
  for (const std::string& a : c.args) *os << a << " ";
}

class BadNewFlagTest : public testing::TestWithParam<BadFlagCase> {};

TEST_P(BadNewFlagTest, IsUsageError) {
  EXPECT_EQ(parse_error(GetParam().args), GetParam().message + " (see --help)");
}

INSTANTIATE_TEST_SUITE_P(
    Settings, BadNewFlagTest,
    testing::Values(
        BadFlagCase{{"--drain-idle-grace", "0"}, "--drain-idle-grace: '0' is out of range 1ms..1h"},
        BadFlagCase{{"--drain-idle-grace", "2h"},
                    "--drain-idle-grace: '2h' is out of range 1ms..1h"},
        BadFlagCase{{"--deferred-timeout", "25h"},
                    "--deferred-timeout: '25h' is out of range 1ms..24h"},
        BadFlagCase{{"--admin-listen", "9901"},
                    "--admin-listen: '9901' is not HOST:PORT or off (e.g. 127.0.0.1:8443, "
                    "[::1]:8443, :8443)"},
        BadFlagCase{{"--log-format", "xml"}, "--log-format: 'xml' is not allowed; use text or json"},
        BadFlagCase{{"--log-level", "INFO"},
                    "--log-level: 'INFO' is not allowed; use debug, info, warn or error"},
        BadFlagCase{{"--max-connections-per-ip", "-1"},
                    "--max-connections-per-ip: '-1' is not a number; use decimal digits only"},
        BadFlagCase{{"--max-connections-total", "1000000001"},
                    "--max-connections-total: '1000000001' is out of range 0..1000000000"},
        BadFlagCase{{"--hsts", "max-age=1\r\nX-Evil: 1"},
                    "--hsts: 'max-age=1\\x0d\\x0aX-Evil: 1' contains a control character (CR, "
                    "LF and NUL are never allowed in a header value)"},
        BadFlagCase{{"--cors-allow-origin", "https://example.com/"},
                    "--cors-allow-origin: 'https://example.com/' is not an origin; use \"*\" or "
                    "scheme://host[:port] with no path (https://example.com, "
                    "http://localhost:8080)"},
        BadFlagCase{{"--cors-allow-origin", "example.com"},
                    "--cors-allow-origin: 'example.com' is not an origin; use \"*\" or "
                    "scheme://host[:port] with no path (https://example.com, "
                    "http://localhost:8080)"},
        BadFlagCase{{"--cors-allow-origin", "https://a.com:0"},
                    "--cors-allow-origin: 'https://a.com:0' is not an origin; use \"*\" or "
                    "scheme://host[:port] with no path (https://example.com, "
                    "http://localhost:8080)"},
        BadFlagCase{{"--cors-allow-methods", "GET,,POST"},
                    "--cors-allow-methods: 'GET,,POST' is not a comma-separated list (no empty "
                    "entries)"},
        BadFlagCase{{"--cors-allow-methods", "GET,P OST"},
                    "--cors-allow-methods: 'P OST' is not an HTTP method; ' ' is not allowed"},
        BadFlagCase{{"--cors-allow-headers", "X-A,X:B"},
                    "--cors-allow-headers: 'X:B' is not a header name; ':' is not allowed"},
        BadFlagCase{{"--cors-max-age", "25h"}, "--cors-max-age: '25h' is out of range 0s..24h"},
        BadFlagCase{{"--compression-types", "text/ html"},
                    "--compression-types: 'text/ html' is not a content type prefix (like "
                    "\"text/\" or \"application/json\")"},
        BadFlagCase{{"--gzip-level", "0"}, "--gzip-level: '0' is out of range 1..9"},
        BadFlagCase{{"--brotli-quality", "12"}, "--brotli-quality: '12' is out of range 0..11"},
        BadFlagCase{{"--auth-token", "ci"},
                    "--auth-token: 'ci' is not NAME:SHA256HEX[:SCOPE,SCOPE...]"},
        BadFlagCase{{"--auth-token", "ci:abc"},
                    "--auth-token: sha256: 'abc' is not a SHA-256 in hex (64 hex digits, e.g. "
                    "the output of `printf %s TOKEN | sha256sum`)"},
        BadFlagCase{{"--auth-token", "c i:" + kHashA},
                    "--auth-token: name: 'c i' is not a name; use 1..64 of A-Z, a-z, 0-9, '_' "
                    "and '-'"},
        BadFlagCase{{"--auth-token", "a:" + kHashA + ":read,,write"},
                    "--auth-token: 'read,,write' is not a comma-separated list of scopes"},
        BadFlagCase{{"--auth-token", "a:" + kHashA, "--auth-token", "a:" + kHashB},
                    "--auth-token: name: 'a' is used twice"},
        BadFlagCase{{"--auth-api-key", "a:" + kHashA, "--auth-api-key", "b:" + kHashA},
                    "--auth-api-key: sha256: the same as for 'a'"},
        BadFlagCase{{"--auth-rule", "admin"},
                    "--auth-rule: match: 'admin' is not a path prefix; it starts with '/' and "
                    "has printable ASCII only, no spaces"},
        BadFlagCase{{"--auth-rule", "/a:GET,:x"},
                    "--auth-rule: 'GET,' is not \"*\" or a comma-separated list of methods"},
        BadFlagCase{{"--auth-rule", "/a:GET:a b"},
                    "--auth-rule: scope: 'a b' is not a scope; use 1..128 printable ASCII "
                    "characters without space, '\"', '\\' or ','"},
        BadFlagCase{{"--rate-limit", "name=api,match=/v1/,key=ip,burst=100"},
                    "--rate-limit: missing key 'rate'"},
        BadFlagCase{{"--rate-limit", "name=api,match=/v1/,key=ip,burst=0,rate=1/s"},
                    "--rate-limit: burst: '0' is out of range 1..1000000000"},
        BadFlagCase{{"--rate-limit", "name=api,match=/v1/,key=ip,burst=x,rate=1/s"},
                    "--rate-limit: burst: 'x' is not a number; use decimal digits only"},
        BadFlagCase{{"--rate-limit", "name=api,name=b"}, "--rate-limit: 'name' is given twice"},
        BadFlagCase{{"--rate-limit", "name=api,limit=5"},
                    "--rate-limit: 'limit=5' is not KEY=VALUE with KEY one of name, match, key, "
                    "burst, rate"},
        BadFlagCase{{"--rate-limit", "name=a.b,match=/,key=ip,burst=1,rate=1/s"},
                    "--rate-limit: name: 'a.b' is not a name; use 1..64 of A-Z, a-z, 0-9, '_' "
                    "and '-'"},
        BadFlagCase{{"--rate-limit", "name=a,match=v1,key=ip,burst=1,rate=1/s"},
                    "--rate-limit: match: 'v1' is not a path prefix; it starts with '/' and has "
                    "printable ASCII only, no spaces"},
        BadFlagCase{{"--rate-limit-table-capacity", "1023"},
                    "--rate-limit-table-capacity: '1023' is out of range 1024..67108864"},
        BadFlagCase{{"--no-admin-listen"}, "unknown flag '--no-admin-listen'"},
        BadFlagCase{{"--print-config=yes"}, "--print-config: does not take a value"}));

TEST(Settings, HeaderValuesRefuseNul) {
  // (A flag cannot hold a NUL: argv strings end at one.)
  Options o;
  auto error = apply_config_text("[security_headers]\nreferrer_policy = \"a\\u0000b\"\n", "c", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("control character"), std::string::npos) << error->message;
  error = apply_config_text("[security_headers]\nhsts = \"a\\nb\"\n", "c", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message,
            "c:2:8: [security_headers] hsts: 'a\\x0ab' contains a control character (CR, LF "
            "and NUL are never allowed in a header value)");
}

// The rate-limit words are ratelimit/rate_spec.h's own errors.
TEST(Settings, RateLimitKeyAndRateUseTheRateSpecParsers) {
  std::string key_error =
      parse_error({"--rate-limit", "name=a,match=/,key=cookie,burst=1,rate=1/s"});
  EXPECT_EQ(key_error.rfind("--rate-limit: key: ", 0), 0u) << key_error;
  std::string rate_error = parse_error({"--rate-limit", "name=a,match=/,key=ip,burst=1,rate=1/d"});
  EXPECT_EQ(rate_error.rfind("--rate-limit: rate: ", 0), 0u) << rate_error;
  EXPECT_NE(rate_error.find("1/d"), std::string::npos) << rate_error;
}

// ---- List flags against the file's lists --------------------------------------------

TEST(Settings, RepeatableFlagsReplaceTheFilesList) {
  TempFile file("[cors]\nallow_origins = [\"https://a.com\"]\nallow_methods = [\"GET\"]\n"
                "[[auth.token]]\nname = \"f\"\nsha256 = \"" + kHashA + "\"\n"
                "[[auth.api_key]]\nname = \"k\"\nsha256 = \"" + kHashA + "\"\n"
                "[[rate_limit]]\nname = \"f\"\nmatch = \"/\"\nkey = \"ip\"\nburst = 1\n"
                "rate = \"1/s\"\n");
  Options from_file = parse_ok({"--config", file.path()});
  EXPECT_EQ(from_file.cors_allow_origins, std::vector<std::string>{"https://a.com"});
  EXPECT_EQ(from_file.auth_tokens.size(), 1u);
  EXPECT_EQ(from_file.rate_limits.size(), 1u);

  Options o = parse_ok({"--config", file.path(), "--cors-allow-origin", "https://b.com",
                        "--cors-allow-origin", "https://c.com", "--auth-token",
                        "t:" + kHashB, "--rate-limit",
                        "name=x,match=/x,key=bearer,burst=5,rate=2/s"});
  EXPECT_EQ(o.cors_allow_origins, (std::vector<std::string>{"https://b.com", "https://c.com"}));
  EXPECT_EQ(o.cors_allow_methods, std::vector<std::string>{"GET"});  // untouched
  EXPECT_EQ(o.auth_tokens, (std::vector<AuthCredential>{{"t", kHashB, {}}}));
  EXPECT_EQ(o.auth_api_keys, from_file.auth_api_keys);  // another list: untouched
  EXPECT_EQ(o.rate_limits, (std::vector<RateLimitRule>{{"x", "/x", "bearer", 5, "2/s"}}));
}

// ---- Admin listener conflicts ------------------------------------------------------

TEST(Settings, AdminListenMayNotShareAPort) {
  EXPECT_EQ(parse_error({"--admin-listen", ":8080"}),
            "--admin-listen: admin listen address 0.0.0.0:8080 is the same as listen (see "
            "--help)");
  EXPECT_EQ(parse_error({"--admin-listen", "127.0.0.1:8443"}),
            "--admin-listen: admin listen address 127.0.0.1:8443 overlaps tls listen "
            "(0.0.0.0:8443) (see --help)");
  EXPECT_EQ(parse_error({"--listen", ":9901"}),
            "--listen: admin listen address 127.0.0.1:9901 overlaps listen (0.0.0.0:9901); "
            "move the admin listener with --admin-listen or turn it off with --admin-listen "
            "off (see --help)");
  EXPECT_EQ(parse_error({"--tls-listen", "[::]:9901"}),
            "--tls-listen: admin listen address 127.0.0.1:9901 overlaps tls listen ([::]:9901); "
            "move the admin listener with --admin-listen or turn it off with --admin-listen "
            "off (see --help)");
  // Fine: another host of the same port, port 0, off, or TLS off.
  parse_ok({"--listen", "127.0.0.2:9901"});
  parse_ok({"--listen", ":9901", "--admin-listen", "off"});
  parse_ok({"--admin-listen", ":0", "--listen", ":0", "--tls-listen", ":0"});
  parse_ok({"--admin-listen", ":8443", "--tls-listen", "off"});
}

TEST(Settings, AdminListenConflictInTheFile) {
  Options o;
  auto error = apply_config_text("[admin]\nlisten = \":8080\"\n", "c.toml", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message,
            "c.toml:2:10: [admin] listen: admin listen address 0.0.0.0:8080 is the same as "
            "listen");
  error = apply_config_text("[tls]\nlisten = \"127.0.0.1:9901\"\n", "c.toml", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message,
            "c.toml:2:10: [tls] listen: admin listen address 127.0.0.1:9901 is the same as "
            "tls listen; change [admin] listen or set it to \"off\"");
  // A flag can repair the file.
  TempFile file("[server]\nlisten = \":9901\"\n");
  auto result = parse({"--config", file.path()});
  ASSERT_TRUE(std::holds_alternative<OptionsError>(result));
  EXPECT_EQ(std::get<OptionsError>(result).exit_code(), 78);
  EXPECT_FALSE(parse_ok({"--config", file.path(), "--admin-listen", "off"}).admin_listen);
}

// ---- TOML: new keys and arrays of tables -----------------------------------------

struct TomlCase {
  std::string text;
  Mutate expect;
};

void PrintTo(const TomlCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class NewTomlTest : public testing::TestWithParam<TomlCase> {};

TEST_P(NewTomlTest, Applies) {
  Options o;
  auto error = apply_config_text(GetParam().text, "cfg.toml", o);
  ASSERT_FALSE(error.has_value()) << error->message;
  EXPECT_EQ(o, with(GetParam().expect));
}

INSTANTIATE_TEST_SUITE_P(
    Settings, NewTomlTest,
    testing::Values(
        TomlCase{"[server]\ndrain_idle_grace = \"500ms\"",
                 [](Options& o) { o.drain_idle_grace_ms = 500; }},
        TomlCase{"[http]\ndeferred_timeout = 5", [](Options& o) { o.deferred_timeout_ms = 5000; }},
        TomlCase{"[admin]\nlisten = \"off\"\nmetrics_on_main = true",
                 [](Options& o) {
                   o.admin_listen.reset();
                   o.metrics_on_main = true;
                 }},
        TomlCase{"[log]\nformat = \"json\"\nlevel = \"warn\"",
                 [](Options& o) {
                   o.log_format = "json";
                   o.log_level = "warn";
                 }},
        TomlCase{"[connections]\nmax_total = 500000\nmax_per_ip = 100",
                 [](Options& o) {
                   o.max_connections_total = 500'000;
                   o.max_connections_per_ip = 100;
                 }},
        TomlCase{"[request_id]\nenabled = false\n[trace_context]\nenabled = false",
                 [](Options& o) {
                   o.request_id_enabled = false;
                   o.trace_context_enabled = false;
                 }},
        TomlCase{"[security_headers]\nenabled = true\nhsts = \"\"\nframe_options = "
                 "\"SAMEORIGIN\"\nreferrer_policy = \"same-origin\"\n"
                 "content_security_policy = \"default-src 'self'\"",
                 [](Options& o) {
                   o.security_headers_enabled = true;
                   o.hsts = "";
                   o.frame_options = "SAMEORIGIN";
                   o.referrer_policy = "same-origin";
                   o.content_security_policy = "default-src 'self'";
                 }},
        TomlCase{"[cors]\nenabled = true\nallow_origins = [\"https://A.example\", "
                 "\"http://127.0.0.1:3000\"]\nallow_methods = []\nallow_headers = [\"X-A\"]\n"
                 "expose_headers = []\nallow_credentials = true\nmax_age = 60",
                 [](Options& o) {
                   o.cors_enabled = true;
                   o.cors_allow_origins = {"https://a.example", "http://127.0.0.1:3000"};
                   o.cors_allow_methods = {};
                   o.cors_allow_headers = {"X-A"};
                   o.cors_expose_headers = {};
                   o.cors_allow_credentials = true;
                   o.cors_max_age_ms = 60'000;
                 }},
        TomlCase{"[compression]\nenabled = true\nmin_size = 0\ntypes = [\"text/html\"]\n"
                 "gzip_level = 1\nbrotli = false\nbrotli_quality = 11",
                 [](Options& o) {
                   o.compression_enabled = true;
                   o.compression_min_size = 0;
                   o.compression_types = {"text/html"};
                   o.gzip_level = 1;
                   o.brotli = false;
                   o.brotli_quality = 11;
                 }},
        TomlCase{"[auth]\nenabled = true\n\n[[auth.token]]\nname = \"ci\"\nsha256 = \"" +
                     std::string(64, 'F') +
                     "\"\nscopes = [\"deploy\"]\n\n[[auth.token]]\nname = \"ro\"\nsha256 = \"" +
                     kHashB +
                     "\"\n\n[[auth.api_key]]\nname = \"svc\"\nsha256 = \"" + kHashA +
                     "\"\nscopes = []\n\n[[auth.rule]]\nmatch = \"/deploy\"\nmethods = "
                     "[\"POST\"]\nscope = \"deploy\"\n\n[[auth.rule]]\nmatch = \"/\"\n",
                 [](Options& o) {
                   o.auth_enabled = true;
                   o.auth_tokens = {{"ci", std::string(64, 'f'), {"deploy"}},
                                    {"ro", kHashB, {}}};
                   o.auth_api_keys = {{"svc", kHashA, {}}};
                   o.auth_rules = {{"/deploy", {"POST"}, "deploy"}, {"/", {}, ""}};
                 }},
        // The same as inline arrays and `key = []`.
        TomlCase{"[auth]\ntoken = [{ name = \"a\", sha256 = \"" + kHashA +
                     "\" }]\napi_key = []\nrule = [{ match = \"/x\", methods = [\"*\"] }]",
                 [](Options& o) {
                   o.auth_tokens = {{"a", kHashA, {}}};
                   o.auth_rules = {{"/x", {}, ""}};
                 }},
        TomlCase{"rate_limit = []\n[rate_limits]\ntable_capacity = 1024",
                 [](Options& o) { o.rate_limit_table_capacity = 1024; }},
        TomlCase{"[[rate_limit]]\nname = \"api\"\nmatch = \"/v1/\"\nkey = \"ip/24\"\n"
                 "burst = 100\nrate = \"10/s\"\n\n[[rate_limit]]\nname = \"login\"\n"
                 "match = \"/login\"\nkey = \"header:X-Forwarded-For\"\nburst = 5\n"
                 "rate = \"5/m\"\n",
                 [](Options& o) {
                   o.rate_limits = {{"api", "/v1/", "ip/24", 100, "10/s"},
                                    {"login", "/login", "header:X-Forwarded-For", 5, "5/m"}};
                 }}));

struct BadTomlCase {
  std::string text;
  std::string message;  // after "cfg.toml:"
};

void PrintTo(const BadTomlCase& c, std::ostream* os) { *os << testing::PrintToString(c.text); }

class BadNewTomlTest : public testing::TestWithParam<BadTomlCase> {};

TEST_P(BadNewTomlTest, IsConfigErrorAtItsPosition) {
  Options o;
  o.shards = 7;
  auto error = apply_config_text(GetParam().text, "cfg.toml", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->exit_code(), 78);
  EXPECT_EQ(error->message, "cfg.toml:" + GetParam().message);
  EXPECT_EQ(o, with([](Options& x) { x.shards = 7; }));  // unchanged
}

const std::string kGoodRule =
    "name = \"a\"\nmatch = \"/\"\nkey = \"ip\"\nburst = 1\nrate = \"1/s\"\n";

INSTANTIATE_TEST_SUITE_P(
    Settings, BadNewTomlTest,
    testing::Values(
        BadTomlCase{"[log]\nlevel = \"trace\"\n",
                    "2:9: [log] level: 'trace' is not allowed; use debug, info, warn or error"},
        BadTomlCase{"[log]\nformat = 1\n",
                    "2:10: [log] format: expected a string (text or json), got an integer"},
        BadTomlCase{"[cors]\nallow_origins = \"*\"\n",
                    "2:17: [cors] allow_origins: expected an array of strings, got a string"},
        BadTomlCase{"[cors]\nallow_origins = [\"*\", 1]\n",
                    "2:23: [cors] allow_origins: entry 2: expected a string, got an integer"},
        BadTomlCase{"[cors]\nallow_origins = [\"ftp://x\", \"https://a.com/path\"]\n",
                    "2:29: [cors] allow_origins: entry 2: 'https://a.com/path' is not an "
                    "origin; use \"*\" or scheme://host[:port] with no path "
                    "(https://example.com, http://localhost:8080)"},
        BadTomlCase{"[compression]\ngzip_level = 10\n",
                    "2:14: [compression] gzip_level: '10' is out of range 1..9"},
        BadTomlCase{"[compression]\nmin_size = \"2GiB\"\n",
                    "2:12: [compression] min_size: '2GiB' is out of range 0..1GiB"},
        BadTomlCase{"[rate_limits]\ntable_capacity = 100\n",
                    "2:18: [rate_limits] table_capacity: '100' is out of range 1024..67108864"},
        // Arrays of tables: shape, keys, types, required keys, values.
        BadTomlCase{"[auth.token]\nname = \"a\"\n",
                    "1:7: 'token' must be an array of tables ([[auth.token]]), not a table"},
        BadTomlCase{"[rate_limit]\nname = \"a\"\n",
                    "1:2: 'rate_limit' must be an array of tables ([[rate_limit]]), not a table"},
        BadTomlCase{"[[rate_limits]]\n",
                    "1:3: 'rate_limits' must be a table ([rate_limits]), not an array"},
        BadTomlCase{"rate_limit = [1]\n",
                    "1:15: [[rate_limit]] 1: expected a table, got an integer"},
        BadTomlCase{"[[auth.token]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'a') +
                        "\"\nscope = \"x\"\n",
                    "4:1: [[auth.token]] 1: unknown key 'scope'; keys are name, sha256 and "
                    "scopes"},
        BadTomlCase{"[[auth.token]]\nname = \"a\"\n",
                    "1:1: [[auth.token]] 1: missing key 'sha256'"},
        BadTomlCase{"[[rate_limit]]\n" + kGoodRule + "[[rate_limit]]\nname = \"b\"\n",
                    "7:1: [[rate_limit]] 2: missing key 'match'"},
        BadTomlCase{"[[auth.token]]\nname = 5\n",
                    "2:8: [[auth.token]] 1: name: expected a string, got an integer"},
        BadTomlCase{"[[auth.token]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'a') +
                        "\"\nscopes = \"read\"\n",
                    "4:10: [[auth.token]] 1: scopes: expected an array of strings, got a "
                    "string"},
        BadTomlCase{"[[auth.token]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'a') +
                        "\"\nscopes = [\"read\", 2]\n",
                    "4:10: [[auth.token]] 1: scopes: entry 2: expected a string, got an "
                    "integer"},
        BadTomlCase{"[[auth.token]]\nname = \"a\"\nsha256 = \"" + std::string(63, 'a') + "\"\n",
                    "3:10: [[auth.token]] 1: sha256: '" + std::string(63, 'a').substr(0, 64) +
                        "' is not a SHA-256 in hex (64 hex digits, e.g. the output of "
                        "`printf %s TOKEN | sha256sum`)"},
        BadTomlCase{"[[auth.api_key]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'a') +
                        "\"\n[[auth.api_key]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'b') +
                        "\"\n",
                    "5:8: [[auth.api_key]] 2: name: 'a' is used twice"},
        BadTomlCase{"[[auth.api_key]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'a') +
                        "\"\n[[auth.token]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'b') +
                        "\"\n",
                    "5:8: [[auth.token]] 1: name: 'a' is already the name of an API key"},
        BadTomlCase{"[[auth.rule]]\nmatch = \"/\"\nmethods = [\"GET\", \"G T\"]\n",
                    "3:11: [[auth.rule]] 1: methods: entry 2: 'G T' is not an HTTP method; ' ' "
                    "is not allowed"},
        BadTomlCase{"[[rate_limit]]\n" + kGoodRule + "[[rate_limit]]\n" + kGoodRule,
                    "8:8: [[rate_limit]] 2: name: 'a' is used twice"},
        BadTomlCase{"[[rate_limit]]\nname = \"a\"\nmatch = \"/\"\nkey = \"ip\"\nburst = 0\n"
                    "rate = \"1/s\"\n",
                    "5:9: [[rate_limit]] 1: burst: '0' is out of range 1..1000000000"},
        BadTomlCase{"[[rate_limit]]\nname = \"a\"\nmatch = \"/\"\nkey = \"ip\"\nburst = \"1\"\n"
                    "rate = \"1/s\"\n",
                    "5:9: [[rate_limit]] 1: burst: expected an integer, got a string"},
        BadTomlCase{"[auth]\ntokens = []\n", "2:1: unknown key 'tokens' in [auth]"},
        // Several errors in one element: the first in the text, whatever the
        // key order ("extra" sorts before "name").
        BadTomlCase{"[[auth.token]]\nname = 5\nextra = 1\n",
                    "2:8: [[auth.token]] 1: name: expected a string, got an integer"}));

// The rate_spec error text is ratelimit's; only its position is ours.
TEST(Settings, RateLimitKeyErrorPosition) {
  Options o;
  auto error = apply_config_text(
      "[[rate_limit]]\nname = \"a\"\nmatch = \"/\"\nkey = \"ip/33\"\nburst = 1\nrate = \"1/s\"\n",
      "cfg.toml", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message.rfind("cfg.toml:4:7: [[rate_limit]] 1: key: ", 0), 0u)
      << error->message;
}

// ---- --print-config -----------------------------------------------------------------

Options everything_changed() {
  Options o;
  o.drain_idle_grace_ms = 250;
  o.deferred_timeout_ms = 45'000;
  o.access_log = "-";
  o.admin_listen = ListenAddress{"::1", 9000};
  o.metrics_on_main = true;
  o.log_format = "json";
  o.log_level = "debug";
  o.max_connections_total = 1'000;
  o.max_connections_per_ip = 10;
  o.request_id_enabled = false;
  o.trace_context_enabled = false;
  o.security_headers_enabled = true;
  o.hsts = "";
  o.frame_options = "SAMEORIGIN";
  o.referrer_policy = "strict-origin \"quoted\" \\";
  o.content_security_policy = "default-src 'self'; img-src *";
  o.cors_enabled = true;
  o.cors_allow_origins = {};
  o.cors_allow_methods = {"GET"};
  o.cors_allow_headers = {};
  o.cors_expose_headers = {"X-A", "X-B"};
  o.cors_allow_credentials = true;
  o.cors_max_age_ms = 0;
  o.compression_enabled = true;
  o.compression_min_size = 0;
  o.compression_types = {};
  o.gzip_level = 9;
  o.brotli = false;
  o.brotli_quality = 0;
  o.auth_enabled = true;
  o.auth_tokens = {{"ci", kHashA, {"deploy", "read"}}, {"ro", kHashB, {}}};
  o.auth_api_keys = {{"svc", kHashB, {"x"}}};
  o.auth_rules = {{"/deploy", {"POST", "PUT"}, "deploy"}, {"/", {}, ""}};
  o.rate_limits = {{"api", "/v1/", "ip/24/48", 100, "10/s"},
                   {"h", "/h", "header:x-tenant", 1'000'000'000, "1000000000/s"}};
  o.rate_limit_table_capacity = 1 << 26;
  return o;
}

TEST(Settings, PrintConfigRoundTrips) {
  Options with_arrays_only;
  with_arrays_only.rate_limits = {{"x", "/", "api_key", 1, "1/m"}};
  for (const Options& source : {Options{}, everything_changed(), with_arrays_only}) {
    Options back = everything_changed();  // stale values everywhere
    back.auth_tokens.push_back({"stale", std::string(64, 'c'), {}});
    back.rate_limits.push_back({"stale", "/", "ip", 1, "1/s"});
    back.access_log = "stale.log";
    std::string text = effective_config_text(source, Redact::kNothing);
    auto error = apply_config_text(text, "printed", back);
    ASSERT_FALSE(error.has_value()) << error->message << "\n" << text;
    EXPECT_EQ(back, source) << text;
  }
}

TEST(Settings, PrintConfigShowsArraysOfTables) {
  std::string text = effective_config_text(everything_changed(), Redact::kNothing);
  EXPECT_NE(text.find("[auth]\nenabled = true\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n[[auth.token]]\nname = \"ci\"\nsha256 = \"" + kHashA +
                      "\"\nscopes = [\"deploy\", \"read\"]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n[[rate_limit]]\nname = \"api\"\nmatch = \"/v1/\"\nkey = "
                      "\"ip/24/48\"\nburst = 100\nrate = \"10/s\"\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[server]\n"), std::string::npos);
  EXPECT_NE(text.find("access_log = \"-\"\n"), std::string::npos);
  // Empty arrays of tables are written so that they replace, at the top for
  // a top-level one and in their parent table otherwise.
  std::string empty = effective_config_text(Options{}, Redact::kNothing);
  EXPECT_EQ(empty.rfind("# ringshard effective configuration\nrate_limit = []\n", 0), 0u)
      << empty;
  EXPECT_NE(empty.find("[auth]\nenabled = false\ntoken = []\napi_key = []\nrule = []\n"),
            std::string::npos)
      << empty;
  EXPECT_NE(empty.find("access_log = \"off\"\n"), std::string::npos);
}

TEST(Settings, PrintConfigRedactsSecrets) {
  std::string text = effective_config_text(everything_changed());
  EXPECT_EQ(text.find(kHashA), std::string::npos) << text;
  EXPECT_EQ(text.find(kHashB), std::string::npos) << text;
  EXPECT_NE(text.find("name = \"ci\"\nsha256 = \"<redacted>\"\n"), std::string::npos) << text;
  // The default is to redact.
  EXPECT_EQ(text, effective_config_text(everything_changed(), Redact::kSecrets));
  // Redacted text is still TOML, with the hash rejected where it is.
  Options o;
  auto error = apply_config_text(text, "printed", o);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->message.find("sha256: '<redacted>' is not a SHA-256"), std::string::npos)
      << error->message;
}

TEST(Settings, PrintConfigFlagSetsTheAction) {
  auto result = parse({"--print-config", "--shards", "2"});
  ASSERT_TRUE(std::holds_alternative<ParsedOptions>(result));
  const ParsedOptions& parsed = std::get<ParsedOptions>(result);
  EXPECT_EQ(parsed.action, Action::kCheckConfig);
  EXPECT_TRUE(parsed.print_config);
  EXPECT_EQ(parsed.options.shards, 2u);
  auto check = std::get<ParsedOptions>(parse({"--check-config"}));
  EXPECT_EQ(check.action, Action::kCheckConfig);
  EXPECT_FALSE(check.print_config);
  // Help still wins.
  EXPECT_EQ(std::get<ParsedOptions>(parse({"--print-config", "--help"})).action, Action::kHelp);
}

}  // namespace
}  // namespace ringshard::server
