// libFuzzer target for client/url.h: a plugin hands http_fetch a URL that
// may come from a request it serves. Besides crashes under the sanitizers
// it checks that an accepted URL has a host of allowed bytes, a non-zero
// port, an origin-form target of visible ASCII without a fragment, and
// that the URL rebuilt from its parts parses to the same parts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/url.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr const char* kFuzzTarget = "http_url";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto url = ringshard::client::parse_http_url(in, error);
  if (!url) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(!url->host.empty());
  FUZZ_CHECK(url->port != 0);
  FUZZ_CHECK(!url->target.empty() && url->target[0] == '/');
  FUZZ_CHECK(url->target.find('#') == std::string::npos);
  for (char c : url->target) {
    const auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b >= 0x21 && b <= 0x7E);
  }
  const bool v6 = url->host.find(':') != std::string::npos;
  for (char c : url->host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z') || v6);
  std::string again = url->tls ? "https://" : "http://";
  again += v6 ? "[" + url->host + "]" : url->host;
  again += ":" + std::to_string(url->port) + url->target;
  auto back = ringshard::client::parse_http_url(again, error);
  FUZZ_CHECK(back.has_value() || again.size() > ringshard::client::kMaxUrlBytes);
  if (back) {
    FUZZ_CHECK(back->tls == url->tls);
    FUZZ_CHECK(back->host == url->host);
    FUZZ_CHECK(back->port == url->port);
    FUZZ_CHECK(back->target == url->target);
  }
  return 0;
}
