#define CAF_SUITE http_fetch
#include "caf/test/unit_test.hpp"

// `http_fetch` against servers that run on 127.0.0.1, port 0, in a thread of
// the test: one that echoes the request, ones that stall, trickle, send too
// much or send garbage, and TLS servers with self-signed certificates made
// here with the OpenSSL API.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "modules/common/http_fetch.hpp"

using namespace sb::modules;
using namespace std::chrono_literals;

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

std::string header_of(const fetch_result& res, const std::string& name) {
  auto value = res.header(name);
  return value ? *value : "<none>";
}

// -- a server in a thread -----------------------------------------------------

/// Listens on `address`, port 0, and runs a handler for each connection, one
/// after the other, on a thread of its own until destroyed.
class test_server {
public:
  using handler = std::function<void(tcp::socket&, test_server&)>;

  explicit test_server(handler fn, const char* address = "127.0.0.1")
      : acceptor_(ioc_, tcp::endpoint{net::ip::make_address(address), 0})
      , fn_(std::move(fn)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread{[this] {
      run();
    }};
  }

  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  ~test_server() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    // Wakes the blocking accept.
    net::io_context ioc;
    tcp::socket wake{ioc};
    error_code ec;
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }

  uint16_t port() const noexcept { return port_; }

  std::string url(const std::string& path = "/",
                  const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port_) + path;
  }

  /// Connections accepted so far.
  int connections() const noexcept { return connections_.load(); }

  /// Blocks a handler until the server goes down or `limit` passes.
  void idle(std::chrono::milliseconds limit = 30s) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, limit, [this] { return stopping_; });
  }

  bool stopping() {
    std::lock_guard<std::mutex> guard{mtx_};
    return stopping_;
  }

private:
  void run() {
    for (;;) {
      tcp::socket sock{ioc_};
      error_code ec;
      acceptor_.accept(sock, ec);
      if (stopping())
        return;
      if (ec)
        continue;
      ++connections_;
      fn_(sock, *this);
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  handler fn_;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

/// Reads one request and answers with what it saw: method, target and some
/// fields as `x-echo-*` fields, the body as the body.
template <class Stream>
void serve_echo(Stream& stream, const std::string& sni = {}) {
  beast::flat_buffer buf;
  bhttp::request<bhttp::string_body> req;
  error_code ec;
  bhttp::read(stream, buf, req, ec);
  if (ec)
    return;
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
  res.set("X-Echo-Method", req.method_string());
  res.set("X-Echo-Target", req.target());
  res.set("X-Echo-Host", req[bhttp::field::host]);
  res.set("X-Echo-User-Agent", req[bhttp::field::user_agent]);
  res.set("X-Echo-Content-Length", req[bhttp::field::content_length]);
  res.set("X-Echo-Connection", req[bhttp::field::connection]);
  res.set("X-Echo-Custom", req["X-Custom"]);
  res.set("X-Echo-Sni", sni);
  res.body() = req.body();
  res.prepare_payload();
  bhttp::write(stream, res, ec);
}

void echo(tcp::socket& sock, test_server&) {
  serve_echo(sock);
}

/// Reads one request and answers with `bytes` as they are.
test_server::handler answer_raw(std::string bytes) {
  return [bytes](tcp::socket& sock, test_server&) {
    beast::flat_buffer buf;
    bhttp::request<bhttp::string_body> req;
    error_code ec;
    bhttp::read(sock, buf, req, ec);
    net::write(sock, net::buffer(bytes), ec);
  };
}

// -- certificates -------------------------------------------------------------

/// A self-signed certificate and its key, both PEM.
struct test_cert {
  std::string cert;
  std::string key;
};

std::string pem_of(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  if (!bio || write(bio.get()) != 1)
    return {};
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

/// A self-signed P-256 certificate for `alt_names` (`DNS:x,IP:y`; none if
/// empty) with common name `cn`, valid from an hour ago for a day.
test_cert make_cert(const std::string& alt_names,
                    const std::string& cn = "switchboard test") {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"),
                                                          EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> x509{X509_new(), X509_free};
  if (!key || !x509)
    return {};
  auto x = x509.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), std::rand() % 100000 + 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key.get());
  auto name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::pair<int, std::string> exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,digitalSignature,keyCertSign"},
    {NID_subject_key_identifier, "hash"},
    {NID_subject_alt_name, alt_names},
  };
  for (auto& [nid, value] : exts) {
    if (value.empty())
      continue;
    auto ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr)
      return {};
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, key.get(), EVP_sha256()) == 0)
    return {};
  test_cert result;
  result.cert = pem_of([x](BIO* bio) { return PEM_write_bio_X509(bio, x); });
  result.key = pem_of([&key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0,
                                    nullptr, nullptr);
  });
  return result;
}

