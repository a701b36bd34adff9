// libFuzzer target for tls/pinning.h's pin text ("sha256/BASE64", from
// configuration: ClientOptions::pins). Besides crashes under the
// sanitizers it checks:
//  - an accepted pin prints back (pin_text) to the input itself, or to the
//    input without curl's second slash: one text per digest, so no two
//    accepted texts of one form name the same key;
//  - an accepted pin's digest is what BoringSSL's base64 decoder makes of
//    its 44 characters (a decoder that is not ours);
//  - a refused one says why;
//  - any 32 bytes print to a pin that parses back to them, in both forms;
//  - spki_pin_of_pem on the same bytes either fails with an error or gives
//    a pin that parses.
#include <openssl/base64.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tls/pinning.h"

namespace {

constexpr const char* kFuzzTarget = "pin";

using ringshard::tls::parse_pin;
using ringshard::tls::pin_text;
using ringshard::tls::Sha256;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  Sha256 d;
  std::string error;
  if (parse_pin(in, d, error)) {
    const std::string canonical = pin_text(d);
    const bool curl_form = in.size() == 52;
    FUZZ_CHECK(curl_form ? "sha256/" + std::string(in.substr(8)) == canonical : in == canonical);
    const std::string_view b64 = in.substr(in.size() - 44);
    uint8_t ref[48];
    size_t ref_len = 0;
    FUZZ_CHECK(EVP_DecodeBase64(ref, &ref_len, sizeof(ref),
                                reinterpret_cast<const uint8_t*>(b64.data()), b64.size()) == 1);
    FUZZ_CHECK(ref_len == d.size());
    FUZZ_CHECK(std::memcmp(ref, d.data(), d.size()) == 0);
  } else {
    FUZZ_CHECK(!error.empty());
  }

  if (size >= 32) {
    Sha256 raw;
    std::memcpy(raw.data(), data, raw.size());
    const std::string text = pin_text(raw);
    FUZZ_CHECK(text.size() == 51);
    Sha256 back;
    FUZZ_CHECK(parse_pin(text, back, error));
    FUZZ_CHECK(back == raw);
    FUZZ_CHECK(parse_pin("sha256/" + text.substr(6), back, error));
    FUZZ_CHECK(back == raw);
  }

  std::string pem_error;
  const std::string pin = ringshard::tls::spki_pin_of_pem(in, pem_error);
  if (pin.empty()) {
    FUZZ_CHECK(!pem_error.empty());
  } else {
    FUZZ_CHECK(parse_pin(pin, d, error));
  }
  return 0;
}
