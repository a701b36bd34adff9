// client/proxy_env.h: the forward proxy settings of the environment
// (http_proxy, https_proxy, all_proxy, no_proxy), read as curl reads them.
//
//   client::ProxyEnv env;
//   std::string error;
//   if (!client::read_proxy_env(::getenv, env, error)) { ... error ... }
//   const std::optional<client::ProxyUrl>& proxy = tls ? env.https : env.http;
//   if (proxy && !client::bypass_proxy(env.no_proxy, host, port)) {
//     connect to proxy->host:proxy->port (CONNECT host:port for https)
//   }
//
// Variables, as curl reads them (an empty value counts as unset):
//   - http_proxy: lowercase only. HTTP_PROXY is ignored on purpose: CGI-like
//     environments turn a request's "Proxy:" header into HTTP_PROXY
//     ("httpoxy", CVE-2016-5385), so trusting it lets a client pick our proxy.
//   - https_proxy, then HTTPS_PROXY.
//   - all_proxy, then ALL_PROXY: for a scheme whose own variable is unset.
//   - no_proxy, then NO_PROXY.
//
// A proxy URL is http://[user[:password]@]host[:port][/] (no scheme: http;
// port 1080 when left out, as curl; user and password percent-decoded).
// Only http:// proxies are supported: https:// (TLS to the proxy) and
// socks* are refused with an error that says so. An HTTPS request goes
// through an http:// proxy with CONNECT, so TLS still runs end to end.
//
// no_proxy: entries separated by commas or whitespace, compared without
// regard to case:
//   - "*" matches every host;
//   - a name ("example.com" or ".example.com": the leading dot changes
//     nothing) matches that host and every name under it
//     ("api.example.com"), not "badexample.com";
//   - an IP literal ("10.1.2.3", "::1", "[::1]") matches that address,
//     and a CIDR block ("10.0.0.0/8", "fd00::/8") every address in it;
//     names never match IP hosts nor IPs names (no lookups);
//   - ":PORT" after any of these ("example.com:8080", "[::1]:8080")
//     limits the entry to that port.
//   A trailing dot on a name (FQDN form) is ignored on both sides. Entries
//   that are none of these are ignored, as curl does.
//
// Pure functions of their arguments (the environment comes in through a
// getenv-like function, so tests never touch the real one); any thread.
// Control plane: they allocate the strings and vectors they return.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::client {

struct ProxyUrl {
  std::string host;  // a name (lowercase) or an IP literal (IPv6 without brackets)
  uint16_t port = 1080;
  bool has_credentials = false;
  std::string user;      // decoded
  std::string password;  // decoded
  bool ipv6() const { return host.find(':') != std::string::npos; }
  // "Basic BASE64(user:password)", the Proxy-Authorization value; empty
  // without credentials.
  std::string basic_authorization() const;
};

// Parses a proxy URL (see above). Inputs over 2048 bytes are refused.
std::optional<ProxyUrl> parse_proxy_url(std::string_view text, std::string& error);
// The URL back, credentials percent-encoded: parse_proxy_url() of it gives
// the same ProxyUrl. For logs, redact_password hides the password ("***").
std::string format_proxy_url(const ProxyUrl& url, bool redact_password = false);

struct NoProxyEntry {
  enum class Kind : uint8_t { kName, kIpv4, kIpv6 };
  Kind kind = Kind::kName;
  std::string name;        // kName: lowercase, without leading or trailing dot
  uint8_t address[16]{};   // kIpv4 (first 4 bytes) or kIpv6
  uint8_t prefix = 0;      // bits compared: 32 or 128 for one address
  uint16_t port = 0;       // 0: any port
};

struct NoProxy {
  bool all = false;  // "*"
  std::vector<NoProxyEntry> entries;
};

NoProxy parse_no_proxy(std::string_view text);

// True when a request to host:port must not go through the proxy. `host`
// is a name, an IP literal, or a bracketed IPv6 literal.
bool bypass_proxy(const NoProxy& no_proxy, std::string_view host, uint16_t port);

struct ProxyEnv {
  std::optional<ProxyUrl> http;   // for http:// requests
  std::optional<ProxyUrl> https;  // for https:// requests (CONNECT)
  NoProxy no_proxy;
};

// getenv-like: the value of a variable, or null when unset.
using Getenv = std::function<const char*(const char*)>;

// Reads the variables above through `getenv`. False with `error` naming the
// variable when a set proxy variable does not parse (an unusable proxy
// setting is a configuration error, not a reason to go direct).
bool read_proxy_env(const Getenv& getenv, ProxyEnv& out, std::string& error);

}  // namespace ringshard::client
