// server/plugin_config.cc: rs_config over a toml++ table.
//
// The section is parsed once, from the text the options reader kept, and
// never changes afterwards: toml++ nodes are then read-only, so concurrent
// getters (validate on the main thread, a plugin reading from its own
// threads) need no lock. Key iteration indexes a vector of views built at
// construction, because a toml::table is a map (i-th key would be O(i)).
#include "server/plugin_config.h"

#include <cmath>
#include <exception>
#include <map>
#include <vector>

#include "server/tomlpp.h"

struct rs_config {
  toml::table document;
  const toml::table* section = nullptr;  // document["plugins"][name]
  // Per table path ("" for the section), its keys in order.
  std::map<std::string, std::vector<std::string_view>, std::less<>> keys;
};

namespace ringshard::server {

namespace {

void index_keys(rs_config& c, const toml::table& table, const std::string& path) {
  std::vector<std::string_view>& list = c.keys[path];
  for (const auto& [key, node] : table) {
    list.push_back(key.str());
    if (const toml::table* sub = node.as_table()) {
      index_keys(c, *sub, path.empty() ? std::string(key.str())
                                       : path + "." + std::string(key.str()));
    }
  }
}

// The node at a dotted path, or null. Every part must be a bare key.
const toml::node* find(const rs_config* c, const char* key) {
  if (c == nullptr || c->section == nullptr || key == nullptr) return nullptr;
  const toml::table* table = c->section;
  std::string_view rest(key);
  while (true) {
    const size_t dot = rest.find('.');
    const std::string_view part = rest.substr(0, dot);
    if (part.empty()) return nullptr;
    const toml::node* node = table->get(part);
    if (node == nullptr || dot == std::string_view::npos) return node;
    table = node->as_table();
    if (table == nullptr) return nullptr;
    rest = rest.substr(dot + 1);
  }
}

}  // namespace

void PluginConfigDeleter::operator()(rs_config* c) const { delete c; }

PluginConfigPtr make_plugin_config(std::string_view name, const PluginSection* section,
                                   std::string& error) {
  PluginConfigPtr c(new rs_config);
  static const toml::table kEmpty;
  c->section = &kEmpty;
  if (section != nullptr) {
    try {
      c->document = toml::parse(section->toml, "[plugins." + std::string(name) + "]");
    } catch (const toml::parse_error& e) {
      error = "[plugins." + std::string(name) + "]: " + std::string(e.description());
      return nullptr;
    }
    const toml::table* plugins = c->document["plugins"].as_table();
    const toml::table* own = plugins != nullptr ? (*plugins)[name].as_table() : nullptr;
    if (own == nullptr) {
      error = "[plugins." + std::string(name) + "]: the section is not a table";
      return nullptr;
    }
    c->section = own;
  }
  index_keys(*c, *c->section, "");
  return c;
}

int plugin_config_string(const rs_config* c, const char* key, rs_str* out) {
  const toml::node* n = find(c, key);
  if (n == nullptr) return 0;
  const auto* s = n->as_string();
  if (s == nullptr) return -1;
  const std::string& v = s->get();
  *out = rs_str{v.data(), v.size()};
  return 1;
}

int plugin_config_int(const rs_config* c, const char* key, int64_t* out) {
  const toml::node* n = find(c, key);
  if (n == nullptr) return 0;
  const auto* i = n->as_integer();
  if (i == nullptr) return -1;
  *out = i->get();
  return 1;
}

int plugin_config_double(const rs_config* c, const char* key, double* out) {
  const toml::node* n = find(c, key);
  if (n == nullptr) return 0;
  if (const auto* d = n->as_floating_point()) {
    *out = d->get();
    return 1;
  }
  if (const auto* i = n->as_integer()) {
    *out = static_cast<double>(i->get());
    return 1;
  }
  return -1;
}

int plugin_config_bool(const rs_config* c, const char* key, int* out) {
  const toml::node* n = find(c, key);
  if (n == nullptr) return 0;
  const auto* b = n->as_boolean();
  if (b == nullptr) return -1;
  *out = b->get() ? 1 : 0;
  return 1;
}

int plugin_config_key(const rs_config* c, const char* table, size_t i, rs_str* out) {
  if (c == nullptr) return 0;
  const auto it = c->keys.find(std::string_view(table != nullptr ? table : ""));
  if (it == c->keys.end() || i >= it->second.size()) return 0;
  *out = rs_str{it->second[i].data(), it->second[i].size()};
  return 1;
}

}  // namespace ringshard::server
