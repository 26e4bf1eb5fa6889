#pragma once

// A guard around CAF's use of OpenSSL. OpenSSL keeps one error queue per
// thread, and `SSL_get_error` reports a fatal error while the queue holds
// anything, whatever the call it is asked about did. CAF 0.17 never empties
// the queue (its only call that would sits inside a log statement, compiled
// out in Debian's build), and all its TLS connections share the middleman's
// thread. So one connection that ends in an error (a refused certificate, a
// port scan, a peer that closes without notice) makes the next read of a
// healthy connection fail, and that node connection drops.
//
// `tls_error_queue.cpp` defines `SSL_read`, `SSL_write`, `SSL_accept` and
// `SSL_connect` in our executable: the dynamic linker binds CAF's calls to
// them, they empty a stale queue, as OpenSSL's documentation asks of every
// caller, and hand over to libssl.

namespace sb {

/// Whether CAF's calls to OpenSSL reach the guard. The node refuses to use
/// TLS otherwise. Calling this also keeps the guard in the link.
bool tls_error_queue_guard_active() noexcept;

} // namespace sb
