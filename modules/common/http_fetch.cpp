#include "modules/common/http_fetch.hpp"

// Each call runs its own `io_context` on the calling thread. The steps are
// asynchronous operations run one after the other to completion, so that the
// code reads like blocking calls while one deadline on the `tcp_stream`
// bounds connect, handshake, write and read alike. Name lookup cannot be
// cancelled (`getaddrinfo` has no timeout of ours), so it runs on a thread of
// its own that the call stops waiting for at the deadline.
//
// Messages name the host and port, never the path or query of the URL: those
// may carry codes and tokens, and the messages end up in logs.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "actors/ascii.hpp"

namespace sb::modules {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
using request_type = bhttp::request<bhttp::string_body>;
using endpoint_list = std::vector<tcp::endpoint>;

/// Interim (1xx) responses skipped before the final one at most.
constexpr int max_interim_responses = 8;

/// Longest host name (RFC 1035).
constexpr size_t max_host_length = 253;

// -- characters ---------------------------------------------------------------

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

bool is_tchar(char c) noexcept {
  return is_alnum(c) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c));
}

bool valid_token(std::string_view str) noexcept {
  return !str.empty() && std::all_of(str.begin(), str.end(), is_tchar);
}

/// A field value must not end its line early: no CR, LF, NUL or other
/// control character but HTAB.
bool valid_field_value(std::string_view str) noexcept {
  return std::all_of(str.begin(), str.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7F);
  });
}

/// Fields that the client writes itself: framing, connection and host.
bool reserved_field(std::string_view name) noexcept {
  static constexpr std::string_view names[] = {
    "host",    "content-length", "transfer-encoding", "connection",
    "upgrade", "keep-alive",     "proxy-connection",  "te",
    "trailer",
  };
  return std::any_of(std::begin(names), std::end(names),
                     [name](std::string_view x) { return iequals(name, x); });
}

// -- URLs ---------------------------------------------------------------------

bool valid_host_name(std::string_view host) noexcept {
  return !host.empty() && host.size() <= max_host_length &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return is_alnum(c) || c == '-' || c == '.' || c == '_';
         });
}

/// Parses a decimal port from 1 to 65535.
std::optional<uint16_t> parse_port(std::string_view str) noexcept {
  if (str.empty() || str.size() > 5)
    return std::nullopt;
  uint32_t value = 0;
  for (auto c : str) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

uint16_t default_port(std::string_view scheme) noexcept {
  return scheme == "https" ? 443 : 80;
}

// -- results ------------------------------------------------------------------

fetch_result failure(fetch_error code, std::string text) {
  fetch_result res;
  res.code = code;
  res.error = std::move(text);
  return res;
}

std::string ms_text(uint32_t ms) {
  return std::to_string(ms) + " ms";
}

// -- name lookup --------------------------------------------------------------

/// A lookup shared between the caller and the thread that runs it; the one
/// that leaves last frees it.
struct lookup_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  endpoint_list endpoints;
};

void run_lookup(const std::shared_ptr<lookup_state>& st,
                const std::string& host) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  endpoint_list endpoints;
  for (auto ai = list; rc == 0 && ai != nullptr; ai = ai->ai_next) {
    tcp::endpoint ep;
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
        ai->ai_addrlen > ep.capacity())
      continue;
    std::memcpy(ep.data(), ai->ai_addr, ai->ai_addrlen);
    ep.resize(ai->ai_addrlen);
    endpoints.push_back(ep);
  }
  if (list != nullptr)
    ::freeaddrinfo(list);
  std::lock_guard<std::mutex> guard{st->mtx};
  st->rc = rc;
  st->endpoints = std::move(endpoints);
  st->done = true;
  st->cv.notify_all();
}

