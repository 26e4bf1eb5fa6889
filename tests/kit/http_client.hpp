#pragma once

// A small blocking HTTP/1.1 client over a plain socket, for tests: it sends
// exactly the bytes a test gives it, so malformed requests are easy, and it
// reads one response at a time.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sb::test {

struct http_reply {
  /// 0 when the connection closed before a status line arrived.
  int status = 0;
  /// Header fields with lower-case names.
  std::map<std::string, std::string> headers;
  std::string body;

  /// Value of header `name` (lower case), or an empty string.
  std::string header(const std::string& name) const;
};

class http_client {
public:
  /// Connects to 127.0.0.1:`port`; reads time out after `timeout_ms`.
  explicit http_client(uint16_t port, int timeout_ms = 15000);

  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }

  /// Sends raw bytes; returns false if the connection is gone.
  bool send_raw(const std::string& bytes);

  /// Reads one response. With `head`, expects no body whatever the
  /// Content-Length says.
  http_reply read_reply(bool head = false);

  /// Sends one request with `Host` and `Content-Length` set and reads the
  /// response.
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::vector<std::string>& extra_headers = {});

  /// Whether the server closed the connection (reads EOF) within the read
  /// timeout.
  bool closed_by_peer();

private:
  bool fill();

  int fd_ = -1;
  std::string buf_;
};

/// Builds the bytes of one request.
std::string make_request_bytes(const std::string& method,
                               const std::string& target,
                               const std::string& body = {},
                               const std::vector<std::string>& extra = {});

} // namespace sb::test
