#include "actors/tls_error_queue.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

/// The libssl definition of `name`, which ours hide.
template <class Fn>
Fn next_definition(const char* name) {
  auto ptr = dlvsym(RTLD_NEXT, name, "OPENSSL_3.0.0");
  if (ptr == nullptr)
    ptr = dlsym(RTLD_NEXT, name);
  if (ptr == nullptr)
    std::abort(); // libssl is linked; this cannot happen.
  return reinterpret_cast<Fn>(ptr);
}

/// Empties the thread's error queue if an earlier call left errors there.
inline void drop_stale_errors() noexcept {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) int SSL_read(SSL* ssl, void* buf,
                                                    int num) {
  static const auto next =
    next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  drop_stale_errors();
  return next(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_write(SSL* ssl, const void* buf,
                                                     int num) {
  static const auto next =
    next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  drop_stale_errors();
  return next(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_accept(SSL* ssl) {
  static const auto next = next_definition<int (*)(SSL*)>("SSL_accept");
  drop_stale_errors();
  return next(ssl);
}

__attribute__((visibility("default"))) int SSL_connect(SSL* ssl) {
  static const auto next = next_definition<int (*)(SSL*)>("SSL_connect");
  drop_stale_errors();
  return next(ssl);
}

} // extern "C"

namespace sb {

bool tls_error_queue_guard_active() noexcept {
  auto ours = [](const char* name, void* fn) {
    return dlsym(RTLD_DEFAULT, name) == fn;
  };
  return ours("SSL_read", reinterpret_cast<void*>(&SSL_read)) &&
         ours("SSL_write", reinterpret_cast<void*>(&SSL_write));
}

} // namespace sb