/// The addresses of `url.host` with `url.port`, or a failure. An IP address
/// needs no lookup.
std::optional<endpoint_list> resolve(const fetch_url& url, time_point deadline,
                                     uint32_t timeout_ms, fetch_result& res) {
  error_code ec;
  auto addr = net::ip::make_address(url.host, ec);
  if (!ec)
    return endpoint_list{tcp::endpoint{addr, url.port}};

  // Look up on a thread of our own; wait for it until the deadline.
  auto st = std::make_shared<lookup_state>();
  try {
    std::thread{[st, host = url.host] {
      run_lookup(st, host);
    }}.detach();
  } catch (const std::system_error& ex) {
    res = failure(fetch_error::dns,
                  "looking up " + url.host + " failed: " + ex.what());
    return std::nullopt;
  }
  std::unique_lock<std::mutex> guard{st->mtx};
  if (!st->cv.wait_until(guard, deadline, [&st] { return st->done; })) {
    res = failure(fetch_error::timeout, "looking up " + url.host +
                                          " timed out after " +
                                          ms_text(timeout_ms));
    return std::nullopt;
  }
  if (st->rc != 0) {
    res = failure(fetch_error::dns, "looking up " + url.host +
                                      " failed: " + ::gai_strerror(st->rc));
    return std::nullopt;
  }
  if (st->endpoints.empty()) {
    res = failure(fetch_error::dns, "looking up " + url.host +
                                      " failed: no IPv4 or IPv6 address");
    return std::nullopt;
  }
  for (auto& ep : st->endpoints)
    ep.port(url.port);
  return std::move(st->endpoints);
}

// -- the exchange -------------------------------------------------------------

/// Initiates an asynchronous operation with `start` and runs `ioc` until it
/// completes; returns its error. The stream's deadline bounds the wait.
template <class Start>
error_code run_step(net::io_context& ioc, Start&& start) {
  error_code result = net::error::operation_aborted;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

/// Builds the request, or says what is wrong with the caller's part.
std::optional<request_type> make_request(const fetch_request& req,
                                         const fetch_url& url,
                                         std::string& error) {
  if (!valid_token(req.method)) {
    error = "invalid request method '" + req.method + "'";
    return std::nullopt;
  }
  for (auto& [name, value] : req.headers) {
    if (!valid_token(name)) {
      error = "invalid header field name '" + name + "'";
      return std::nullopt;
    }
    if (reserved_field(name)) {
      error = "header field " + name + " is set by the client itself";
      return std::nullopt;
    }
    if (!valid_field_value(value)) {
      error = "the value of header field " + name +
              " contains CR, LF or another control character";
      return std::nullopt;
    }
  }
  request_type msg;
  msg.method_string(req.method);
  msg.target(url.target);
  msg.version(11);
  msg.set(bhttp::field::host, url.authority());
  msg.set(bhttp::field::user_agent, "switchboard");
  for (auto& [name, value] : req.headers) {
    if (iequals(name, "user-agent"))
      msg.set(bhttp::field::user_agent, value);
    else
      msg.insert(name, value);
  }
  msg.set(bhttp::field::connection, "close");
  // A body always has its length; so has a POST, PUT or PATCH without one,
  // since some servers refuse those without a length.
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
      req.method == "PATCH")
    msg.content_length(req.body.size());
  msg.body() = req.body;
  return msg;
}

/// The failure for error `ec` of a step: a timeout, or else `otherwise`.
/// `doing` names the step and the host, as in "connecting to example.com".
fetch_result step_failure(const error_code& ec, fetch_error otherwise,
                          const std::string& doing, uint32_t timeout_ms) {
  if (ec == beast::error::timeout)
    return failure(fetch_error::timeout,
                   doing + " timed out after " + ms_text(timeout_ms));
  return failure(otherwise, doing + " failed: " + ec.message());
}