/// A temporary directory, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    char name[] = "/tmp/sb-http-fetch-XXXXXX";
    if (::mkdtemp(name) != nullptr)
      path = name;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

  /// Writes `content` to file `name` and returns its path.
  std::string write(const std::string& name, const std::string& content) {
    auto file = path / name;
    std::ofstream out{file};
    out << content;
    return file.string();
  }
};

/// A handler that does a TLS handshake with `cert` and then echoes the
/// request, with the name the client sent by SNI in `x-echo-sni`.
test_server::handler tls_echo(const test_cert& cert) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain(net::buffer(cert.cert));
  ctx->use_private_key(net::buffer(cert.key), ssl::context::pem);
  return [ctx](tcp::socket& sock, test_server&) {
    ssl::stream<tcp::socket&> tls{sock, *ctx};
    error_code ec;
    tls.handshake(ssl::stream_base::server, ec);
    if (ec)
      return;
    auto sni =
      SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
    serve_echo(tls, sni != nullptr ? sni : "");
  };
}

fetch_result get(const std::string& url, fetch_options opts = {}) {
  fetch_request req;
  req.url = url;
  return http_fetch(req, opts);
}

int64_t ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - start)
    .count();
}

} // namespace

// -- URLs ---------------------------------------------------------------------

CAF_TEST(a plain URL gets the default port and the root path) {
  std::string error;
  auto url = parse_fetch_url("http://example.com", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->scheme, "http");
  CAF_CHECK_EQUAL(url->host, "example.com");
  CAF_CHECK_EQUAL(url->port, 80u);
  CAF_CHECK_EQUAL(url->target, "/");
  CAF_CHECK_EQUAL(url->authority(), "example.com");
}

CAF_TEST(scheme and host are lowered while path and query stay as given) {
  std::string error;
  auto url =
    parse_fetch_url("HTTPS://GitHub.COM/Login/OAuth?Code=A%2Fb&x=1", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->scheme, "https");
  CAF_CHECK_EQUAL(url->host, "github.com");
  CAF_CHECK_EQUAL(url->port, 443u);
  CAF_CHECK_EQUAL(url->target, "/Login/OAuth?Code=A%2Fb&x=1");
}

CAF_TEST(a port that is not the default shows in the authority) {
  std::string error;
  auto url = parse_fetch_url("http://127.0.0.1:8080/a/b", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->host, "127.0.0.1");
  CAF_CHECK_EQUAL(url->port, 8080u);
  CAF_CHECK_EQUAL(url->authority(), "127.0.0.1:8080");
  url = parse_fetch_url("https://idp.example:443/", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->authority(), "idp.example");
}

CAF_TEST(an IPv6 address in brackets loses them in host but not in authority) {
  std::string error;
  auto url = parse_fetch_url("https://[::1]:8443/token", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->host, "::1");
  CAF_CHECK(url->ipv6());
  CAF_CHECK_EQUAL(url->port, 8443u);
  CAF_CHECK_EQUAL(url->target, "/token");
  CAF_CHECK_EQUAL(url->authority(), "[::1]:8443");
  url = parse_fetch_url("http://[2001:DB8::1]", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->authority(), "[2001:db8::1]");
}

