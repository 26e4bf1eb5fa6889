#include "modules/auth/signing_key.hpp"

#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "modules/auth/ec_key.hpp"

namespace sb::auth {

using detail::error_queue_scrub;
using detail::p256_bytes;

namespace {

/// More than any PEM private key on P-256 needs, with room for comments.
constexpr size_t max_pem_bytes = 16 * 1024;

struct bio_free {
  void operator()(BIO* ptr) const noexcept { BIO_free(ptr); }
};

struct ecdsa_sig_free {
  void operator()(ECDSA_SIG* ptr) const noexcept { ECDSA_SIG_free(ptr); }
};

struct md_ctx_free {
  void operator()(EVP_MD_CTX* ptr) const noexcept { EVP_MD_CTX_free(ptr); }
};

/// Refuses encrypted keys instead of asking for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

/// The raw JWS form r || s of a DER-encoded ECDSA signature, or an empty
/// string.
std::string der_to_raw(const unsigned char* der, size_t size) {
  auto* pos = der;
  std::unique_ptr<ECDSA_SIG, ecdsa_sig_free> sig{
    d2i_ECDSA_SIG(nullptr, &pos, static_cast<long>(size))};
  if (!sig)
    return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  // Each number left-padded to 32 bytes: DER drops leading zeros.
  std::string raw(2 * p256_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, p256_bytes) != static_cast<int>(p256_bytes) ||
      BN_bn2binpad(s, out + p256_bytes, p256_bytes) !=
        static_cast<int>(p256_bytes))
    return {};
  return raw;
}

} // namespace

signing_key::signing_key(std::shared_ptr<const detail::ec_key> key,
                         public_key pub)
    : key_(std::move(key))
    , public_(std::move(pub)) {
  // nop
}

std::optional<signing_key>
signing_key::with_public_part(std::shared_ptr<const detail::ec_key> key,
                              std::string& why) {
  // A key of its own, so that a verifier keeps no private key alive.
  std::shared_ptr<const detail::ec_key> pub;
  auto err = detail::make_ec_key(detail::public_key_from_point(key->x, key->y),
                                 false, pub);
  if (!err.empty()) {
    why = "OpenSSL failed to copy the public key: " + err;
    return std::nullopt;
  }
  return signing_key{std::move(key), public_key{std::move(pub)}};
}

signing_key signing_key::generate() {
  error_queue_scrub scrub;
  detail::pkey_ptr pkey{EVP_EC_gen(SN_X9_62_prime256v1)};
  if (!pkey)
    throw std::runtime_error("OpenSSL failed to generate a P-256 key: " +
                             detail::openssl_reason("no key"));
  std::shared_ptr<const detail::ec_key> key;
  auto why = detail::make_ec_key(std::move(pkey), true, key);
  if (why.empty())
    if (auto result = with_public_part(std::move(key), why))
      return std::move(*result);
  throw std::runtime_error("OpenSSL made an unusable P-256 key: " + why);
}

std::optional<signing_key> signing_key::from_pem(std::string_view pem,
                                                 std::string& why) {
  error_queue_scrub scrub;
  if (pem.size() > max_pem_bytes) {
    why = "the PEM text is longer than 16 KiB";
    return std::nullopt;
  }

  // Read through a BIO that wipes its copy of the secret when freed.
  std::unique_ptr<BIO, bio_free> bio{BIO_new(BIO_s_secmem())};
  if (!bio || (!pem.empty() &&
               BIO_write(bio.get(), pem.data(), static_cast<int>(pem.size())) !=
                 static_cast<int>(pem.size()))) {
    why = "OpenSSL failed: " + detail::openssl_reason("no memory");
    return std::nullopt;
  }
  detail::pkey_ptr pkey{
    PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  if (!pkey) {
    why = "not an unencrypted PEM private key: " +
          detail::openssl_reason("no key found");
    return std::nullopt;
  }

  std::shared_ptr<const detail::ec_key> key;
  if (auto err = detail::make_ec_key(std::move(pkey), true, key);
      !err.empty()) {
    why = std::move(err);
    return std::nullopt;
  }
  return with_public_part(std::move(key), why);
}

std::string signing_key::to_pem() const {
  error_queue_scrub scrub;
  std::unique_ptr<BIO, bio_free> bio{BIO_new(BIO_s_secmem())};
  // PEM_write_bio_PrivateKey writes PKCS#8 (`BEGIN PRIVATE KEY`).
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_->pkey.get(), nullptr,
                                       nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("OpenSSL failed to write the key: " +
                             detail::openssl_reason("no memory"));
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

const std::string& signing_key::kid() const noexcept {
  return key_->kid;
}

const public_key& signing_key::public_part() const noexcept {
  return public_;
}

nlohmann::ordered_json signing_key::public_jwk() const {
  return public_.jwk();
}

std::string signing_key::sign(std::string_view data) const {
  error_queue_scrub scrub;
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
  // OpenSSL signs in DER, at most 72 bytes for P-256.
  unsigned char der[80];
  size_t size = sizeof(der);
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), der, &size,
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return {};
  return der_to_raw(der, size);
}

} // namespace sb::auth
