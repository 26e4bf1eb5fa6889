#include "modules/auth/ec_key.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "modules/auth/base64url.hpp"
#include "modules/auth/secrets.hpp"

namespace sb::auth::detail {

namespace {

struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* ptr) const noexcept { EVP_PKEY_CTX_free(ptr); }
};

struct param_bld_free {
  void operator()(OSSL_PARAM_BLD* ptr) const noexcept {
    OSSL_PARAM_BLD_free(ptr);
  }
};

struct params_free {
  void operator()(OSSL_PARAM* ptr) const noexcept { OSSL_PARAM_free(ptr); }
};

struct bn_free {
  void operator()(BIGNUM* ptr) const noexcept { BN_free(ptr); }
};

/// Whether `pkey` is an EC key on P-256, whatever name its encoding used.
bool on_p256(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
    return false;
  char name[64];
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                     sizeof(name), &len) != 1)
    return false;
  auto nid = OBJ_sn2nid(name);
  if (nid == NID_undef)
    nid = EC_curve_nist2nid(name);
  return nid == NID_X9_62_prime256v1;
}

/// The public coordinate `param` of `pkey` as 32 big-endian bytes, or an
/// empty string.
std::string coordinate(EVP_PKEY* pkey, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1)
    return {};
  std::unique_ptr<BIGNUM, bn_free> bn{raw};
  std::string out(p256_bytes, '\0');
  // BN_bn2binpad puts the leading zeros that a short coordinate needs.
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                   static_cast<int>(out.size())) !=
      static_cast<int>(out.size()))
    return {};
  return out;
}

} // namespace

std::string make_ec_key(pkey_ptr pkey, bool is_private,
                        std::shared_ptr<const ec_key>& out) {
  if (!pkey)
    return "no key";
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC)
    return "the key is not an EC key; ES256 needs one on P-256";
  if (!on_p256(pkey.get()))
    return "the key is on another curve than P-256";

  // The point must lie on the curve, and a private key must belong to it.
  std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx{
    EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr)};
  if (!ctx)
    return "OpenSSL failed: " + openssl_reason("no context");
  auto checked =
    is_private ? EVP_PKEY_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
  if (checked != 1)
    return "the key is not a valid P-256 key: " +
           openssl_reason("check failed");

  auto key = std::make_shared<ec_key>();
  key->x = coordinate(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  key->y = coordinate(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (key->x.empty() || key->y.empty())
    return "the key has no public point: " + openssl_reason("none");
  key->kid = thumbprint(key->x, key->y);
  key->pkey = std::move(pkey);
  out = std::move(key);
  return {};
}

pkey_ptr public_key_from_point(const std::string& x, const std::string& y) {
  // The uncompressed point: 0x04, x, y.
  std::string point = "\x04" + x + y;
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_free> bld{OSSL_PARAM_BLD_new()};
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      SN_X9_62_prime256v1, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1)
    return {};
  std::unique_ptr<OSSL_PARAM, params_free> params{
    OSSL_PARAM_BLD_to_param(bld.get())};
  std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx{
    EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) !=
        1)
    return {};
  return pkey_ptr{pkey};
}

std::string thumbprint(std::string_view x, std::string_view y) {
  // RFC 7638 section 3.2: the required members in lexicographic order, no
  // whitespace. Base64url needs no JSON escaping.
  std::string canonical = R"({"crv":"P-256","kty":"EC","x":")";
  canonical += base64url_encode(x);
  canonical += R"(","y":")";
  canonical += base64url_encode(y);
  canonical += R"("})";
  return base64url_encode(sha256(canonical));
}

std::string openssl_reason(const char* fallback) {
  auto code = ERR_peek_error();
  if (code == 0)
    return fallback;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

} // namespace sb::auth::detail
