#include "modules/auth/pkce.hpp"

#include "modules/auth/base64url.hpp"
#include "modules/auth/secrets.hpp"

namespace sb::auth {

namespace {

/// The unreserved characters of RFC 3986 that a verifier is made of.
bool unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

} // namespace

bool valid_code_verifier(std::string_view verifier) noexcept {
  if (verifier.size() < 43 || verifier.size() > 128)
    return false;
  for (auto c : verifier)
    if (!unreserved(c))
      return false;
  return true;
}

bool valid_code_challenge(std::string_view challenge) noexcept {
  if (challenge.size() != 43)
    return false;
  try {
    auto bytes = base64url_decode(challenge);
    return bytes && bytes->size() == 32;
  } catch (...) {
    return false;
  }
}

std::string pkce_s256_challenge(std::string_view verifier) {
  return base64url_encode(sha256(verifier));
}

bool pkce_s256_matches(std::string_view verifier,
                       std::string_view challenge) noexcept {
  if (!valid_code_verifier(verifier) || !valid_code_challenge(challenge))
    return false;
  try {
    return constant_time_equal(pkce_s256_challenge(verifier), challenge);
  } catch (...) {
    return false;
  }
}

} // namespace sb::auth