/// The failure for error `ec` while reading the response.
fetch_result read_failure(const error_code& ec, const std::string& who,
                          const fetch_options& opts) {
  if (ec == bhttp::error::body_limit)
    return failure(fetch_error::too_large,
                   "the response body from " + who + " exceeds " +
                     std::to_string(opts.max_body) + " bytes");
  if (ec == bhttp::error::header_limit)
    return failure(fetch_error::too_large,
                   "the response header from " + who + " exceeds " +
                     std::to_string(opts.max_header) + " bytes");
  if (ec == bhttp::error::end_of_stream ||
      ec == bhttp::error::partial_message || ec == net::error::eof ||
      ec == ssl::error::stream_truncated || ec == net::error::connection_reset)
    return failure(fetch_error::io, who +
                                      " closed the connection before the "
                                      "response was complete (" +
                                      ec.message() + ")");
  if (ec.category() ==
      bhttp::make_error_code(bhttp::error::bad_version).category())
    return failure(fetch_error::malformed,
                   "malformed response from " + who + ": " + ec.message());
  return step_failure(ec, fetch_error::io, "reading the response from " + who,
                      opts.timeout_ms);
}

/// Writes `msg` to the connected `stream` and reads the final response.
template <class Stream>
fetch_result exchange(net::io_context& ioc, Stream& stream, request_type& msg,
                      const std::string& who, const fetch_options& opts) {
  auto ec = run_step(ioc, [&](auto handler) {
    bhttp::async_write(stream, msg, std::move(handler));
  });
  if (ec)
    return step_failure(ec, fetch_error::io, "sending the request to " + who,
                        opts.timeout_ms);

  // Read responses until the final one; interim ones (1xx but 101) have no
  // body and are dropped.
  beast::flat_buffer buf;
  bool head = msg.method() == bhttp::verb::head;
  for (int interim = 0;; ++interim) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(
      static_cast<uint32_t>(std::min<size_t>(opts.max_header, UINT32_MAX)));
    parser.body_limit(opts.max_body);
    if (head)
      parser.skip(true);
    // The header first, then the body. Read in one go, Beast 1.74's eager
    // response parser drops the error of a Content-Length over the body
    // limit when body bytes came in the same read, and its string body
    // reserves the whole length; read alone, the header stops at the error.
    ec = run_step(ioc, [&](auto handler) {
      bhttp::async_read_header(stream, buf, parser, std::move(handler));
    });
    if (!ec && !parser.is_done())
      ec = run_step(ioc, [&](auto handler) {
        bhttp::async_read(stream, buf, parser, std::move(handler));
      });
    if (ec)
      return read_failure(ec, who, opts);
    auto& res = parser.get();
    auto status = res.result_int();
    if (status >= 100 && status < 200 && status != 101) {
      if (interim >= max_interim_responses)
        return failure(fetch_error::malformed,
                       "malformed response from " + who + ": more than " +
                         std::to_string(max_interim_responses) +
                         " interim responses");
      continue;
    }
    fetch_result result;
    result.status = static_cast<int>(status);
    for (auto& field : res) {
      auto name = field.name_string();
      auto value = field.value();
      result.headers.emplace_back(ascii_lowered({name.data(), name.size()}),
                                  std::string{value.data(), value.size()});
    }
    result.body = std::move(res.body());
    return result;
  }
}

/// A client context: TLS 1.2 or newer, the peer verified against the
/// system's CA store and `ca_file`.
fetch_result make_tls_context(ssl::context& ctx, const std::string& ca_file) {
  error_code ec;
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(
    ssl::context::default_workarounds | ssl::context::no_compression, ec);
  if (!ec)
    ctx.set_verify_mode(ssl::verify_peer, ec);
  if (!ec)
    ctx.set_default_verify_paths(ec);
  if (ec)
    return failure(fetch_error::tls, "cannot set up TLS: " + ec.message());
  if (!ca_file.empty()) {
    ctx.load_verify_file(ca_file, ec);
    if (ec)
      return failure(fetch_error::tls,
                     "cannot load CA file " + ca_file + ": " + ec.message());
  }
  return {};
}

