#pragma once

// What `signing_key` and `public_key` share: an OpenSSL key on P-256 with
// the parts of its public JWK computed once. Only the sources of
// switchboard_auth_crypto include this header; the public headers name
// `detail::ec_key` without its definition, so no OpenSSL header reaches the
// code that uses them.
//
// Every function of the library that calls OpenSSL leaves the thread's
// error queue empty when it returns (`error_queue_scrub`): the node's TLS
// connections share threads with the actors that verify tokens, and a stale
// error there fails a healthy connection (see actors/tls_error_queue.hpp).

#include <memory>
#include <string>
#include <string_view>

#include <openssl/err.h>
#include <openssl/evp.h>

namespace sb::auth::detail {

/// Size of a P-256 coordinate, a private scalar, and each half of a raw
/// ES256 signature.
inline constexpr size_t p256_bytes = 32;

struct pkey_free {
  void operator()(EVP_PKEY* ptr) const noexcept { EVP_PKEY_free(ptr); }
};

/// An owned OpenSSL key.
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

/// A P-256 key, private or public only, with its public JWK members.
struct ec_key {
  pkey_ptr pkey;
  /// The affine coordinates, 32 bytes each, big-endian, left-padded.
  std::string x;
  std::string y;
  /// A public-only P-256 key with the raw 32-byte coordinates `x` and `y`,
  /// or an empty pointer if they are not a point on the curve.
  pkey_ptr public_key_from_point(const std::string& x, const std::string& y);

  /// The RFC 7638 thumbprint: base64url SHA-256 of the canonical JWK.
  std::string kid;
};

/// Wraps `pkey` after checking that it is a valid key on P-256 (a private
/// key must also match its public point). Returns what is wrong, or an
/// empty string and sets `out`.
std::string make_ec_key(pkey_ptr pkey, bool is_private,
                        std::shared_ptr<const ec_key>& out);

/// A public-only P-256 key with the raw 32-byte coordinates `x` and `y`,
/// or an empty pointer if they are not a point on the curve.
pkey_ptr public_key_from_point(const std::string& x, const std::string& y);

/// The RFC 7638 thumbprint of the P-256 point (`x`, `y`), given as raw
/// 32-byte coordinates.
std::string thumbprint(std::string_view x, std::string_view y);

/// The reason of the oldest error OpenSSL queued, or `fallback`.
std::string openssl_reason(const char* fallback);

/// Empties the thread's OpenSSL error queue when it goes out of scope.
class error_queue_scrub {
public:
  error_queue_scrub() = default;
  error_queue_scrub(const error_queue_scrub&) = delete;
  error_queue_scrub& operator=(const error_queue_scrub&) = delete;
  ~error_queue_scrub() { ERR_clear_error(); }
};

} // namespace sb::auth::detail