CAF_TEST(a query without a path gets the root path) {
  std::string error;
  auto url = parse_fetch_url("http://host?a=1", error);
  CAF_REQUIRE(url);
  CAF_CHECK_EQUAL(url->host, "host");
  CAF_CHECK_EQUAL(url->target, "/?a=1");
}

CAF_TEST(the parser refuses what it cannot send and names the reason) {
  struct bad_case {
    const char* url;
    const char* reason;
  };
  bad_case cases[] = {
    {"ftp://example.com/", "unsupported scheme 'ftp'"},
    {"file:///etc/passwd", "unsupported scheme 'file'"},
    {"example.com/path", "not an absolute"},
    {"//example.com/", "not an absolute"},
    {"http://user:pw@example.com/", "user info"},
    {"http://user@example.com/", "user info"},
    {"http://example.com/a#frag", "fragment"},
    {"http://example.com:0/", "invalid port '0'"},
    {"http://example.com:65536/", "invalid port '65536'"},
    {"http://example.com:/", "invalid port ''"},
    {"http://example.com:8x/", "invalid port '8x'"},
    {"http://:80/", "no host"},
    {"http:///path", "no host"},
    {"http://[::1/", "closing ']'"},
    {"http://[::1]x/", "after the IPv6 address"},
    {"http://[zz::1]/", "invalid IPv6 address"},
    {"http://[127.0.0.1]/", "invalid IPv6 address"},
    {"http://[fe80::1%25eth0]/", "invalid IPv6 address"},
    {"http://exa%6dple.com/", "invalid host"},
    {"http://ex!ample.com/", "invalid host"},
    {"http://example.com/a b", "percent-encode"},
    {"http://example.com/\r\nX: y", "percent-encode"},
    {"http://example.com/caf\xc3\xa9", "percent-encode"},
  };
  for (auto& x : cases) {
    std::string error;
    auto url = parse_fetch_url(x.url, error);
    std::string verdict = url                         ? "accepted"
                          : contains(error, x.reason) ? x.reason
                                                      : error;
    CAF_CHECK_EQUAL(x.url + (": " + verdict),
                    x.url + (": " + std::string{x.reason}));
  }
}

// -- forms --------------------------------------------------------------------

CAF_TEST(form encoding escapes the bytes that carry meaning in a form) {
  fetch_fields fields = {
    {"grant_type", "authorization_code"},
    {"a b", "x+y"},
    {"k&=", "v=&"},
    {"name", "J\xc3\xa9r\xc3\xb4me"},
    {"empty", ""},
    {"safe", "AZaz09*-._"},
  };
  CAF_CHECK_EQUAL(form_encode(fields),
                  "grant_type=authorization_code&a+b=x%2By&k%26%3D=v%3D%26"
                  "&name=J%C3%A9r%C3%B4me&empty=&safe=AZaz09*-._");
  auto back = form_decode(form_encode(fields));
  CAF_REQUIRE(back);
  CAF_CHECK(*back == fields);
}

CAF_TEST(form decoding skips empty parts and gives bare names empty values) {
  auto fields = form_decode("&a=1&&b&c=&=d&e=x=y&");
  CAF_REQUIRE(fields);
  fetch_fields expected = {
    {"a", "1"}, {"b", ""}, {"c", ""}, {"", "d"}, {"e", "x=y"}};
  CAF_CHECK(*fields == expected);
  CAF_CHECK(form_decode("")->empty());
}

CAF_TEST(form decoding refuses broken percent escapes) {
  CAF_CHECK(!form_decode("a=%zz"));
  CAF_CHECK(!form_decode("a=%4"));
  CAF_CHECK(!form_decode("a=%"));
  CAF_CHECK(!form_decode("%g1=b"));
  CAF_CHECK(form_decode("a=%41%2b%2B")->at(0).second == "A++");
}

