#pragma once

// Random tokens, their digests and comparisons that take the same time
// wherever two secrets differ. The authorization server hands out codes,
// refresh tokens and client secrets from `random_token`, and stores only
// `token_hash` of each, so a copy of its database lets no one use them.

#include <cstddef>
#include <string>
#include <string_view>

namespace sb::auth {

/// Bytes of randomness in a token handed to a client: 256 bits.
inline constexpr size_t default_token_bytes = 32;

/// The base64url text of `n_bytes` bytes from OpenSSL's random generator
/// (`RAND_bytes`). Throws `std::runtime_error` only if the generator fails,
/// which OpenSSL reports when it cannot seed itself; no token is better
/// than a guessable one.
std::string random_token(size_t n_bytes = default_token_bytes);

/// The SHA-256 digest of `data`: 32 raw bytes.
std::string sha256(std::string_view data);

/// The form in which a token is stored and looked up: the base64url text
/// of its SHA-256 digest, 43 characters. Tokens carry 256 random bits, so
/// an unsalted fast hash is enough to make a stored hash useless.
std::string token_hash(std::string_view token);

/// Whether `a` and `b` hold the same bytes, in time that depends on their
/// lengths only (`CRYPTO_memcmp`). The lengths are not secret: a hash or a
/// token of a known format has a fixed one.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace sb::auth
