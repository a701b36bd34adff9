// server/options_records.cc: auth credentials, auth rules and rate limits
// as arrays of tables (what each one means: server/options.h).
#include "server/options_records.h"

#include "ratelimit/rate_spec.h"
#include "server/options_units.h"
#include "server/options_words.h"

namespace ringshard::server::options_detail {
namespace {

// Enough for every client of a service to have its own key, few enough
// that the linear checks for duplicates stay instant.
constexpr size_t kMaxCredentials = 4096;
constexpr size_t kMaxAuthRules = 1024;
constexpr size_t kMaxRateLimits = 256;

std::optional<RecordError> field_error(size_t field, std::optional<std::string> problem) {
  if (!problem) return std::nullopt;
  return RecordError{field, std::move(*problem)};
}

// Checks each entry of a list field into `out`.
std::optional<RecordError> check_each(size_t field, const std::vector<std::string>& in,
                                      TextCheck check, std::vector<std::string>& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    std::string stored;
    if (auto problem = check(in[i], stored)) {
      return RecordError{field, "entry " + std::to_string(i + 1) + ": " + *problem};
    }
    out.push_back(std::move(stored));
  }
  return std::nullopt;
}

// "" and "*" as a whole method list mean every method.
std::optional<RecordError> check_methods(size_t field, const std::vector<std::string>& in,
                                         std::vector<std::string>& out) {
  if (in.size() == 1 && in[0] == "*") {
    out.clear();
    return std::nullopt;
  }
  return check_each(field, in, check_method, out);
}

// ---- [[auth.token]] and [[auth.api_key]] ------------------------------------

enum CredentialField : size_t { kCredName, kCredSha256, kCredScopes };

constexpr Field kCredentialFields[] = {
    {.key = "name", .kind = FieldKind::kText, .required = true},
    {.key = "sha256", .kind = FieldKind::kText, .required = true, .secret = true},
    {.key = "scopes", .kind = FieldKind::kTextList},
};

template <std::vector<AuthCredential> Options::*List>
std::optional<RecordError> append_credential(Options& o, const Record& r) {
  AuthCredential c;
  if (auto e = field_error(kCredName, check_name(r[kCredName].text, c.name))) return e;
  if (auto e = field_error(kCredSha256, check_sha256_hex(r[kCredSha256].text, c.sha256_hex))) {
    return e;
  }
  if (auto e = check_each(kCredScopes, r[kCredScopes].list, check_scope, c.scopes)) return e;
  for (const AuthCredential& other : o.*List) {
    if (other.name == c.name) {
      return RecordError{kCredName, quote(c.name) + " is used twice"};
    }
    if (other.sha256_hex == c.sha256_hex) {
      return RecordError{kCredSha256, "the same as for " + quote(other.name)};
    }
  }
  // Tokens and API keys share one name space (the auth store, the logs).
  constexpr auto kOther = List == &Options::auth_tokens ? &Options::auth_api_keys
                                                        : &Options::auth_tokens;
  for (const AuthCredential& other : o.*kOther) {
    if (other.name == c.name) {
      return RecordError{kCredName, quote(c.name) + " is already the name of " +
                                        (List == &Options::auth_tokens ? "an API key" : "a token")};
    }
  }
  (o.*List).push_back(std::move(c));
  return std::nullopt;
}

template <std::vector<AuthCredential> Options::*List>
Record get_credential(const Options& o, size_t i) {
  const AuthCredential& c = (o.*List)[i];
  Record r(std::size(kCredentialFields));
  r[kCredName] = {.present = true, .text = c.name};
  r[kCredSha256] = {.present = true, .text = c.sha256_hex};
  r[kCredScopes] = {.present = true, .list = c.scopes};
  return r;
}

std::optional<std::string> parse_credential_flag(std::string_view text, Record& r) {
  size_t first = text.find(':');
  if (first == std::string_view::npos) {
    return quote(text) + " is not NAME:SHA256HEX[:SCOPE,SCOPE...]";
  }
  std::string_view rest = text.substr(first + 1);
  size_t second = rest.find(':');
  r[kCredName] = {.present = true, .text = std::string(text.substr(0, first))};
  r[kCredSha256] = {.present = true, .text = std::string(rest.substr(0, second))};
  if (second != std::string_view::npos) {
    r[kCredScopes].present = true;
    if (!split_list(rest.substr(second + 1), r[kCredScopes].list)) {
      return quote(rest.substr(second + 1)) + " is not a comma-separated list of scopes";
    }
  }
  return std::nullopt;
}

template <std::vector<AuthCredential> Options::*List>
constexpr Records credential_records() {
  return Records{
      .fields = kCredentialFields,
      .max = kMaxCredentials,
      .size = [](const Options& o) { return (o.*List).size(); },
      .clear = [](Options& o) { (o.*List).clear(); },
      .append = append_credential<List>,
      .get = get_credential<List>,
      .parse_flag = parse_credential_flag,
  };
}

// ---- [[auth.rule]] ------------------------------------------------------------

enum RuleField : size_t { kRuleMatch, kRuleMethods, kRuleScope };

constexpr Field kRuleFields[] = {
    {.key = "match", .kind = FieldKind::kText, .required = true},
    {.key = "methods", .kind = FieldKind::kTextList},
    {.key = "scope", .kind = FieldKind::kText},
};

std::optional<RecordError> append_rule(Options& o, const Record& r) {
  AuthRule rule;
  if (auto e = field_error(kRuleMatch, check_path_prefix(r[kRuleMatch].text, rule.match))) {
    return e;
  }
  if (auto e = check_methods(kRuleMethods, r[kRuleMethods].list, rule.methods)) return e;
  if (!r[kRuleScope].text.empty()) {
    if (auto e = field_error(kRuleScope, check_scope(r[kRuleScope].text, rule.scope))) return e;
  }
  o.auth_rules.push_back(std::move(rule));
  return std::nullopt;
}

Record get_rule(const Options& o, size_t i) {
  const AuthRule& rule = o.auth_rules[i];
  Record r(std::size(kRuleFields));
  r[kRuleMatch] = {.present = true, .text = rule.match};
  r[kRuleMethods] = {.present = true, .list = rule.methods};
  r[kRuleScope] = {.present = true, .text = rule.scope};
  return r;
}

std::optional<std::string> parse_rule_flag(std::string_view text, Record& r) {
  size_t first = text.find(':');
  r[kRuleMatch] = {.present = true, .text = std::string(text.substr(0, first))};
  if (first == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(first + 1);
  size_t second = rest.find(':');
  std::string_view methods = rest.substr(0, second);
  r[kRuleMethods].present = true;
  if (methods != "*" && !split_list(methods, r[kRuleMethods].list)) {
    return quote(methods) + " is not \"*\" or a comma-separated list of methods";
  }
  if (second != std::string_view::npos) {
    r[kRuleScope] = {.present = true, .text = std::string(rest.substr(second + 1))};
  }
  return std::nullopt;
}

// ---- [[rate_limit]] -------------------------------------------------------------

enum RateField : size_t { kRateName, kRateMatch, kRateKey, kRateBurst, kRateRate };

constexpr Field kRateFields[] = {
    {.key = "name", .kind = FieldKind::kText, .required = true},
    {.key = "match", .kind = FieldKind::kText, .required = true},
    {.key = "key", .kind = FieldKind::kText, .required = true},
    {.key = "burst", .kind = FieldKind::kCount, .required = true, .min = 1,
     .max = ratelimit::kMaxRateCount},
    {.key = "rate", .kind = FieldKind::kText, .required = true},
};

std::optional<RecordError> append_rate_limit(Options& o, const Record& r) {
  RateLimitRule rule;
  if (auto e = field_error(kRateName, check_name(r[kRateName].text, rule.name))) return e;
  if (auto e = field_error(kRateMatch, check_path_prefix(r[kRateMatch].text, rule.match))) {
    return e;
  }
  auto key = ratelimit::parse_key_spec(r[kRateKey].text);
  if (!key.ok()) return RecordError{kRateKey, printable(key.error, 200)};
  rule.key = r[kRateKey].text;
  rule.burst = r[kRateBurst].number;  // range checked by the reader / flag parser
  auto rate = ratelimit::parse_rate(r[kRateRate].text);
  if (!rate.ok()) return RecordError{kRateRate, printable(rate.error, 200)};
  auto limit = ratelimit::limit_from(*rate.value, rule.burst);
  if (!limit.ok()) return RecordError{kRateBurst, printable(limit.error, 200)};
  rule.rate = r[kRateRate].text;
  for (const RateLimitRule& other : o.rate_limits) {
    if (other.name == rule.name) return RecordError{kRateName, quote(rule.name) + " is used twice"};
  }
  o.rate_limits.push_back(std::move(rule));
  return std::nullopt;
}

Record get_rate_limit(const Options& o, size_t i) {
  const RateLimitRule& rule = o.rate_limits[i];
  Record r(std::size(kRateFields));
  r[kRateName] = {.present = true, .text = rule.name};
  r[kRateMatch] = {.present = true, .text = rule.match};
  r[kRateKey] = {.present = true, .text = rule.key};
  r[kRateBurst] = {.present = true, .number = rule.burst};
  r[kRateRate] = {.present = true, .text = rule.rate};
  return r;
}

// "name=api,match=/v1/,key=ip,burst=100,rate=10/s": every key of the table,
// in any order, each once.
std::optional<std::string> parse_rate_limit_flag(std::string_view text, Record& r) {
  std::vector<std::string> pairs;
  if (!split_list(text, pairs) || pairs.empty()) {
    return quote(text) + " is not a comma-separated list of KEY=VALUE";
  }
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    std::string_view key = std::string_view(pair).substr(0, eq);
    size_t field = 0;
    while (field < std::size(kRateFields) && kRateFields[field].key != key) ++field;
    if (eq == std::string::npos || field == std::size(kRateFields)) {
      return quote(pair) + " is not KEY=VALUE with KEY one of name, match, key, burst, rate";
    }
    if (r[field].present) return "'" + std::string(key) + "' is given twice";
    std::string_view value = std::string_view(pair).substr(eq + 1);
    r[field].present = true;
    if (kRateFields[field].kind == FieldKind::kCount) {
      NumberStatus status = parse_decimal(value, r[field].number);
      if (status == NumberStatus::kSyntax) {
        return "burst: " + quote(value) + " is not a number; use decimal digits only";
      }
      if (status == NumberStatus::kOverflow || r[field].number < kRateFields[field].min ||
          r[field].number > kRateFields[field].max) {
        return "burst: " + quote(value) + " is out of range 1..1000000000";
      }
    } else {
      r[field].text = std::string(value);
    }
  }
  return std::nullopt;
}

}  // namespace

constexpr Records kAuthTokenRecords = credential_records<&Options::auth_tokens>();
constexpr Records kAuthApiKeyRecords = credential_records<&Options::auth_api_keys>();

constexpr Records kAuthRuleRecords{
    .fields = kRuleFields,
    .max = kMaxAuthRules,
    .size = [](const Options& o) { return o.auth_rules.size(); },
    .clear = [](Options& o) { o.auth_rules.clear(); },
    .append = append_rule,
    .get = get_rule,
    .parse_flag = parse_rule_flag,
};

constexpr Records kRateLimitRecords{
    .fields = kRateFields,
    .max = kMaxRateLimits,
    .size = [](const Options& o) { return o.rate_limits.size(); },
    .clear = [](Options& o) { o.rate_limits.clear(); },
    .append = append_rate_limit,
    .get = get_rate_limit,
    .parse_flag = parse_rate_limit_flag,
};

}  // namespace ringshard::server::options_detail
