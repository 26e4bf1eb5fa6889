#include "tests/kit/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sb::test {

std::string http_reply::header(const std::string& name) const {
  auto i = headers.find(name);
  return i != headers.end() ? i->second : std::string{};
}

http_client::http_client(uint16_t port, int timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

http_client::~http_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool http_client::send_raw(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    auto n =
      ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool http_client::fill() {
  char tmp[16384];
  auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
  if (n <= 0)
    return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

http_reply http_client::read_reply(bool head) {
  http_reply result;
  if (fd_ < 0)
    return result;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill())
      return result;
  auto header_text = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  // Status line, then fields.
  auto line_end = header_text.find("\r\n");
  auto status_line = header_text.substr(0, line_end);
  if (status_line.size() >= 12)
    result.status = std::atoi(status_line.c_str() + 9);
  size_t pos =
    line_end == std::string::npos ? header_text.size() : line_end + 2;
  while (pos < header_text.size()) {
    auto next = header_text.find("\r\n", pos);
    if (next == std::string::npos)
      next = header_text.size();
    auto line = header_text.substr(pos, next - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      result.headers[name] = value;
    }
    pos = next + 2;
  }
  if (head || result.status == 204 || result.status == 304)
    return result;
  size_t length = 0;
  if (auto cl = result.header("content-length"); !cl.empty())
    length = std::stoul(cl);
  while (buf_.size() < length)
    if (!fill())
      break;
  auto take = std::min(length, buf_.size());
  result.body = buf_.substr(0, take);
  buf_.erase(0, take);
  return result;
}

http_reply http_client::request(const std::string& method,
                                const std::string& target,
                                const std::string& body,
                                const std::vector<std::string>& extra) {
  if (!send_raw(make_request_bytes(method, target, body, extra)))
    return {};
  return read_reply(method == "HEAD");
}

bool http_client::closed_by_peer() {
  if (fd_ < 0)
    return true;
  char tmp[256];
  for (;;) {
    auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n == 0)
      return true;
    if (n < 0)
      return errno == ECONNRESET;
  }
}

std::string make_request_bytes(const std::string& method,
                               const std::string& target,
                               const std::string& body,
                               const std::vector<std::string>& extra) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& h : extra)
    out += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

} // namespace sb::test
