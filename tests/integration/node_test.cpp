#define CAF_SUITE node
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/node.hpp"
#include "tests/kit/http_client.hpp"
#include "tools/switchboard/factories.hpp"

using namespace sb;
using namespace std::chrono_literals;
using json = nlohmann::json;
using test::http_client;
using test::http_reply;

namespace {

using clock_type = std::chrono::steady_clock;

long elapsed_ms(clock_type::time_point since) {
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() -
                                                          since)
      .count());
}

/// Starts a whole node in this process on a free port.
struct fixture {
  std::unique_ptr<node> n;
  uint16_t port = 0;

  node_config config() {
    node_config cfg;
    cfg.port = 0;
    cfg.log_level = "warn";
    cfg.modules = {"system", "users", "testing"};
    cfg.request_timeout_ms = 2000;
    cfg.settings["http"] = json{
      {"max_header_bytes", 2048},
      {"max_target_bytes", 512},
      {"max_body_bytes", 4096},
      {"read_timeout_ms", 2000},
      {"max_pipelined", 8}}.dump();
    return cfg;
  }

  void start(node_config cfg) {
    n = std::make_unique<node>(std::move(cfg), builtin_factories());
    auto err = n->start();
    CAF_REQUIRE_EQUAL(err, "");
    auto& addr = n->address();
    port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
    CAF_REQUIRE_NOT_EQUAL(port, 0);
  }

  fixture() { start(config()); }

  ~fixture() {
    if (n)
      n->stop();
  }

  http_reply get(const std::string& target) {
    http_client c{port};
    return c.request("GET", target);
  }

  /// The error code of a JSON error body.
  static std::string code_of(const http_reply& r) {
    auto doc = json::parse(r.body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("error"))
      return "<no error body: " + r.body + ">";
    return doc["error"]["code"].get<std::string>();
  }

  /// The node still serves after whatever a test did to it.
  void check_alive() {
    auto r = get("/health");
    CAF_CHECK_EQUAL(r.status, 200);
    CAF_CHECK_EQUAL(r.body, R"({"status":"healthy"})");
  }

  /// Sends raw bytes on a fresh connection and reads one response.
  http_reply raw(const std::string& bytes) {
    http_client c{port};
    c.send_raw(bytes);
    return c.read_reply();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_tests, fixture)

CAF_TEST(the node serves health and the route list on its real port) {
  check_alive();
  // HTTP routes of system, users and testing (14), and the MCP entries of
  // system (10) and testing (3).
  CAF_CHECK_EQUAL(n->routes(), 27u);
  auto r = get("/api/routes");
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.header("content-type"), "application/json");
  auto routes = json::parse(r.body)["routes"];
  CAF_CHECK_EQUAL(routes.size(), 27u);
  CAF_CHECK_EQUAL(get("/health/ready").body, R"({"status":"running"})");
  CAF_CHECK_EQUAL(get("/api/nodes").body, R"({"role":"single","nodes":[]})");
  CAF_CHECK_EQUAL(get("/health/modules/users").status, 200);
  CAF_CHECK_EQUAL(code_of(get("/health/modules/nope")), "unknown_module");
}

CAF_TEST(users go through create read update delete over http) {
  http_client c{port};
  auto r = c.request("POST", "/api/users",
                     R"({"name":"Ada","email":"ada@example.org"})",
                     {"Content-Type: application/json"});
  CAF_REQUIRE_EQUAL(r.status, 201);
  auto id = json::parse(r.body)["id"].get<std::string>();
  CAF_CHECK_EQUAL(r.header("location"), "/api/users/" + id);
  r = c.request("GET", "/api/users/" + id);
  CAF_CHECK_EQUAL(r.status, 200);
  auto user = json::parse(r.body);
  CAF_CHECK_EQUAL(user["name"], "Ada");
  r = c.request("PATCH", "/api/users/" + id, R"({"name":"Ada L."})");
  CAF_CHECK_EQUAL(r.status, 200);
  r = c.request("DELETE", "/api/users/" + id);
  CAF_CHECK_EQUAL(r.status, 204);
  r = c.request("GET", "/api/users/" + id);
  CAF_CHECK_EQUAL(r.status, 404);
  r = c.request("POST", "/api/users", R"({"name":""})");
  CAF_CHECK_EQUAL(r.status, 400);
  auto err = json::parse(r.body);
  CAF_CHECK_EQUAL(err["error"]["field"], "name");
}

