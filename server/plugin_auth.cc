#include "server/plugin_auth.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>

#include "http/server.h"
#include "tls/digest.h"

namespace ringshard::server {

namespace {

constexpr std::string_view kDevName = "dev";
constexpr size_t kDevTokenBytes = 32;

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

bool is_token(std::string_view t) {
  if (t.size() != kDevTokenBytes * 2) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string errno_text(int e) {
  char buf[128];
  return strerror_r(e, buf, sizeof buf);
}

}  // namespace

// One set of credentials: the identity store (any valid credential) and a
// middleware per gate.
struct PluginAuth::Generation {
  std::vector<http::Credential> credentials;
  std::unique_ptr<http::AuthStore> identity;
  std::map<std::pair<std::string, bool>, std::unique_ptr<http::AuthMiddleware>> checks;
};

class PluginAuth::Gate final : public http::Middleware {
 public:
  bool before(http::ServerRequest& req, http::Response& res,
              http::RequestContext& ctx) const override {
    const http::Middleware* m = current.load(std::memory_order_acquire);
    if (m == nullptr) {
      res.send_error(500, "authentication is not configured");
      return false;
    }
    return m->before(req, res, ctx);
  }
  std::atomic<const http::Middleware*> current{nullptr};
};

PluginAuth::PluginAuth(unsigned shards) : shards_(shards == 0 ? 1 : shards) {}
PluginAuth::~PluginAuth() = default;

const http::Middleware* PluginAuth::gate(const std::string& scope, bool websocket) {
  scopes_.insert(scope);
  auto& g = gates_[{scope, websocket}];
  if (g == nullptr) g = std::make_unique<Gate>();
  return g.get();
}

bool ensure_dev_token(const std::string& data_dir, std::string& token, bool& created,
                      std::string& error) {
  created = false;
  const std::string path = data_dir + "/dev-token";
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      error = "cannot create " + data_dir + ": " + ec.message();
      return false;
    }
    ::chmod(data_dir.c_str(), 0700);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    uint8_t bytes[kDevTokenBytes];
    if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
      const int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      error = "no random bytes for " + path + ": " + errno_text(e);
      return false;
    }
    token = hex(bytes, sizeof bytes);
    const std::string line = token + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const int e = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      error = "cannot write " + path + ": " + errno_text(e);
      return false;
    }
    created = true;
    return true;
  }
  if (errno != EEXIST) {
    error = "cannot create " + path + ": " + errno_text(errno);
    return false;
  }
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    error = "cannot read " + path + ": " + errno_text(errno);
    return false;
  }
  char buf[256];
  const ssize_t n = ::read(in, buf, sizeof buf);
  ::close(in);
  std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (!is_token(text)) {
    error = path + " does not hold a development token (64 hex digits); delete it to get a "
                   "new one";
    return false;
  }
  token = std::string(text);
  return true;
}

bool PluginAuth::configure(const Options& o, std::vector<std::string>* notes,
                           std::string& error) {
  auto next = std::make_unique<Generation>();
  for (const AuthCredential& t : o.auth_tokens) {
    next->credentials.push_back({t.name, http::CredentialKind::kBearer, t.sha256_hex, t.scopes});
  }
  for (const AuthCredential& k : o.auth_api_keys) {
    next->credentials.push_back({k.name, http::CredentialKind::kApiKey, k.sha256_hex, k.scopes});
  }
  std::string token;
  if (next->credentials.empty() && !scopes_.empty()) {
    bool created = false;
    if (!ensure_dev_token(o.data_dir, token, created, error)) {
      error = "development token: " + error;
      return false;
    }
    const tls::Sha256 digest = tls::sha256(token);
    next->credentials.push_back({std::string(kDevName), http::CredentialKind::kBearer,
                                 hex(digest.data(), digest.size()),
                                 std::vector<std::string>(scopes_.begin(), scopes_.end())});
    if (notes != nullptr && token != dev_token_) {
      std::string all;
      for (const std::string& s : scopes_) all += (all.empty() ? "" : " ") + s;
      notes->push_back("development token (all scopes: " + all + "): " + token + " (" +
                       (created ? "created in " : "from ") + o.data_dir +
                       "/dev-token; send 'Authorization: Bearer " + token +
                       "', or ?access_token=" + token +
                       " on a WebSocket URL; configure [[auth.token]] to use real tokens)");
    }
  }
  try {
    http::AuthConfig identity{next->credentials, {{"/", {}, ""}}};
    next->identity = std::make_unique<http::AuthStore>(std::move(identity));
    for (const auto& [key, gate] : gates_) {
      http::AuthConfig cfg{next->credentials, {{"/", {}, key.first}}};
      next->checks[key] = std::make_unique<http::AuthMiddleware>(std::move(cfg), shards_, key.second);
    }
  } catch (const std::exception& e) {
    error = std::string("plugin route credentials: ") + e.what();
    return false;
  }
  for (const auto& [key, gate] : gates_) {
    gate->current.store(next->checks[key].get(), std::memory_order_release);
  }
  current_.store(next.get(), std::memory_order_release);
  generations_.push_back(std::move(next));
  dev_token_ = token;
  return true;
}

PluginIdentity PluginAuth::identify(const http::ServerRequest& req, bool websocket) const {
  PluginIdentity id;
  const Generation* g = current_.load(std::memory_order_acquire);
  if (g == nullptr || g->credentials.empty()) return id;
  id.auth_off = false;
  std::string_view authorization = req.header("authorization");
  const std::string_view api_key = req.header("x-api-key");
  char bearer[7 + http::kMaxSecretLength];
  if (websocket && authorization.empty() && api_key.empty()) {
    const std::string_view token = http::access_token_param(
        req.query(), std::span<char>(bearer + 7, http::kMaxSecretLength));
    if (!token.empty()) {
      std::memcpy(bearer, "Bearer ", 7);
      authorization = std::string_view(bearer, 7 + token.size());
    }
  }
  const http::AuthResult r =
      g->identity->check(req.head().method_text, req.path(), authorization, api_key);
  if (r.outcome != http::AuthOutcome::kAllowed) return id;
  for (const http::Credential& c : g->credentials) {
    if (c.name == r.credential_name) {
      id.principal = c.name;
      id.scopes = &c.scopes;
      break;
    }
  }
  return id;
}

}  // namespace ringshard::server
