// server/options_words.h: the syntax of the string settings, internal to
// server/options*.cc.
//
// Each check is a TextCheck (options_table.h): it takes the text as a flag
// or a TOML string gives it, writes the form Options stores (lower-cased
// where the value is case-insensitive, "" for "off") and returns what is
// wrong as a message fragment that starts with the quoted value. The
// syntax of each, with examples, is in docs/configuration.md.
//
// Pure functions; they allocate only the strings they write or return.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringshard::server::options_detail {

// [server] access_log: "" or "off" -> "" (off), "-" (stdout), or a path.
std::optional<std::string> check_access_log(std::string_view text, std::string& out);

// A response header value: anything but CR, LF, NUL and the other control
// characters except tab; at most 4096 bytes; "" = send no header.
std::optional<std::string> check_header_value(std::string_view text, std::string& out);

// A CORS origin: "*", or scheme://host[:port] with no path (scheme letters,
// digits, '+', '-', '.'; host a name, IPv4 or [IPv6]; port 1..65535).
// Stored lower case, as browsers send it.
std::optional<std::string> check_origin(std::string_view text, std::string& out);

// An HTTP method: an RFC 9110 token of 1..32 characters, kept as written
// (methods are case-sensitive).
std::optional<std::string> check_method(std::string_view text, std::string& out);

// A header name: an RFC 9110 token of 1..64 characters, kept as written.
std::optional<std::string> check_header_name(std::string_view text, std::string& out);

// A Content-Type prefix ("text/", "application/json"): 1..127 token
// characters or '/', stored lower case.
std::optional<std::string> check_type_prefix(std::string_view text, std::string& out);

// A name of a credential or a rate limit: [A-Za-z0-9_-]{1,64}.
std::optional<std::string> check_name(std::string_view text, std::string& out);

// A SHA-256 as 64 hex digits, stored lower case.
std::optional<std::string> check_sha256_hex(std::string_view text, std::string& out);

// A scope: 1..128 printable ASCII characters except space, '"', '\\' and
// ',' (RFC 6749 scope-token, less the comma that separates scopes in flags).
std::optional<std::string> check_scope(std::string_view text, std::string& out);

// A path prefix: starts with "/", 1..1024 printable ASCII characters, no
// space.
std::optional<std::string> check_path_prefix(std::string_view text, std::string& out);

// A plugin reference: a plugin name ([a-z0-9_-]{1,64}, see
// server/plugin_names.h) or, with a '/', a path to a shared object (not
// opened here).
std::optional<std::string> check_plugin_ref(std::string_view text, std::string& out);

// "a,b , c" -> {"a", "b", "c"}: split at commas, spaces around entries
// dropped; "" -> {}. Returns false on an empty entry ("a,,b", "a,").
bool split_list(std::string_view text, std::vector<std::string>& out);

}  // namespace ringshard::server::options_detail