CAF_TEST(an unknown path answers 404 no_route with a json body) {
  auto r = get("/nope");
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(
    r.body,
    R"({"error":{"code":"no_route","message":"no endpoint matches this path"}})");
  check_alive();
}

CAF_TEST(a wrong method answers 405 with allow) {
  http_client c{port};
  auto r = c.request("DELETE", "/health");
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(code_of(r), "method_not_allowed");
  CAF_CHECK_EQUAL(r.header("allow"), "GET, HEAD");
  check_alive();
}

CAF_TEST(malformed percent encoding answers 400) {
  for (auto target : {"/api/users/%zz", "/api/users/%4", "/api/%"}) {
    auto r = get(target);
    CAF_CHECK_EQUAL(r.status, 400);
    CAF_CHECK_EQUAL(code_of(r), "bad_request");
  }
  check_alive();
}

CAF_TEST(an encoded slash stays inside its segment) {
  // Reaches GET /api/users/:id with the id "a/b", which does not exist: the
  // users module answers, not the router.
  auto r = get("/api/users/a%2Fb");
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(code_of(r), "not_found");
  r = get("/testing/echo/x%2Fy/z");
  CAF_CHECK_EQUAL(r.status, 200);
  auto echo = json::parse(r.body);
  CAF_CHECK_EQUAL(echo["params"]["rest"], "x/y/z");
}

CAF_TEST(a body over the limit answers 413) {
  http_client c{port};
  auto r = c.request("POST", "/api/users", std::string(5000, 'x'),
                     {"Content-Type: application/json"});
  CAF_CHECK_EQUAL(r.status, 413);
  CAF_CHECK_EQUAL(code_of(r), "payload_too_large");
  check_alive();
}

CAF_TEST(bytes that are not utf8 in path and query do not crash an owner) {
  for (auto target : {"/testing/echo/%ff", "/testing/echo/x?q=%c3%28",
                      "/testing/echo/%ed%a0%80"}) {
    auto r = get(target);
    CAF_CHECK_EQUAL(r.status, 200);
    CAF_CHECK(!json::parse(r.body, nullptr, false).is_discarded());
  }
  auto m = json::parse(get("/health/modules/testing").body);
  CAF_CHECK_EQUAL(m["restarts"], 0);
  CAF_CHECK_EQUAL(m["state"], "running");
}

CAF_TEST(a long target answers 414 and long headers answer 431) {
  auto r = get("/" + std::string(600, 'a'));
  CAF_CHECK_EQUAL(r.status, 414);
  CAF_CHECK_EQUAL(code_of(r), "uri_too_long");
  r = get("/" + std::string(3000, 'a'));
  CAF_CHECK_EQUAL(r.status, 414);
  http_client c{port};
  r = c.request("GET", "/health", {}, {"X-Big: " + std::string(3000, 'b')});
  CAF_CHECK_EQUAL(r.status, 431);
  CAF_CHECK_EQUAL(code_of(r), "header_too_large");
  check_alive();
}

CAF_TEST(garbage instead of a request answers 400) {
  auto r = raw("HELLO\r\n\r\n");
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK_EQUAL(code_of(r), "bad_request");
  r = raw("GET http://example.org/ HTTP/1.1\r\nHost: x\r\n\r\n");
  CAF_CHECK_EQUAL(r.status, 400);
  check_alive();
}

CAF_TEST(a protected endpoint stays closed without an auth service) {
  auto r = get("/testing/protected");
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK_EQUAL(code_of(r), "auth_unavailable");
  check_alive();
}

