#include "server/rate_limit_setup.h"

#include "http/mw_compression.h"
#include "http/mw_rate_limit.h"
#include "ratelimit/headers.h"
#include "ratelimit/limiter_table.h"
#include "ratelimit/rate_spec.h"

namespace ringshard::server {

std::unique_ptr<http::Middleware> make_rate_limit_middleware(const Options& options,
                                                             unsigned shards,
                                                             std::string& error) {
  error.clear();
  if (options.rate_limits.empty()) return nullptr;
  http::RateLimitConfig config;
  config.shards = shards == 0 ? 1 : shards;
  config.table_capacity = options.rate_limit_table_capacity;
  if (config.table_capacity == 0 || config.table_capacity > ratelimit::LimiterTable::kMaxCapacity) {
    error = "rate_limits.table_capacity: out of range";
    return nullptr;
  }
  for (size_t i = 0; i < options.rate_limits.size(); ++i) {
    const RateLimitRule& rule = options.rate_limits[i];
    const std::string where = "[[rate_limit]] " + std::to_string(i + 1) + " ('" + rule.name + "'): ";
    if (!ratelimit::is_valid_policy_name(rule.name)) {
      error = where + "invalid name";
      return nullptr;
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.rate_limits[j].name == rule.name) {
        error = where + "duplicate name";
        return nullptr;
      }
    }
    if (rule.match.empty() || rule.match.front() != '/') {
      error = where + "match must start with '/'";
      return nullptr;
    }
    auto key = ratelimit::parse_key_spec(rule.key);
    if (!key.ok()) {
      error = where + "key: " + key.error;
      return nullptr;
    }
    auto rate = ratelimit::parse_rate(rule.rate);
    if (!rate.ok()) {
      error = where + "rate: " + rate.error;
      return nullptr;
    }
    auto limit = ratelimit::limit_from(*rate.value, rule.burst);
    if (!limit.ok()) {
      error = where + limit.error;
      return nullptr;
    }
    config.rules.push_back({rule.name, rule.match, std::move(*key.value), *limit.value});
  }
  return std::make_unique<http::RateLimitMiddleware>(std::move(config));
}

std::unique_ptr<http::Middleware> make_compression_middleware(const Options& options,
                                                              unsigned shards,
                                                              std::string& error) {
  error.clear();
  if (!options.compression_enabled) return nullptr;
  if (options.gzip_level < 1 || options.gzip_level > 9) {
    error = "compression.gzip_level: must be 1..9";
    return nullptr;
  }
  if (options.brotli_quality > 11) {
    error = "compression.brotli_quality: must be 0..11";
    return nullptr;
  }
  http::CompressionConfig config;
  config.enabled = true;
  config.brotli = options.brotli;
  config.min_size = options.compression_min_size;
  config.types = options.compression_types;
  config.gzip_level = static_cast<int>(options.gzip_level);
  config.brotli_quality = static_cast<int>(options.brotli_quality);
  config.shards = shards == 0 ? 1 : shards;
  return std::make_unique<http::CompressionMiddleware>(std::move(config));
}

}  // namespace ringshard::server
