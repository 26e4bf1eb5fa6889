#pragma once

// The texts of OAuth that the auth module reads and writes: redirect URIs
// and their matching, scopes, forms, cookies, HTTP Basic credentials and
// small HTML pages. Plain functions, no actor.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::modules::auth {

/// An absolute URI split as far as the auth module needs it.
struct uri_parts {
  /// In lower case.
  std::string scheme;
  /// Host of an `http` or `https` URI, brackets kept for IPv6, lower case.
  std::string host;
  /// The port as written; empty when the URI names none.
  std::string port;
  /// Everything after the authority (or after the scheme's colon for other
  /// schemes): path and query.
  std::string rest;
};

/// Splits `uri`, or nothing if it is not an absolute URI of visible ASCII
/// without a fragment, user info or an empty host.
std::optional<uri_parts> parse_uri(std::string_view uri);

/// Whether `host` (as in `uri_parts`) is 127.0.0.1, [::1] or localhost.
bool is_loopback_host(const std::string& host);

/// Why `uri` may not be a redirect URI, or an empty string: it must be an
/// absolute URI of at most 2 KiB without a fragment, and either https,
/// http to a loopback host, or a private-use scheme with a dot in it
/// (`com.example.app:/cb`).
std::string redirect_uri_problem(std::string_view uri);

/// Whether the redirect URI `given` matches `registered`: equal, or both
/// http to the same loopback host with the same path and query, where the
/// port may differ (RFC 8252 section 7.3).
bool redirect_uri_matches(const std::string& registered,
                          const std::string& given);

/// `uri` with `fields` appended to its query.
std::string
with_query(const std::string& uri,
           const std::vector<std::pair<std::string, std::string>>& fields);

/// The scopes of a space-separated scope string, or nothing if one holds a
/// character that RFC 6749 section 3.3 forbids. Duplicates are dropped.
std::optional<std::vector<std::string>> split_scope(std::string_view text);

/// The scopes joined by spaces.
std::string join_scope(const std::vector<std::string>& scopes);

/// The value of cookie `name` in a `Cookie` header, or an empty string.
std::string cookie_value(const std::string& header, std::string_view name);

/// The client ID and secret of an `Authorization: Basic` value (RFC 6749
/// section 2.3.1: form-encoded, then base64), or nothing.
std::optional<std::pair<std::string, std::string>>
basic_credentials(const std::string& authorization);

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML.
std::string html_escape(std::string_view text);

/// A small HTML page with a title and one paragraph.
std::string html_page(const std::string& title, const std::string& text);

/// Number of code points in `str`, which should be UTF-8.
size_t count_chars(std::string_view str);

} // namespace sb::modules::auth