CAF_TEST(a slow owner answers 504 at the request timeout) {
  auto start = clock_type::now();
  auto r = get("/testing/stall");
  auto ms = elapsed_ms(start);
  CAF_CHECK_EQUAL(r.status, 504);
  CAF_CHECK_EQUAL(code_of(r), "timeout");
  CAF_CHECK(ms >= 1900 && ms < 4000);
  check_alive();
}

CAF_TEST(an owner killed mid - request answers 503 well before the timeout) {
  http_client waiting{port};
  CAF_REQUIRE(
    waiting.send_raw(test::make_request_bytes("GET", "/testing/stall")));
  std::this_thread::sleep_for(100ms);
  auto start = clock_type::now();
  http_client killer{port};
  auto k = killer.request("POST", "/testing/crash");
  CAF_CHECK_EQUAL(k.status, 503);
  auto r = waiting.read_reply();
  auto ms = elapsed_ms(start);
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK_EQUAL(code_of(r), "owner_down");
  CAF_CHECK(ms < 1000);
  // The supervisor restarts the module and its routes return.
  int state_checks = 0;
  while (get("/testing/echo/x").status != 200 && ++state_checks < 100)
    std::this_thread::sleep_for(20ms);
  CAF_CHECK_EQUAL(get("/testing/echo/x").status, 200);
  auto m = json::parse(get("/health/modules/testing").body);
  CAF_CHECK_EQUAL(m["restarts"], 1);
  check_alive();
}

CAF_TEST(head answers with content length and no body) {
  http_client c{port};
  auto r = c.request("HEAD", "/health");
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.header("content-length"), "20");
  CAF_CHECK_EQUAL(r.body, "");
  // The connection is still in step: the next response is intact.
  r = c.request("GET", "/health");
  CAF_CHECK_EQUAL(r.body, R"({"status":"healthy"})");
}

CAF_TEST(x request id is echoed when valid and generated otherwise) {
  http_client c{port};
  auto r = c.request("GET", "/health", {}, {"X-Request-Id: abc-123._Z"});
  CAF_CHECK_EQUAL(r.header("x-request-id"), "abc-123._Z");
  r = c.request("GET", "/health", {}, {"X-Request-Id: has space"});
  auto id = r.header("x-request-id");
  CAF_CHECK(!id.empty() && id != "has space");
  r = c.request("GET", "/nope", {}, {"X-Request-Id: " + std::string(129, 'a')});
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(r.header("x-request-id").size() <= 128, true);
  CAF_CHECK_NOT_EQUAL(r.header("x-request-id"), std::string(129, 'a'));
  r = c.request("GET", "/health");
  CAF_CHECK(!r.header("x-request-id").empty());
}

CAF_TEST(pipelined requests are answered in order) {
  http_client c{port};
  std::string burst = test::make_request_bytes("GET", "/testing/stall?ms=200") +
                      test::make_request_bytes("GET", "/health") +
                      test::make_request_bytes("GET", "/nope");
  CAF_REQUIRE(c.send_raw(burst));
  auto a = c.read_reply();
  auto b = c.read_reply();
  auto d = c.read_reply();
  CAF_CHECK_EQUAL(a.status, 200);
  CAF_CHECK_EQUAL(a.body, R"({"stalled":true})");
  CAF_CHECK_EQUAL(b.body, R"({"status":"healthy"})");
  CAF_CHECK_EQUAL(d.status, 404);
}

CAF_TEST(too many waiting requests answer 503 overloaded) {
  n->stop();
  auto cfg = config();
  cfg.max_pending_requests = 2;
  start(std::move(cfg));
  http_client a{port};
  http_client b{port};
  a.send_raw(test::make_request_bytes("GET", "/testing/stall?ms=1000"));
  b.send_raw(test::make_request_bytes("GET", "/testing/stall?ms=1000"));
  std::this_thread::sleep_for(200ms);
  auto r = get("/health");
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK_EQUAL(code_of(r), "overloaded");
  CAF_CHECK_EQUAL(a.read_reply().status, 200);
  CAF_CHECK_EQUAL(b.read_reply().status, 200);
  check_alive();
}

CAF_TEST_FIXTURE_SCOPE_END()
