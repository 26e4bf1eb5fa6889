#pragma once

// Access tokens as JWTs signed with ES256 (RFC 7519, RFC 7515, RFC 9068).
// The authorization server signs with its current `signing_key`; whoever
// checks a token finds the public key by the token's `kid`, so keys can
// rotate while tokens signed with the previous one are still valid.
//
// `verify_jwt` trusts nothing in the token before its signature: it reads
// the header for `alg` and `kid` only, accepts ES256 alone (never `none`,
// never an HMAC keyed with a public key), and parses the claims after the
// signature holds. It takes the time as a parameter, so tests can run a
// clock of their own.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "modules/auth/public_key.hpp"
#include "modules/auth/signing_key.hpp"

namespace sb::auth {

/// Longest token that `verify_jwt` reads; longer ones fail unread.
inline constexpr size_t max_jwt_bytes = 8 * 1024;

/// Deepest nesting of arrays and objects in a token's header or claims,
/// the outermost object included.
inline constexpr size_t max_jwt_depth = 8;

/// The `typ` of an access token (RFC 9068 section 2.1).
inline constexpr std::string_view access_token_type = "at+jwt";

/// Why a token failed.
enum class jwt_error {
  /// The token is valid.
  none,
  /// The verifier itself lacks an issuer, an audience or the time.
  bad_expectations,
  /// Longer than `max_jwt_bytes`.
  too_large,
  /// Not three base64url parts with a JSON object as header, JSON nested
  /// too deep, or a header that names extensions (`crit`).
  malformed,
  /// An `alg` other than ES256, including "none" and "HS256".
  unsupported_alg,
  /// A `typ` other than the expected one.
  wrong_type,
  /// No `kid`, or one that names no known key.
  unknown_key,
  /// The signature is not 64 bytes or does not match.
  bad_signature,
  /// Claims that are not an object, or a registered claim of the wrong
  /// type; `exp` missing.
  invalid_claims,
  /// `exp` has passed, leeway included.
  expired,
  /// `nbf` or `iat` lies in the future beyond the leeway.
  not_yet_valid,
  /// `iss` is missing or not the expected issuer.
  wrong_issuer,
  /// `aud` is missing or does not contain the expected audience.
  wrong_audience,
};

/// The name of `x`, e.g. "bad_signature".
const char* to_string(jwt_error x) noexcept;

/// What a valid token must say, and when it is checked.
struct jwt_expectations {
  /// The `iss` a token must carry; required.
  std::string issuer;
  /// An audience that `aud` must name, alone or in its array; required.
  std::string audience;
  /// The current time in seconds since the epoch; required (a negative
  /// value fails every token).
  int64_t now = -1;
  /// Seconds by which clocks may disagree, allowed on `exp`, `nbf` and
  /// `iat`. A negative value counts as zero.
  int64_t leeway = 60;
  /// The `typ` the header must carry, compared without case and with an
  /// optional "application/" prefix; empty to accept any or none.
  std::string type = std::string{access_token_type};
};

/// The outcome of `verify_jwt`: the claims, or why the token failed.
struct jwt_result {
  jwt_error error = jwt_error::none;
  /// What failed, for the log; empty for a valid token. Holds nothing of
  /// the token but a kid that has the form of a thumbprint.
  std::string message;
  /// The claims of a valid token; null otherwise.
  nlohmann::ordered_json claims;

  /// Whether the token is valid.
  explicit operator bool() const noexcept { return error == jwt_error::none; }
};

/// Finds the public key with ID `kid`, or nothing.
using key_lookup =
  std::function<std::optional<public_key>(const std::string& kid)>;

/// The compact JWS of `claims` signed with `key`, with the header
/// `{"alg":"ES256","typ":type,"kid":key.kid()}`. Returns nothing if
/// `claims` is not a JSON object, nests deeper than `max_jwt_depth`, makes
/// a token longer than `max_jwt_bytes`, or if OpenSSL fails: a token that
/// `verify_jwt` would refuse never goes out. Strings with bad UTF-8 are
/// repaired with U+FFFD. Never throws.
std::optional<std::string> sign_jwt(const signing_key& key,
                                    const nlohmann::ordered_json& claims,
                                    std::string_view type = access_token_type);

/// Checks `token`, in this order: length, form, header (`alg` ES256 only,
/// no `crit`, `typ`), the key `keys` finds for its `kid`, the signature,
/// then the claims: `exp` required and `now < exp + leeway`; `nbf` and
/// `iat`, when present, at most `now + leeway`; `iss` equal to the
/// expected issuer; `aud` equal to the expected audience or an array of
/// strings that contains it. Returns the claims, or the first failure.
/// Never throws, whatever the token holds; an exception from `keys` fails
/// the token.
jwt_result verify_jwt(std::string_view token, const key_lookup& keys,
                      const jwt_expectations& expect);

} // namespace sb::auth