/// Asks the handshake to check that the certificate names `url.host`, and
/// sends the name by SNI unless it is an IP address.
bool expect_peer(SSL* ssl, const fetch_url& url, bool is_address) {
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                           X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if (is_address)
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
                                         url.host.c_str()) == 1;
  return SSL_set1_host(ssl, url.host.c_str()) == 1 &&
         SSL_set_tlsext_host_name(ssl, url.host.c_str()) == 1;
}

fetch_result fetch(const fetch_request& req, const fetch_options& opts) {
  auto deadline =
    clock_type::now() + std::chrono::milliseconds{opts.timeout_ms};

  // Check everything the caller gave before any I/O.
  std::string error;
  auto url = parse_fetch_url(req.url, error);
  if (!url)
    return failure(fetch_error::bad_request, "invalid URL: " + error);
  auto msg = make_request(req, *url, error);
  if (!msg)
    return failure(fetch_error::bad_request, std::move(error));
  auto who = url->authority();
  bool tls = url->scheme == "https";
  std::optional<ssl::context> ctx;
  if (tls) {
    ctx.emplace(ssl::context::tls_client);
    if (auto res = make_tls_context(*ctx, opts.ca_file); !res.ok())
      return res;
  }

  // Find the host and connect to the first address that answers.
  fetch_result res;
  auto endpoints = resolve(*url, deadline, opts.timeout_ms, res);
  if (!endpoints)
    return res;
  net::io_context ioc{1};
  auto connect = [&](beast::tcp_stream& stream) {
    stream.expires_at(deadline);
    return run_step(ioc, [&](auto handler) {
      stream.async_connect(*endpoints, std::move(handler));
    });
  };
  if (!tls) {
    beast::tcp_stream stream{ioc};
    if (auto ec = connect(stream))
      return step_failure(ec, fetch_error::connect, "connecting to " + who,
                          opts.timeout_ms);
    return exchange(ioc, stream, *msg, who, opts);
  }

  // TLS: the handshake checks the chain and the name.
  beast::ssl_stream<beast::tcp_stream> stream{ioc, *ctx};
  if (auto ec = connect(beast::get_lowest_layer(stream)))
    return step_failure(ec, fetch_error::connect, "connecting to " + who,
                        opts.timeout_ms);
  error_code not_address;
  net::ip::make_address(url->host, not_address);
  if (!expect_peer(stream.native_handle(), *url, !not_address))
    return failure(fetch_error::tls,
                   "cannot set up TLS for " + who + ": bad host name");
  auto ec = run_step(ioc, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    auto verdict = SSL_get_verify_result(stream.native_handle());
    if (verdict != X509_V_OK)
      return failure(fetch_error::tls,
                     "the TLS certificate of " + who + " was refused: " +
                       X509_verify_cert_error_string(verdict));
    return step_failure(ec, fetch_error::tls, "the TLS handshake with " + who,
                        opts.timeout_ms);
  }
  return exchange(ioc, stream, *msg, who, opts);
}

} // namespace

// -- public functions ---------------------------------------------------------

std::string to_string(fetch_error x) {
  switch (x) {
  case fetch_error::none:
    return "none";
  case fetch_error::bad_request:
    return "bad_request";
  case fetch_error::dns:
    return "dns";
  case fetch_error::connect:
    return "connect";
  case fetch_error::tls:
    return "tls";
  case fetch_error::timeout:
    return "timeout";
  case fetch_error::too_large:
    return "too_large";
  case fetch_error::malformed:
    return "malformed";
  case fetch_error::io:
    return "io";
  }
  return "fetch_error(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string fetch_url::authority() const {
  std::string result = ipv6() ? "[" + host + "]" : host;
  if (port != default_port(scheme))
    result += ":" + std::to_string(port);
  return result;
}

