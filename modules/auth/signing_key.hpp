#pragma once

// The authorization server's ES256 key (ECDSA on P-256 with SHA-256). It
// signs access tokens; its public half goes out as a JWK, named by a kid
// that is the key's RFC 7638 thumbprint, so that keys can rotate and a
// verifier finds the one that signed a token. The key persists as PKCS#8
// PEM, and a key loaded back has the same kid.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "modules/auth/public_key.hpp"

namespace sb::auth {

/// A P-256 private key. Copies share one immutable OpenSSL key, so a copy
/// is cheap and copies may sign on several threads at once.
class signing_key {
public:
  /// A fresh key from OpenSSL's random generator. Throws
  /// `std::runtime_error` only if OpenSSL fails to make one.
  static signing_key generate();

  /// Reads an unencrypted PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`)
  /// or SEC1 (`BEGIN EC PRIVATE KEY`). Refuses keys that are not on
  /// P-256 (RSA, Ed25519, secp256k1, P-384, ...), encrypted keys (instead
  /// of asking for a passphrase), and keys whose public point does not
  /// belong to their private scalar. Returns the key, or nothing and sets
  /// `why`; no input makes it throw.
  static std::optional<signing_key> from_pem(std::string_view pem,
                                             std::string& why);

  /// The key as unencrypted PKCS#8 PEM. This is the secret itself: store it
  /// with the permissions of one, and never log it. Throws
  /// `std::runtime_error` only if OpenSSL fails to write it.
  std::string to_pem() const;

  /// The key's ID: its RFC 7638 JWK thumbprint.
  const std::string& kid() const noexcept;

  /// The public half, for verifying. It holds no copy of the private key.
  const public_key& public_part() const noexcept;

  /// The public JWK to publish; see `public_key::jwk`.
  nlohmann::ordered_json public_jwk() const;

  /// The ES256 signature of `data` in JWS form: r and s, 32 big-endian
  /// bytes each. Returns an empty string only if OpenSSL fails.
  std::string sign(std::string_view data) const;

private:
  signing_key(std::shared_ptr<const detail::ec_key> key, public_key pub);

  /// The key `key`, checked to be a private key on P-256, with a public
  /// part of its own; or nothing if OpenSSL fails to make that, and `why`.
  static std::optional<signing_key>
  with_public_part(std::shared_ptr<const detail::ec_key> key, std::string& why);

  std::shared_ptr<const detail::ec_key> key_;
  public_key public_;
};

} // namespace sb::auth
