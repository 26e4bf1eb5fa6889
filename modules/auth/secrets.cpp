#include "modules/auth/secrets.hpp"

#include <algorithm>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "modules/auth/base64url.hpp"

namespace sb::auth {

std::string random_token(size_t n_bytes) {
  // RAND_bytes takes an int: fill large requests in pieces.
  constexpr size_t max_piece = 1 << 20;
  std::string bytes(n_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(bytes.data());
  for (size_t done = 0; done < n_bytes;) {
    auto piece = std::min(n_bytes - done, max_piece);
    if (RAND_bytes(out + done, static_cast<int>(piece)) != 1) {
      ERR_clear_error();
      throw std::runtime_error("OpenSSL's random generator failed");
    }
    done += piece;
  }
  auto token = base64url_encode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

std::string sha256(std::string_view data) {
  std::string digest(32, '\0');
  unsigned int size = 0;
  // EVP_Digest fails only without memory or without a SHA-256 provider.
  if (EVP_Digest(data.data(), data.size(),
                 reinterpret_cast<unsigned char*>(digest.data()), &size,
                 EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL failed to compute SHA-256");
  }
  return digest;
}

std::string token_hash(std::string_view token) {
  return base64url_encode(sha256(token));
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace sb::auth