CAF_TEST(percent decoding turns plus into a space only when asked) {
  CAF_CHECK_EQUAL(percent_decode("a+b%20c").value_or("<bad>"), "a+b c");
  CAF_CHECK_EQUAL(percent_decode("a+b%20c", true).value_or("<bad>"), "a b c");
  CAF_CHECK_EQUAL(percent_decode("%e2%9c%93").value_or("<bad>"),
                  "\xe2\x9c\x93");
  CAF_CHECK(!percent_decode("100%"));
}

// -- plain HTTP ---------------------------------------------------------------

CAF_TEST(a GET reaches the server with the fields the client sets) {
  test_server server{echo};
  fetch_request req;
  req.url = server.url("/user?x=1");
  req.headers = {{"Accept", "application/json"}, {"X-Custom", "v\t1"}};
  auto res = http_fetch(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200);
  CAF_CHECK_EQUAL(header_of(res, "x-echo-method"), "GET");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-target"), "/user?x=1");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-host"),
                  "127.0.0.1:" + std::to_string(server.port()));
  CAF_CHECK_EQUAL(header_of(res, "x-echo-user-agent"), "switchboard");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-content-length"), "");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-connection"), "close");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-custom"), "v\t1");
  CAF_CHECK_EQUAL(header_of(res, "content-length"), "0");
  CAF_CHECK_EQUAL(res.body, "");
}

CAF_TEST(a POST sends its body with its length and gets it back) {
  test_server server{echo};
  fetch_request req;
  req.method = "POST";
  req.url = server.url("/login/oauth/access_token");
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"User-Agent", "switchboard-test"}};
  req.body = form_encode({{"code", "a b&c"}, {"client_id", "id"}});
  auto res = http_fetch(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200);
  CAF_CHECK_EQUAL(header_of(res, "x-echo-method"), "POST");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-content-length"),
                  std::to_string(req.body.size()));
  CAF_CHECK_EQUAL(header_of(res, "x-echo-user-agent"), "switchboard-test");
  CAF_CHECK_EQUAL(res.body, req.body);
  // An empty POST still says its length.
  req.body.clear();
  res = http_fetch(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(header_of(res, "x-echo-content-length"), "0");
}

CAF_TEST(a body of exactly the limit arrives whole) {
  std::string body(1000, 'x');
  test_server server{answer_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n"
                                "\r\n" +
                                body)};
  fetch_options opts;
  opts.max_body = 1000;
  auto res = get(server.url(), opts);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.body, body);
}

CAF_TEST(a chunked body arrives joined and fields keep their order) {
  test_server server{answer_raw("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "SET-COOKIE: b=2\r\n\r\n"
                                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")};
  auto res = get(server.url());
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.body, "hello world");
  std::vector<std::string> cookies;
  for (auto& [name, value] : res.headers)
    if (name == "set-cookie")
      cookies.push_back(value);
  CAF_CHECK(cookies == std::vector<std::string>({"a=1", "b=2"}));
}

CAF_TEST(interim responses are skipped for the final one) {
  test_server server{answer_raw("HTTP/1.1 100 Continue\r\n\r\n"
                                "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                                "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                                "\r\nok")};
  auto res = get(server.url());
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 201);
  CAF_CHECK_EQUAL(res.body, "ok");
}

CAF_TEST(a redirect comes back as it is and is not followed) {
  test_server server{answer_raw("HTTP/1.1 302 Found\r\n"
                                "Location: http://127.0.0.1:1/elsewhere\r\n"
                                "Content-Length: 0\r\n\r\n")};
  auto res = get(server.url("/start"));
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 302);
  CAF_CHECK_EQUAL(header_of(res, "location"), "http://127.0.0.1:1/elsewhere");
  CAF_CHECK_EQUAL(server.connections(), 1);
}

