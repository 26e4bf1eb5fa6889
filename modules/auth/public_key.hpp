#pragma once

// The public half of an ES256 key: what a resource server holds to check
// access tokens, built from a `signing_key` or from a JWK that the
// authorization server published at its JWKS endpoint.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sb::auth {

namespace detail {
struct ec_key;
} // namespace detail

/// A P-256 public key that checks ES256 signatures. Copies share one
/// immutable OpenSSL key, so a copy is cheap and copies may verify on
/// several threads at once.
class public_key {
public:
  /// Reads a public JWK (RFC 7517, RFC 7518 section 6.2): `kty` "EC",
  /// `crv` "P-256", and `x` and `y` as the base64url of 32 bytes each,
  /// naming a point on the curve. `use` and `alg`, when present, must be
  /// "sig" and "ES256"; `kid`, when present, must be the key's RFC 7638
  /// thumbprint, the only kid this library gives a key. A JWK with a
  /// private part (`d`) is refused: it should never have been published.
  /// Returns the key, or nothing and sets `why`; no input makes it throw.
  static std::optional<public_key> from_jwk(const nlohmann::ordered_json& jwk,
                                            std::string& why);

  /// The key's ID: its RFC 7638 JWK thumbprint.
  const std::string& kid() const noexcept;

  /// The JWK to publish: `{"kty":"EC","crv":"P-256","x":..,"y":..,
  /// "kid":..,"use":"sig","alg":"ES256"}`.
  nlohmann::ordered_json jwk() const;

  /// Whether `signature` is a valid ES256 signature of `data`. The
  /// signature must be the 64 bytes of JWS (RFC 7518 section 3.4): r and s,
  /// 32 big-endian bytes each. A DER-encoded signature, or any other
  /// length, fails. No input makes it throw.
  bool verify(std::string_view data, std::string_view signature) const;

private:
  friend class signing_key;

  explicit public_key(std::shared_ptr<const detail::ec_key> key);

  std::shared_ptr<const detail::ec_key> key_;
};

} // namespace sb::auth
