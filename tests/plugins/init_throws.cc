// tests/plugins/init_throws.cc: a C++ plugin whose init() throws; the
// server must refuse to start (exit 78) naming it and the reason.
#include <stdexcept>

#include "ringshard/plugin.hpp"

namespace {

class Throws final : public ringshard::plugin::Plugin {
 public:
  void init(ringshard::plugin::Host& host, const ringshard::plugin::Config&) override {
    host.route("GET", "/throws/registered", [](auto&, auto& res) { res.send(200, "text/plain", "x"); });
    throw std::runtime_error("cannot reach the bank");
  }
};

}  // namespace

RINGSHARD_PLUGIN(Throws, "throws", "0.0.1")
