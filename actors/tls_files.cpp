#include "actors/tls_files.hpp"

#include <cstdio>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace sb {

namespace {

/// The reason of the last OpenSSL failure, or `fallback`.
std::string openssl_reason(const char* fallback) {
  auto code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0)
    return fallback;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

/// Refuses encrypted keys instead of asking for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

} // namespace

std::string check_tls_files(const tls_config& tls) {
  if (!tls.enabled())
    return {};
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "cluster.tls: OpenSSL failed: " + openssl_reason("no context");
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) !=
      1)
    return "cluster.tls.certificate: cannot use '" + tls.certificate +
           "': " + openssl_reason("not a PEM certificate");
  // Read the key on its own first, so that a key that does not match the
  // certificate is told apart from one that cannot be read.
  std::unique_ptr<FILE, decltype(&std::fclose)> file{
    std::fopen(tls.key.c_str(), "r"), std::fclose};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    file ? PEM_read_PrivateKey(file.get(), nullptr, no_passphrase, nullptr)
         : nullptr,
    EVP_PKEY_free};
  if (!key)
    return "cluster.tls.key: cannot use '" + tls.key +
           "' (it must be an unencrypted PEM key): " +
           openssl_reason("not a PEM key");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "cluster.tls.key: '" + tls.key + "' does not belong to '" +
           tls.certificate + "'";
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return "cluster.tls.ca: cannot use '" + tls.ca +
           "': " + openssl_reason("no PEM certificates");
  // Other nodes check our certificate against the same CA; so do we, now.
  auto cert = SSL_CTX_get0_certificate(ctx.get());
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!verify ||
      X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()), cert,
                          chain) != 1)
    return "cluster.tls: OpenSSL failed: " + openssl_reason("no store");
  // A node is a TLS client when it joins and a server when others join it:
  // the certificate must serve both (extended key usage, if set, must list
  // clientAuth and serverAuth).
  for (auto purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER}) {
    if (X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()),
                            cert, chain) != 1)
      return "cluster.tls: OpenSSL failed: " + openssl_reason("no store");
    X509_STORE_CTX_set_purpose(verify.get(), purpose);
    if (X509_verify_cert(verify.get()) != 1)
      return "cluster.tls.certificate: '" + tls.certificate +
             "' does not verify against '" + tls.ca + "' as a " +
             (purpose == X509_PURPOSE_SSL_CLIENT ? "client" : "server") +
             " certificate: " +
             X509_verify_cert_error_string(
               X509_STORE_CTX_get_error(verify.get()));
    X509_STORE_CTX_cleanup(verify.get());
  }
  ERR_clear_error();
  return {};
}

} // namespace sb
