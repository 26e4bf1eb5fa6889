#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb {

/// Error codes of the node. Actors carry them inside `caf::error` (category
/// `error_category`); the protocol handlers map them to HTTP statuses or
/// JSON-RPC codes in exactly one place each. The numeric values cross the
/// network, so only append new codes.
enum class errc : uint8_t {
  none = 0,
  /// The request is malformed (bad percent encoding, bad JSON, ...).
  bad_request,
  /// No endpoint matches the path.
  no_route,
  /// The path matches, the method does not; the detail lists the allowed
  /// methods, comma-separated.
  method_not_allowed,
  /// An endpoint registration clashes with one that exists.
  conflict,
  /// The owner of the endpoint went down while the request waited.
  owner_down,
  /// The owner did not answer in time.
  timeout,
  /// Too many requests are waiting; try again later.
  overloaded,
  /// The endpoint requires auth and no auth service runs.
  auth_unavailable,
  /// The request body exceeds the configured limit.
  payload_too_large,
  /// The request-target exceeds the configured limit.
  uri_too_long,
  /// The request header exceeds the configured limit.
  header_too_large,
  /// An endpoint description is invalid (bad pattern, unknown method).
  invalid_endpoint,
  /// No module of that name runs on this node.
  unknown_module,
  /// The node is not ready to serve this request (starting or stopping).
  unavailable,
  /// A bug or unexpected failure inside the node.
  internal,
  /// The request did not arrive in time.
  request_timeout,
  /// A node of another wire version tried to join.
  version_mismatch,
  /// The request needs a valid token and has none.
  unauthorized,
  /// The token lacks a scope that the request needs.
  forbidden,
};

/// Stable, lowercase string for `x`, as used in JSON error bodies.
const char* to_code(errc x) noexcept;

/// Same as `to_code`, for printing and logging.
std::string to_string(errc x);

/// HTTP status for `x`.
uint16_t to_http_status(errc x) noexcept;

} // namespace sb

namespace sb {

/// JSON body of an error response:
/// `{"error":{"code":"<code>","message":"<message>"}}`.
std::string error_body(const char* code, const std::string& message);

/// Appends `str` to `out` as a JSON string literal, quotes included, with
/// the short escapes where JSON has them. Bytes that are not valid UTF-8
/// become `\ufffd`, so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view str);

/// Length of the valid UTF-8 sequence that starts at `p` (RFC 3629: no
/// overlong forms, no surrogates, nothing past U+10FFFF), or 0 if none
/// does; `end` ends the text.
size_t utf8_sequence_length(const unsigned char* p,
                            const unsigned char* end) noexcept;

} // namespace sb