std::optional<fetch_url> parse_fetch_url(std::string_view url,
                                         std::string& error) {
  // The scheme.
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    error = "not an absolute http:// or https:// URL";
    return std::nullopt;
  }
  fetch_url result;
  result.scheme = ascii_lowered(url.substr(0, sep));
  if (result.scheme != "http" && result.scheme != "https") {
    error = "unsupported scheme '" + result.scheme + "'; use http or https";
    return std::nullopt;
  }
  auto rest = url.substr(sep + 3);
  for (auto ch : rest) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) {
      error = "the URL contains a space, a control or a non-ASCII character; "
              "percent-encode it";
      return std::nullopt;
    }
  }
  if (rest.find('#') != std::string_view::npos) {
    error = "fragments ('#...') are not allowed";
    return std::nullopt;
  }

  // The authority: host and port, no user info.
  auto end = rest.find_first_of("/?");
  auto authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    error = "user info ('user@host') is not allowed";
    return std::nullopt;
  }
  std::string_view host;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 address lacks its closing ']'";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = "unexpected characters after the IPv6 address";
      return std::nullopt;
    }
    if (!after.empty())
      port = after.substr(1);
    error_code ec;
    if (host.find('%') != std::string_view::npos ||
        (net::ip::make_address_v6(std::string{host}, ec), ec)) {
      error = "invalid IPv6 address '" + std::string{host} + "'";
      return std::nullopt;
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
    if (host.empty()) {
      error = "the URL has no host";
      return std::nullopt;
    }
    if (!valid_host_name(host)) {
      error = "invalid host '" + std::string{host} + "'";
      return std::nullopt;
    }
  }
  result.host = ascii_lowered(host);
  if (port) {
    auto value = parse_port(*port);
    if (!value) {
      error = "invalid port '" + std::string{*port} + "'";
      return std::nullopt;
    }
    result.port = *value;
  } else {
    result.port = default_port(result.scheme);
  }

  // Path and query, as given.
  auto target =
    end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (target.empty() || target.front() == '?')
    result.target = "/";
  result.target += target;
  return result;
}

const std::string* fetch_result::header(std::string_view name) const noexcept {
  for (auto& [key, value] : headers)
    if (key == name)
      return &value;
  return nullptr;
}

fetch_result http_fetch(const fetch_request& req, const fetch_options& opts) {
  fetch_result res;
  try {
    res = fetch(req, opts);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& ex) {
    res = failure(fetch_error::io, std::string{"request failed: "} + ex.what());
  }
  // Leave no OpenSSL error behind on this thread for the next TLS user.
  ERR_clear_error();
  return res;
}

std::string form_encode(const fetch_fields& fields) {
  static constexpr char hex[] = "0123456789ABCDEF";
  auto append = [](std::string& out, std::string_view str) {
    for (auto ch : str) {
      auto c = static_cast<unsigned char>(ch);
      if (is_alnum(ch) || ch == '*' || ch == '-' || ch == '.' || ch == '_') {
        out += ch;
      } else if (ch == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 0x0F];
      }
    }
  };
  std::string result;
  for (auto& [name, value] : fields) {
    if (!result.empty())
      result += '&';
    append(result, name);
    result += '=';
    append(result, value);
  }
  return result;
}

std::optional<std::string> percent_decode(std::string_view str,
                                          bool plus_as_space) {
  std::string result;
  result.reserve(str.size());
  for (size_t i = 0; i < str.size(); ++i) {
    auto c = str[i];
    if (c == '%') {
      if (i + 2 >= str.size())
        return std::nullopt;
      auto hi = hex_value(str[i + 1]);
      auto lo = hex_value(str[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      result += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      result += ' ';
    } else {
      result += c;
    }
  }
  return result;
}

std::optional<fetch_fields> form_decode(std::string_view text) {
  fetch_fields result;
  while (!text.empty()) {
    auto amp = text.find('&');
    auto part = text.substr(0, amp);
    text =
      amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value = eq == std::string_view::npos
                   ? std::optional<std::string>{std::string{}}
                   : percent_decode(part.substr(eq + 1), true);
    if (!name || !value)
      return std::nullopt;
    result.emplace_back(std::move(*name), std::move(*value));
  }
  return result;
}

} // namespace sb::modules
