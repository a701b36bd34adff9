// libFuzzer target for client/proxy_env.h: proxy URLs and no_proxy lists
// come from the environment. Besides crashes under the sanitizers it
// checks:
//  - an accepted proxy URL has a host and a port, formats to a URL that
//    parses back to the same fields (unless formatting took it past the
//    length limit), its redacted form hides the password, and it has a
//    Proxy-Authorization value exactly when it has credentials;
//  - every parsed no_proxy entry is well formed (a lowercase name without
//    outer dots, or an address with a prefix within its family's width)
//    and matches its own host (and port), so no entry is kept that can
//    never match;
//  - bypass_proxy on the input taken as a host does not crash, and "*"
//    anywhere among the entries bypasses everything.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/proxy_env.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr const char* kFuzzTarget = "proxy_env";

using ringshard::client::NoProxy;
using ringshard::client::NoProxyEntry;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string error;
  if (auto url = ringshard::client::parse_proxy_url(in, error)) {
    FUZZ_CHECK(!url->host.empty());
    FUZZ_CHECK(url->port != 0);
    const std::string text = ringshard::client::format_proxy_url(*url);
    auto back = ringshard::client::parse_proxy_url(text, error);
    // Formatting may add "http://" and ":1080" past the 2048-byte limit.
    FUZZ_CHECK(back.has_value() || text.size() > 2048);
    if (!back) return 0;
    FUZZ_CHECK(back->host == url->host);
    FUZZ_CHECK(back->port == url->port);
    FUZZ_CHECK(back->has_credentials == url->has_credentials);
    FUZZ_CHECK(back->user == url->user);
    FUZZ_CHECK(back->password == url->password);
    const std::string redacted = ringshard::client::format_proxy_url(*url, true);
    FUZZ_CHECK(!url->has_credentials || redacted.find(":***@") != std::string::npos);
    FUZZ_CHECK(url->has_credentials == !url->basic_authorization().empty());
  } else {
    FUZZ_CHECK(!error.empty());
  }

  const NoProxy np = ringshard::client::parse_no_proxy(in);
  for (const NoProxyEntry& e : np.entries) {
    const uint16_t port = e.port != 0 ? e.port : 80;
    if (e.kind == NoProxyEntry::Kind::kName) {
      FUZZ_CHECK(!e.name.empty());
      FUZZ_CHECK(e.name.front() != '.' && e.name.back() != '.');
      for (char c : e.name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
      FUZZ_CHECK(ringshard::client::bypass_proxy(np, e.name, port));
      FUZZ_CHECK(ringshard::client::bypass_proxy(np, "x." + e.name, port));
    } else {
      const bool v4 = e.kind == NoProxyEntry::Kind::kIpv4;
      FUZZ_CHECK(e.prefix <= (v4 ? 32 : 128));
      char text[INET6_ADDRSTRLEN];
      FUZZ_CHECK(::inet_ntop(v4 ? AF_INET : AF_INET6, e.address, text, sizeof(text)) != nullptr);
      FUZZ_CHECK(ringshard::client::bypass_proxy(np, text, port));
    }
  }
  const bool bypass = ringshard::client::bypass_proxy(np, in, 443);
  if (np.all) FUZZ_CHECK(bypass);
  return 0;
}