CAF_TEST(header values with CR or LF are refused before anything is sent) {
  test_server server{echo};
  fetch_request req;
  req.url = server.url();
  for (auto value : {"a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x7f"}) {
    req.headers = {{"X-Custom", value}};
    auto res = http_fetch(req);
    CAF_CHECK_EQUAL(res.code, fetch_error::bad_request);
  }
  req.headers = {{"X-Custom", std::string{"a\0b", 3}}};
  CAF_CHECK_EQUAL(http_fetch(req).code, fetch_error::bad_request);
  req.headers = {{"Bad Name", "x"}};
  CAF_CHECK_EQUAL(http_fetch(req).code, fetch_error::bad_request);
  req.headers = {{"Host", "evil.example"}};
  auto res = http_fetch(req);
  CAF_CHECK_EQUAL(res.code, fetch_error::bad_request);
  CAF_CHECK(contains(res.error, "set by the client"));
  req.headers = {{"transfer-encoding", "chunked"}};
  CAF_CHECK_EQUAL(http_fetch(req).code, fetch_error::bad_request);
  req.headers.clear();
  req.method = "GE T";
  CAF_CHECK_EQUAL(http_fetch(req).code, fetch_error::bad_request);
  CAF_CHECK_EQUAL(server.connections(), 0);
}

CAF_TEST(an invalid URL is a bad request that says why) {
  auto res = get("gopher://example.com/");
  CAF_CHECK_EQUAL(res.code, fetch_error::bad_request);
  CAF_CHECK_EQUAL(res.error, "invalid URL: unsupported scheme 'gopher'; use "
                             "http or https");
}

// -- misbehaving servers ------------------------------------------------------

CAF_TEST(a server that never answers times out within the deadline) {
  test_server server{[](tcp::socket& sock, test_server& self) {
    beast::flat_buffer buf;
    bhttp::request<bhttp::string_body> req;
    error_code ec;
    bhttp::read(sock, buf, req, ec);
    self.idle();
  }};
  fetch_options opts;
  opts.timeout_ms = 300;
  auto start = clock_type::now();
  auto res = get(server.url(), opts);
  auto took = ms_since(start);
  CAF_CHECK_EQUAL(res.code, fetch_error::timeout);
  CAF_CHECK(contains(res.error, "127.0.0.1:" + std::to_string(server.port())));
  CAF_CHECK(contains(res.error, "300 ms"));
  CAF_MESSAGE("timed out after " << took << " ms: " << res.error);
  CAF_CHECK(took >= 250);
  CAF_CHECK(took < 1500);
}

CAF_TEST(a server that trickles bytes cannot stretch the deadline) {
  test_server server{[](tcp::socket& sock, test_server& self) {
    std::string header = "HTTP/1.1 200 OK\r\nX-Slow: ";
    error_code ec;
    net::write(sock, net::buffer(header), ec);
    while (!ec && !self.stopping()) {
      net::write(sock, net::buffer("a", 1), ec);
      std::this_thread::sleep_for(20ms);
    }
  }};
  fetch_options opts;
  opts.timeout_ms = 400;
  auto start = clock_type::now();
  auto res = get(server.url(), opts);
  auto took = ms_since(start);
  CAF_CHECK_EQUAL(res.code, fetch_error::timeout);
  CAF_MESSAGE("timed out after " << took << " ms: " << res.error);
  CAF_CHECK(took < 1500);
}

CAF_TEST(a body over the limit is an error and not cut short) {
  // Header and body reach the client in one read: Beast 1.74's eager
  // response parser loses the body limit error then.
  std::string big(2 << 20, 'x');
  test_server server{answer_raw("HTTP/1.1 200 OK\r\nContent-Length: " +
                                std::to_string(big.size()) + "\r\n\r\n" + big)};
  auto res = get(server.url());
  CAF_CHECK_EQUAL(res.code, fetch_error::too_large);
  CAF_CHECK_EQUAL(res.error, "the response body from 127.0.0.1:" +
                               std::to_string(server.port()) +
                               " exceeds 1048576 bytes");
  CAF_CHECK(res.body.empty());
}

CAF_TEST(a huge Content - Length is refused before any memory is reserved) {
  test_server server{answer_raw("HTTP/1.1 200 OK\r\n"
                                "Content-Length: 1000000000000000\r\n\r\n"
                                "abc")};
  auto res = get(server.url());
  CAF_CHECK_EQUAL(res.code, fetch_error::too_large);
}

