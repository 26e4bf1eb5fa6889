#pragma once

// Proof Key for Code Exchange (RFC 7636), as OAuth 2.1 requires of every
// authorization code flow. The client sends a challenge with the
// authorization request and the verifier with the token request; only
// the S256 method is supported, since "plain" proves nothing to someone
// who saw the first request.

#include <string>
#include <string_view>

namespace sb::auth {

/// Whether `verifier` is a code_verifier that RFC 7636 section 4.1 allows:
/// 43 to 128 characters from `[A-Za-z0-9-._~]`.
bool valid_code_verifier(std::string_view verifier) noexcept;

/// Whether `challenge` has the form of an S256 code_challenge: the
/// base64url text of 32 bytes, 43 characters, no padding.
bool valid_code_challenge(std::string_view challenge) noexcept;

/// The S256 code_challenge of `verifier`: base64url of its SHA-256.
std::string pkce_s256_challenge(std::string_view verifier);

/// Whether `verifier` is valid and its S256 challenge is `challenge`,
/// which must be valid too; compared in constant time. Never throws.
bool pkce_s256_matches(std::string_view verifier,
                       std::string_view challenge) noexcept;

} // namespace sb::auth
