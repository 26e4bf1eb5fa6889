#include "modules/auth/public_key.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "modules/auth/base64url.hpp"
#include "modules/auth/ec_key.hpp"

namespace sb::auth {

using detail::error_queue_scrub;
using detail::p256_bytes;

namespace {

struct ecdsa_sig_free {
  void operator()(ECDSA_SIG* ptr) const noexcept { ECDSA_SIG_free(ptr); }
};

struct md_ctx_free {
  void operator()(EVP_MD_CTX* ptr) const noexcept { EVP_MD_CTX_free(ptr); }
};

/// The DER encoding that OpenSSL verifies, of a raw JWS signature r || s;
/// an empty string if OpenSSL fails.
std::string raw_to_der(std::string_view raw) {
  std::unique_ptr<ECDSA_SIG, ecdsa_sig_free> sig{ECDSA_SIG_new()};
  if (!sig)
    return {};
  auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  auto* r = BN_bin2bn(bytes, p256_bytes, nullptr);
  auto* s = BN_bin2bn(bytes + p256_bytes, p256_bytes, nullptr);
  // On success ECDSA_SIG_set0 owns both numbers.
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  auto size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0)
    return {};
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size)
    return {};
  return der;
}

/// The member `name` of `jwk` if it is a string; `present` says whether
/// the member exists at all.
const std::string* string_member(const nlohmann::ordered_json& jwk,
                                 const char* name, bool& present) {
  auto i = jwk.find(name);
  present = i != jwk.end();
  return present && i->is_string() ? i->get_ptr<const std::string*>() : nullptr;
}

} // namespace

public_key::public_key(std::shared_ptr<const detail::ec_key> key)
    : key_(std::move(key)) {
  // nop
}

std::optional<public_key>
public_key::from_jwk(const nlohmann::ordered_json& jwk, std::string& why) {
  error_queue_scrub scrub;
  if (!jwk.is_object()) {
    why = "the JWK is not a JSON object";
    return std::nullopt;
  }

  // The members that say what kind of key this is.
  bool present = false;
  auto* kty = string_member(jwk, "kty", present);
  if (kty == nullptr || *kty != "EC") {
    why = "the JWK's kty is not \"EC\"";
    return std::nullopt;
  }
  auto* crv = string_member(jwk, "crv", present);
  if (crv == nullptr || *crv != "P-256") {
    why = "the JWK's crv is not \"P-256\"";
    return std::nullopt;
  }
  auto* use = string_member(jwk, "use", present);
  if (present && (use == nullptr || *use != "sig")) {
    why = "the JWK's use is not \"sig\"";
    return std::nullopt;
  }
  auto* alg = string_member(jwk, "alg", present);
  if (present && (alg == nullptr || *alg != "ES256")) {
    why = "the JWK's alg is not \"ES256\"";
    return std::nullopt;
  }
  if (jwk.contains("d")) {
    why = "the JWK holds a private key (d); publish only the public part";
    return std::nullopt;
  }

  // The point, from coordinates of exactly 32 bytes.
  std::optional<std::string> x;
  std::optional<std::string> y;
  if (auto* text = string_member(jwk, "x", present))
    x = base64url_decode(*text);
  if (auto* text = string_member(jwk, "y", present))
    y = base64url_decode(*text);
  if (!x || !y || x->size() != p256_bytes || y->size() != p256_bytes) {
    why = "the JWK's x and y are not the base64url of 32 bytes each";
    return std::nullopt;
  }
  auto pkey = detail::public_key_from_point(*x, *y);
  if (!pkey) {
    why = "the JWK's x and y are not a point on P-256";
    return std::nullopt;
  }
  std::shared_ptr<const detail::ec_key> key;
  if (auto err = detail::make_ec_key(std::move(pkey), false, key);
      !err.empty()) {
    why = "the JWK's x and y are not a point on P-256: " + err;
    return std::nullopt;
  }

  // A kid other than the thumbprint would let two names stand for one key.
  auto* kid = string_member(jwk, "kid", present);
  if (present && (kid == nullptr || *kid != key->kid)) {
    why = "the JWK's kid is not its RFC 7638 thumbprint " + key->kid;
    return std::nullopt;
  }
  return public_key{std::move(key)};
}

const std::string& public_key::kid() const noexcept {
  return key_->kid;
}

nlohmann::ordered_json public_key::jwk() const {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", base64url_encode(key_->x)},
          {"y", base64url_encode(key_->y)},
          {"kid", key_->kid},
          {"use", "sig"},
          {"alg", "ES256"}};
}

bool public_key::verify(std::string_view data,
                        std::string_view signature) const {
  error_queue_scrub scrub;
  if (signature.size() != 2 * p256_bytes)
    return false;
  auto der = raw_to_der(signature);
  if (der.empty())
    return false;
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                              key_->pkey.get()) == 1 &&
         EVP_DigestVerify(
           ctx.get(), reinterpret_cast<const unsigned char*>(der.data()),
           der.size(), reinterpret_cast<const unsigned char*>(data.data()),
           data.size()) == 1;
}

} // namespace sb::auth
