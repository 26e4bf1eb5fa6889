#pragma once

// A small blocking HTTP/1.1 client for calls from our server to another one:
// the token exchange and the user lookup of an OAuth login, say.
//
// `http_fetch` sends one request on a connection of its own and blocks until
// the response has arrived, the deadline has passed or something failed.
// Actors must not call it on a scheduler thread; they run it on a detached
// actor:
//
//   fetch_request req;
//   req.method = "POST";
//   req.url = "https://github.com/login/oauth/access_token";
//   req.headers = {{"Accept", "application/json"},
//                  {"Content-Type", "application/x-www-form-urlencoded"}};
//   req.body = form_encode({{"client_id", id}, {"code", code}});
//   auto res = http_fetch(req);
//   if (!res.ok())
//     log->warn("token exchange failed: {}", res.error);
//
// Every call is bounded: one deadline covers name lookup, connect, TLS
// handshake, writing and reading; the response header and body have size
// limits, and a body over its limit is an error, never cut short. Redirects
// are not followed: a 3xx comes back as it is. HTTPS verifies the peer
// against the system's CA store (plus an optional CA file) and checks that
// the certificate names the host of the URL.
//
// Plain C++ in this header: no Beast, Asio or OpenSSL.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::modules {

/// Header or form fields in order, duplicates allowed. The same type as
/// `sb::field_list`.
using fetch_fields = std::vector<std::pair<std::string, std::string>>;

/// The parts of an `http://` or `https://` URL.
struct fetch_url {
  /// `http` or `https`, in lower case.
  std::string scheme;
  /// Host name in lower case, or an IP address; an IPv6 address without its
  /// brackets.
  std::string host;
  /// The port given in the URL, else 80 or 443.
  uint16_t port = 0;
  /// Path and query as given, `/` when the URL has no path.
  std::string target;

  /// Whether `host` is an IPv6 address.
  bool ipv6() const noexcept { return host.find(':') != std::string::npos; }

  /// The host as a URL or `Host` field writes it: in brackets for IPv6, with
  /// `:port` unless the port is the scheme's default.
  std::string authority() const;
};

/// Splits `url` into its parts. Accepts `http` and `https` (any case), a
/// host name, an IPv4 address or an IPv6 address in brackets, an optional
/// port from 1 to 65535, and a path and query of visible ASCII characters.
/// Refuses user info (`user@host`), fragments (`#x`), other schemes, and
/// characters that must be percent-encoded. Returns nothing on failure, with
/// a message for people in `error`.
std::optional<fetch_url> parse_fetch_url(std::string_view url,
                                         std::string& error);

/// One request.
struct fetch_request {
  /// A token such as `GET` or `POST`.
  std::string method = "GET";
  /// Where to send it; see `parse_fetch_url`.
  std::string url;
  /// Fields beyond `Host`, `User-Agent: switchboard`, `Content-Length` and
  /// `Connection: close`, which the client writes itself. A `User-Agent`
  /// given here replaces the default; the others must not be given.
  /// Values must not contain CR, LF or other control characters but HTAB.
  fetch_fields headers;
  /// Sent as is, with its `Content-Length`.
  std::string body;
};

/// Limits and trust of one request.
struct fetch_options {
  /// Time for the whole exchange: name lookup, connect, TLS handshake,
  /// writing the request and reading the response.
  uint32_t timeout_ms = 10000;
  /// Bytes of the response body at most; a longer body is an error.
  size_t max_body = 1 << 20;
  /// Bytes of the status line and header fields at most.
  size_t max_header = 32 * 1024;
  /// A PEM file of CA certificates trusted besides the system's; for tests
  /// and private providers. Empty for none.
  std::string ca_file;
};

/// Why a request got no response.
enum class fetch_error : uint8_t {
  none,
  /// The URL, method or a header field is not acceptable; nothing was sent.
  bad_request,
  /// The host name did not resolve.
  dns,
  /// No connection to any address of the host.
  connect,
  /// The TLS handshake failed, or the peer's certificate was refused.
  tls,
  /// The deadline passed.
  timeout,
  /// The response header or body exceeded its limit.
  too_large,
  /// The response is not valid HTTP/1.1.
  malformed,
  /// The connection failed or closed before the response was complete.
  io,
};

/// The enumerator's name, e.g. `timeout`.
std::string to_string(fetch_error x);

/// A response, or why there is none.
struct fetch_result {
  /// `fetch_error::none` when a response arrived.
  fetch_error code = fetch_error::none;
  /// A message for people naming the host and what failed; empty on
  /// success.
  std::string error;
  /// Status code of the final response; 3xx included, since redirects are
  /// not followed.
  int status = 0;
  /// Header fields in order of arrival, names in lower case.
  fetch_fields headers;
  std::string body;

  /// Whether a response arrived, whatever its status.
  bool ok() const noexcept { return code == fetch_error::none; }

  /// The value of the first field named `name` (lower case), or null.
  const std::string* header(std::string_view name) const noexcept;
};

/// Sends `req` and blocks until the response or an error; at most about
/// `opts.timeout_ms`. Never throws but for out-of-memory. Thread-safe: each
/// call has its own connection and I/O context.
fetch_result http_fetch(const fetch_request& req,
                        const fetch_options& opts = {});

/// Encodes `fields` as `application/x-www-form-urlencoded`: `name=value`
/// joined by `&`, a space as `+`, and every byte but ASCII letters, digits
/// and `*-._` as `%XX`. Serves for URL query strings as well.
std::string form_encode(const fetch_fields& fields);

/// Decodes `%XX` escapes in `str`, and `+` as a space if `plus_as_space`.
/// Returns nothing when a `%` is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view str,
                                          bool plus_as_space = false);

/// Decodes `application/x-www-form-urlencoded` text: split at `&` (empty
/// parts skipped), then at the first `=`; a part without `=` has an empty
/// value. Returns nothing on malformed percent encoding.
std::optional<fetch_fields> form_decode(std::string_view text);

} // namespace sb::modules
