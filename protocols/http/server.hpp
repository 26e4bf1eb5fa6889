#pragma once

// The HTTP/1.1 I/O layer: Boost.Beast on Asio. This header includes no Beast,
// Asio or CAF header; the server hands each parsed request to a
// `request_dispatcher` and writes whatever comes back.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/dispatch.hpp"

namespace sb::http {

/// Limits and timeouts of the HTTP layer.
struct server_options {
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  /// Number of I/O threads.
  size_t threads = 1;
  /// Limit of the request line plus all header fields.
  size_t max_header_bytes = 16 * 1024;
  /// Limit of the request-target; below `max_header_bytes`, so that 414 and
  /// 431 are told apart.
  size_t max_target_bytes = 8 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  /// Time a client has to send a complete request once it started one.
  uint32_t read_timeout_ms = 10'000;
  /// Time a keep-alive connection may sit idle between requests.
  uint32_t idle_timeout_ms = 60'000;
  /// Requests of one connection that may wait for their response at once.
  size_t max_pipelined = 16;
  /// Connections served at once; further ones are closed after accept.
  size_t max_connections = 10'000;
  /// Listen backlog.
  int backlog = 1024;
  /// Bytes of a streamed response that may wait for a slow client; beyond
  /// that the connection closes.
  size_t max_stream_buffer_bytes = 4 * 1024 * 1024;
};

/// An HTTP/1.1 server. Create it, `start()` it, `stop()` it; the destructor
/// stops it as well.
class server {
public:
  server(server_options opts, std::shared_ptr<request_dispatcher> dispatcher);

  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads. Returns an empty string on
  /// success, else a message that says what failed.
  std::string start();

  /// Address the server listens on, e.g. `127.0.0.1:8080`; valid after a
  /// successful `start()`.
  std::string address() const;

  /// Port the server listens on; valid after a successful `start()`.
  uint16_t port() const;

  /// Stops accepting, lets requests in flight finish for at most
  /// `drain_ms`, closes every connection and joins the I/O threads.
  void stop(uint32_t drain_ms = 5'000);

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sb::http