CAF_TEST(a body that ends with the connection has the limit too) {
  test_server server{answer_raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" +
                                std::string(5000, 'e'))};
  fetch_options opts;
  opts.max_body = 4096;
  auto res = get(server.url(), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::too_large);
  opts.max_body = 5000;
  test_server exact{answer_raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" +
                               std::string(5000, 'e'))};
  res = get(exact.url(), opts);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.body.size(), 5000u);
}

CAF_TEST(a response to HEAD has no body whatever its length says) {
  test_server server{answer_raw("HTTP/1.1 200 OK\r\n"
                                "Content-Length: 99999999\r\n\r\n")};
  fetch_request req;
  req.method = "HEAD";
  req.url = server.url();
  auto res = http_fetch(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200);
  CAF_CHECK_EQUAL(header_of(res, "content-length"), "99999999");
  CAF_CHECK(res.body.empty());
}

CAF_TEST(a chunked body over the limit is an error too) {
  test_server server{[](tcp::socket& sock, test_server& self) {
    beast::flat_buffer buf;
    bhttp::request<bhttp::string_body> req;
    error_code ec;
    bhttp::read(sock, buf, req, ec);
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk = "1000\r\n" + std::string(4096, 'y') + "\r\n";
    net::write(sock, net::buffer(head), ec);
    for (int i = 0; i < 1024 && !ec && !self.stopping(); ++i)
      net::write(sock, net::buffer(chunk), ec);
  }};
  fetch_options opts;
  opts.max_body = 100 * 1024;
  auto res = get(server.url(), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::too_large);
  CAF_CHECK(contains(res.error, "exceeds 102400 bytes"));
}

CAF_TEST(a header over the limit is an error) {
  test_server server{
    answer_raw("HTTP/1.1 200 OK\r\nX-Big: " + std::string(20000, 'z') +
               "\r\nContent-Length: 0\r\n\r\n")};
  fetch_options opts;
  opts.max_header = 16 * 1024;
  auto res = get(server.url(), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::too_large);
  CAF_CHECK(contains(res.error, "response header"));
}

CAF_TEST(garbage from the server is a malformed response) {
  test_server server{answer_raw("SSH-2.0-OpenSSH_9.2\r\n\r\n")};
  auto res = get(server.url());
  CAF_CHECK_EQUAL(res.code, fetch_error::malformed);
  CAF_CHECK(contains(res.error, "malformed response from 127.0.0.1:"));
  test_server binary{answer_raw(std::string("\x16\x03\x01\x00\x05hello", 10))};
  CAF_CHECK_EQUAL(get(binary.url()).code, fetch_error::malformed);
}

CAF_TEST(a connection closed early is an I / O error) {
  test_server silent{answer_raw("")};
  auto res = get(silent.url());
  CAF_CHECK_EQUAL(res.code, fetch_error::io);
  CAF_CHECK(contains(res.error, "closed the connection"));
  test_server partial{
    answer_raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")};
  res = get(partial.url());
  CAF_CHECK_EQUAL(res.code, fetch_error::io);
}

CAF_TEST(a port where nobody listens is a connect error) {
  uint16_t port = 0;
  {
    net::io_context ioc;
    tcp::acceptor acc{ioc,
                      tcp::endpoint{net::ip::make_address("127.0.0.1"), 0}};
    port = acc.local_endpoint().port();
  }
  auto res = get("http://127.0.0.1:" + std::to_string(port) + "/");
  CAF_CHECK_EQUAL(res.code, fetch_error::connect);
  CAF_CHECK(contains(res.error, "127.0.0.1:" + std::to_string(port)));
  CAF_MESSAGE(res.error);
}

CAF_TEST(a host name from the hosts file resolves) {
  test_server server{echo};
  auto res = get(server.url("/", "http", "localhost"));
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(header_of(res, "x-echo-host"),
                  "localhost:" + std::to_string(server.port()));
}

CAF_TEST(an IPv6 loopback URL connects and names the host in brackets) {
  std::unique_ptr<test_server> server;
  try {
    server = std::make_unique<test_server>(echo, "::1");
  } catch (const std::exception& ex) {
    CAF_MESSAGE("no IPv6 loopback here, skipped: " << ex.what());
    return;
  }
  auto res = get(server->url("/", "http", "[::1]"));
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(header_of(res, "x-echo-host"),
                  "[::1]:" + std::to_string(server->port()));
}

// -- TLS ----------------------------------------------------------------------

CAF_TEST(a self - signed certificate is refused without its CA file) {
  auto cert = make_cert("DNS:localhost,IP:127.0.0.1");
  CAF_REQUIRE(!cert.cert.empty());
  test_server server{tls_echo(cert)};
  auto res = get(server.url("/", "https"));
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_CHECK(contains(res.error, "certificate of 127.0.0.1:"));
  CAF_CHECK(contains(res.error, "self-signed"));
  CAF_MESSAGE(res.error);
}

CAF_TEST(a certificate signed by the CA file is accepted) {
  auto cert = make_cert("DNS:localhost,IP:127.0.0.1");
  temp_dir dir;
  fetch_options opts;
  opts.ca_file = dir.write("ca.pem", cert.cert);
  test_server server{tls_echo(cert)};
  // By IP address: no SNI, the address checked against the IP entry.
  fetch_request req;
  req.method = "POST";
  req.url = server.url("/token", "https");
  req.body = "grant_type=authorization_code";
  auto res = http_fetch(req, opts);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200);
  CAF_CHECK_EQUAL(res.body, req.body);
  CAF_CHECK_EQUAL(header_of(res, "x-echo-sni"), "");
  // By name: SNI carries it.
  res = get(server.url("/userinfo", "https", "localhost"), opts);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(header_of(res, "x-echo-target"), "/userinfo");
  CAF_CHECK_EQUAL(header_of(res, "x-echo-sni"), "localhost");
}

CAF_TEST(a trusted certificate for another name is refused) {
  auto cert = make_cert("DNS:example.invalid");
  temp_dir dir;
  fetch_options opts;
  opts.ca_file = dir.write("ca.pem", cert.cert);
  test_server server{tls_echo(cert)};
  auto res = get(server.url("/", "https"), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_CHECK(contains(res.error, "IP address mismatch"));
  CAF_MESSAGE(res.error);
  res = get(server.url("/", "https", "localhost"), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_CHECK(contains(res.error, "hostname mismatch"));
  CAF_MESSAGE(res.error);
}

CAF_TEST(a common name alone does not match the host) {
  // The certificate names the host only in its subject's CN, as old ones
  // did; only subject alternative names count.
  auto cert = make_cert("", "localhost");
  temp_dir dir;
  fetch_options opts;
  opts.ca_file = dir.write("ca.pem", cert.cert);
  test_server server{tls_echo(cert)};
  auto res = get(server.url("/", "https", "localhost"), opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_CHECK(contains(res.error, "hostname mismatch"));
}

CAF_TEST(a CA file that cannot be read is a TLS error) {
  fetch_options opts;
  opts.ca_file = "/nonexistent/ca.pem";
  auto res = get("https://127.0.0.1:1/", opts);
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_CHECK(contains(res.error, "cannot load CA file /nonexistent/ca.pem"));
}

CAF_TEST(a server that never starts the handshake times out) {
  test_server server{[](tcp::socket&, test_server& self) {
    self.idle();
  }};
  fetch_options opts;
  opts.timeout_ms = 300;
  auto start = clock_type::now();
  auto res = get(server.url("/", "https"), opts);
  auto took = ms_since(start);
  CAF_CHECK_EQUAL(res.code, fetch_error::timeout);
  CAF_CHECK(contains(res.error, "TLS handshake"));
  CAF_CHECK(took < 1500);
}

CAF_TEST(a plain HTTP server behind an https URL fails the handshake) {
  test_server server{echo};
  auto res = get(server.url("/", "https"));
  CAF_CHECK_EQUAL(res.code, fetch_error::tls);
  CAF_MESSAGE(res.error);
}
