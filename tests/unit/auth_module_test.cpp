#define CAF_SUITE auth_module
#include "tests/kit/module_fixture.hpp"

#include <cstdlib>
#include <map>
#include <memory>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "modules/auth/auth_module.hpp"
#include "modules/auth/base64url.hpp"
#include "modules/auth/jwt.hpp"
#include "modules/auth/pkce.hpp"
#include "modules/auth/signing_key.hpp"
#include "modules/auth/store.hpp"
#include "modules/common/http_fetch.hpp"
#include "modules/common/mcp_kit.hpp"

using namespace sb;
using json = nlohmann::json;
namespace am = sb::modules::auth;

namespace {

const std::string base = "http://127.0.0.1:8080";
const std::string verifier(43, 'v');
const std::string loopback_cb = "http://127.0.0.1:9999/cb";
const field_list json_type = {{"content-type", "application/json"}};
const field_list form_type = {
  {"content-type", "application/x-www-form-urlencoded"}};

std::string header(const http_response& res, const std::string& name) {
  for (auto& [key, val] : res.headers)
    if (key == name)
      return val;
  return {};
}

/// The query fields of a redirect's Location.
std::map<std::string, std::string> location_query(const http_response& res) {
  std::map<std::string, std::string> result;
  auto loc = header(res, "Location");
  auto q = loc.find('?');
  if (q == std::string::npos)
    return result;
  auto fields = modules::form_decode(loc.substr(q + 1));
  CAF_REQUIRE(fields);
  for (auto& [key, val] : *fields)
    result[key] = val;
  return result;
}

/// `name=value` of a Set-Cookie header, without its attributes.
std::string cookie_of(const http_response& res, const std::string& name) {
  for (auto& [key, val] : res.headers)
    if (key == "Set-Cookie" && val.compare(0, name.size() + 1, name + "=") == 0)
      return val.substr(0, val.find(';'));
  return {};
}

struct fixture : test::module_fixture {
  caf::actor auth;
  std::vector<std::string> printed;
  /// What the fake upstream answers, by URL.
  std::map<std::string, modules::fetch_result> upstream;
  std::vector<modules::fetch_request> fetched;
  std::string db_path;

  ~fixture() override {
    if (auth)
      anon_send_exit(auth, caf::exit_reason::user_shutdown);
    consume_messages();
    if (!db_path.empty()) {
      for (auto suffix : {"", "-wal", "-shm", "-journal"})
        ::unlink((db_path + suffix).c_str());
      ::rmdir(db_path.substr(0, db_path.rfind('/')).c_str());
    }
  }

  /// Seconds since the epoch on the test clock.
  int64_t now() {
    auto t = sched.clock().now().time_since_epoch();
    return 1'700'000'000 +
           std::chrono::duration_cast<std::chrono::seconds>(t).count();
  }

  am::auth_options options() {
    am::auth_options opts;
    opts.now = [this] {
      return now();
    };
    opts.print = [this](const std::string& line) {
      printed.push_back(line);
    };
    opts.env = [](const char* name) -> const char* {
      return std::string{name} == "USER" ? "tester" : nullptr;
    };
    opts.fetch = [this](const modules::fetch_request& req,
                        const modules::fetch_options&) {
      fetched.push_back(req);
      auto url = req.url.substr(0, req.url.find('?'));
      auto i = upstream.find(url);
      if (i == upstream.end()) {
        modules::fetch_result res;
        res.code = modules::fetch_error::connect;
        res.error = "no such fake";
        return res;
      }
      return i->second;
    };
    opts.fetch_detached = false;
    return opts;
  }

  /// Starts the module; `settings` without `database` get an in-memory one.
  caf::error try_start(std::string settings = "{}") {
    auto obj = json::parse(settings);
    if (!obj.contains("database"))
      obj["database"] = ":memory:";
    auto ctx = context("auth", obj.dump());
    ctx.public_url = base;
    auto hdl = am::spawn(sys, ctx, options());
    auto rh = self->request(hdl, caf::infinite, start_atom::value);
    consume_messages();
    caf::error result;
    rh.receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
    if (!result)
      auth = hdl;
    else
      anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    return result;
  }

  void start(const std::string& settings = "{}") {
    auto err = try_start(settings);
    CAF_REQUIRE_EQUAL(sys.render(err), sys.render(caf::error{}));
  }

  /// A database file in a fresh directory, so that tests can read the keys.
  std::string file_db() {
    char dir[] = "/tmp/sb-auth-test-XXXXXX";
    CAF_REQUIRE(::mkdtemp(dir) != nullptr);
    db_path = std::string{dir} + "/auth.db";
    return db_path;
  }

  http_response http(const std::string& method, const std::string& target,
                     const std::string& body = {}, field_list headers = {}) {
    auto res = call(method, target, body, std::move(headers));
    CAF_REQUIRE_EQUAL(res.code, errc::none);
    return res.response;
  }

  /// The `error` of an OAuth error answer.
  static std::string error_of(const http_response& res) {
    auto body = json::parse(res.body, nullptr, false);
    return body.is_object() && body.contains("error") &&
               body["error"].is_string()
             ? body["error"].get<std::string>()
             : "<none>";
  }

  /// One query field of a redirect's Location.
  static std::string query_value(const http_response& res,
                                 const std::string& name) {
    return location_query(res)[name];
  }

  json body_of(const http_response& res) {
    return res.body.empty() ? json{} : json::parse(res.body);
  }

  json register_client(json meta) {
    auto res = http("POST", "/oauth/register", meta.dump(), json_type);
    CAF_REQUIRE_EQUAL(res.status, 201);
    return body_of(res);
  }

  std::string public_client(const std::string& redirect = loopback_cb) {
    return register_client({{"redirect_uris", {redirect}}})["client_id"];
  }

  std::string authorize_target(const std::string& client_id,
                               modules::fetch_fields extra = {}) {
    modules::fetch_fields q{
      {"client_id", client_id},
      {"redirect_uri", loopback_cb},
      {"response_type", "code"},
      {"code_challenge", sb::auth::pkce_s256_challenge(verifier)},
      {"code_challenge_method", "S256"},
      {"state", "st-42"}};
    for (auto& [key, val] : extra) {
      auto i = std::find_if(q.begin(), q.end(),
                            [&](auto& x) { return x.first == key; });
      if (i == q.end())
        q.emplace_back(key, val);
      else if (val == "<drop>")
        q.erase(i);
      else
        i->second = val;
    }
    return "/oauth/authorize?" + modules::form_encode(q);
  }

  /// The token of the last printed login link.
  std::string link_token() {
    CAF_REQUIRE(!printed.empty());
    auto& line = printed.back();
    auto pos = line.find("token=");
    CAF_REQUIRE(pos != std::string::npos);
    return line.substr(pos + 6);
  }

  /// Answers the consent page `page` with `decision` as the browser that
  /// got it would: its cookie and the request ID from its form.
  http_response consent(const http_response& page,
                        const std::string& decision = "allow") {
    CAF_REQUIRE_EQUAL(page.status, 200);
    CAF_REQUIRE_NOT_EQUAL(page.body.find("/oauth/approve"), std::string::npos);
    auto authz = cookie_of(page, "sb_authz");
    CAF_REQUIRE(!authz.empty());
    auto marker = std::string{"name=\"request\" value=\""};
    auto at = page.body.find(marker);
    CAF_REQUIRE(at != std::string::npos);
    at += marker.size();
    auto id = page.body.substr(at, page.body.find('"', at) - at);
    return http("POST", "/oauth/approve",
                modules::form_encode({{"request", id}, {"decision", decision}}),
                {{"content-type", "application/x-www-form-urlencoded"},
                 {"cookie", authz}});
  }

  /// Drives a local login up to the consent page.
  http_response consent_page(const std::string& client_id,
                             modules::fetch_fields extra = {}) {
    auto res = http("GET", authorize_target(client_id, std::move(extra)));
    CAF_REQUIRE_EQUAL(res.status, 200);
    auto authz = cookie_of(res, "sb_authz");
    CAF_REQUIRE(!authz.empty());
    auto page = http("GET", "/oauth/local?token=" + link_token(), {},
                     {{"cookie", authz}});
    // The link logs in for this request only: no login cookie, which
    // would reach every port of the host.
    for (auto& [key, val] : page.headers)
      CAF_CHECK(key != "Set-Cookie" || val.find("sb_login") != 0);
    return page;
  }

  /// Drives a local login through to the redirect with the code.
  http_response local_flow(const std::string& client_id,
                           modules::fetch_fields extra = {}) {
    auto done = consent(consent_page(client_id, std::move(extra)));
    CAF_REQUIRE_EQUAL(done.status, 302);
    return done;
  }

  http_response token_request(modules::fetch_fields form,
                              field_list headers = form_type) {
    return http("POST", "/oauth/token", modules::form_encode(form),
                std::move(headers));
  }

  /// Code, then tokens, for a public client; returns the token answer.
  json tokens_for(const std::string& client_id,
                  modules::fetch_fields extra = {}) {
    auto code = location_query(local_flow(client_id, std::move(extra)))["code"];
    auto res = token_request({{"grant_type", "authorization_code"},
                              {"code", code},
                              {"redirect_uri", loopback_cb},
                              {"client_id", client_id},
                              {"code_verifier", verifier}});
    CAF_REQUIRE_EQUAL(res.status, 200);
    CAF_CHECK_EQUAL(header(res, "Cache-Control"), "no-store");
    return body_of(res);
  }

  auth_verdict check(const std::string& token, const std::string& resource,
                     std::vector<std::string> scopes) {
    auto rh = self->request(auth, caf::infinite,
                            auth_check{token, resource, std::move(scopes)});
    consume_messages();
    auth_verdict result;
    rh.receive([&](auth_verdict& x) { result = std::move(x); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }

  /// The module's current signing key, read from its database file.
  sb::auth::signing_key stored_key() {
    sb::auth::store db;
    std::string warning;
    CAF_REQUIRE_EQUAL(db.open(db_path, warning), "");
    std::vector<sb::auth::stored_key> keys;
    CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
    CAF_REQUIRE(!keys.empty());
    std::string why;
    auto key =
      sb::auth::signing_key::from_pem(keys.front().private_key_pem, why);
    CAF_REQUIRE(key);
    return *key;
  }

  nlohmann::ordered_json claims(const std::string& aud) {
    return {{"iss", base},
            {"sub", "local:mallory"},
            {"aud", aud},
            {"client_id", "x"},
            {"scope", "mcp:system"},
            {"iat", now()},
            {"exp", now() + 300},
            {"jti", "j"}};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(auth_module_tests, fixture)

// -- start --------------------------------------------------------------------

CAF_TEST(the module becomes the auth service and a second one is refused) {
  start();
  auto rh = self->request(registry, caf::infinite, auth_service_atom::value);
  consume_messages();
  caf::actor service;
  rh.receive([&](caf::actor& x) { service = x; },
             [](caf::error&) { CAF_FAIL("the registry did not answer"); });
  CAF_CHECK_EQUAL(service, auth);
  auto err = try_start();
  CAF_CHECK(err);
  CAF_CHECK_NOT_EQUAL(sys.render(err).find("auth service"), std::string::npos);
}

CAF_TEST(bad settings fail the start) {
  CAF_CHECK(try_start(R"({"max_clients":0})"));
  std::string err;
  am::auth_settings cfg;
  auto env = [](const char*) -> const char* {
    return nullptr;
  };
  CAF_CHECK_EQUAL(am::parse_settings(R"({"nope":1})", cfg, env),
                  "nope: unknown key");
  CAF_CHECK_EQUAL(
    am::parse_settings(
      R"({"upstream":{"authorize_url":"http://example.com/a"}})", cfg, env),
    "upstream.authorize_url: must be an https URL");
}

// -- metadata -----------------------------------------------------------------

CAF_TEST(the authorization server metadata names every endpoint) {
  start();
  auto res = http("GET", "/.well-known/oauth-authorization-server");
  CAF_REQUIRE_EQUAL(res.status, 200);
  auto doc = body_of(res);
  CAF_CHECK_EQUAL(doc["issuer"], base);
  CAF_CHECK_EQUAL(doc["authorization_endpoint"], base + "/oauth/authorize");
  CAF_CHECK_EQUAL(doc["token_endpoint"], base + "/oauth/token");
  CAF_CHECK_EQUAL(doc["registration_endpoint"], base + "/oauth/register");
  CAF_CHECK_EQUAL(doc["revocation_endpoint"], base + "/oauth/revoke");
  CAF_CHECK_EQUAL(doc["jwks_uri"], base + "/oauth/jwks");
  CAF_CHECK_EQUAL(doc["code_challenge_methods_supported"], json({"S256"}));
  CAF_CHECK_EQUAL(doc["response_types_supported"], json({"code"}));
  CAF_CHECK_EQUAL(doc["token_endpoint_auth_methods_supported"],
                  json({"none", "client_secret_basic", "client_secret_post"}));
}

CAF_TEST(the protected resource metadata lists the scopes of each resource) {
  start();
  // An MCP context to protect, owned by the test.
  auto tool = mcp::tool("system", {{"name", "uptime"}}, "uptime", "test");
  auto rh = self->request(registry, caf::infinite, register_atom::value,
                          caf::actor_cast<caf::actor>(self),
                          std::vector<endpoint>{tool});
  consume_messages();
  rh.receive([](caf::ok_atom) {},
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  auto root = body_of(http("GET", "/.well-known/oauth-protected-resource"));
  CAF_CHECK_EQUAL(root["resource"], base);
  CAF_CHECK_EQUAL(root["authorization_servers"], json({base}));
  CAF_CHECK_EQUAL(root["bearer_methods_supported"], json({"header"}));
  CAF_CHECK_EQUAL(root["scopes_supported"], json({"mcp:system"}));
  auto all = body_of(http("GET", "/.well-known/oauth-protected-resource/mcp"));
  CAF_CHECK_EQUAL(all["resource"], base + "/mcp");
  CAF_CHECK_EQUAL(all["scopes_supported"], json({"mcp:system"}));
  auto one =
    body_of(http("GET", "/.well-known/oauth-protected-resource/mcp/git-tools"));
  CAF_CHECK_EQUAL(one["resource"], base + "/mcp/git-tools");
  CAF_CHECK_EQUAL(one["scopes_supported"], json({"mcp:git-tools"}));
  CAF_CHECK_EQUAL(
    http("GET", "/.well-known/oauth-protected-resource/api/users").status, 404);
  // No context may have such a name.
  CAF_CHECK_EQUAL(
    http("GET", "/.well-known/oauth-protected-resource/mcp/%22%3E%3Cscript%3E")
      .status,
    404);
  CAF_CHECK_EQUAL(
    http("GET", "/.well-known/oauth-protected-resource/mcp/System").status,
    404);
}

CAF_TEST(the jwks holds the public signing key) {
  start();
  auto doc = body_of(http("GET", "/oauth/jwks"));
  CAF_REQUIRE_EQUAL(doc["keys"].size(), 1u);
  auto& key = doc["keys"][0];
  CAF_CHECK_EQUAL(key["kty"], "EC");
  CAF_CHECK_EQUAL(key["alg"], "ES256");
  CAF_CHECK(!key.contains("d"));
}

CAF_TEST(keys rotate and retired keys leave the jwks after their tokens) {
  start(R"({"key_rotation_days":1})");
  advance_time(std::chrono::hours{25});
  consume_messages();
  auto two = body_of(http("GET", "/oauth/jwks"));
  CAF_CHECK_EQUAL(two["keys"].size(), 2u);
  advance_time(std::chrono::hours{1});
  consume_messages();
  auto one = body_of(http("GET", "/oauth/jwks"));
  CAF_CHECK_EQUAL(one["keys"].size(), 1u);
}

// -- registration -------------------------------------------------------------

CAF_TEST(registration answers 201 with the client and a secret only once) {
  start();
  auto pub = register_client(
    {{"redirect_uris", {loopback_cb}}, {"client_name", "Inspector"}});
  CAF_CHECK(!pub["client_id"].get<std::string>().empty());
  CAF_CHECK(pub.contains("client_id_issued_at"));
  CAF_CHECK_EQUAL(pub["token_endpoint_auth_method"], "none");
  CAF_CHECK(!pub.contains("client_secret"));
  auto conf = register_client(
    {{"redirect_uris", {"https://app.example/cb", "com.example.app:/cb"}},
     {"token_endpoint_auth_method", "client_secret_basic"}});
  CAF_CHECK_EQUAL(conf["client_secret"].get<std::string>().size(), 43u);
}

CAF_TEST(registration refuses bad redirect uris and metadata) {
  start();
  auto refused = [&](json meta) {
    auto res = http("POST", "/oauth/register", meta.dump(), json_type);
    CAF_CHECK_EQUAL(res.status, 400);
    return error_of(res);
  };
  CAF_CHECK_EQUAL(refused(json::object()), "invalid_redirect_uri");
  CAF_CHECK_EQUAL(refused({{"redirect_uris", json::array()}}),
                  "invalid_redirect_uri");
  for (auto uri : {"http://app.example/cb", "https://app.example/cb#x",
                   "javascript:alert(1)", "/relative", "https://"})
    CAF_CHECK_EQUAL(refused({{"redirect_uris", {uri}}}),
                    "invalid_redirect_uri");
  CAF_CHECK_EQUAL(refused({{"redirect_uris", {std::string(3000, 'a')}}}),
                  "invalid_redirect_uri");
  CAF_CHECK_EQUAL(
    refused({{"redirect_uris", {loopback_cb}}, {"grant_types", {"password"}}}),
    "invalid_client_metadata");
  CAF_CHECK_EQUAL(
    refused({{"redirect_uris", {loopback_cb}}, {"response_types", {"token"}}}),
    "invalid_client_metadata");
  CAF_CHECK_EQUAL(refused({{"redirect_uris", {loopback_cb}},
                           {"token_endpoint_auth_method", "private_key_jwt"}}),
                  "invalid_client_metadata");
  CAF_CHECK_EQUAL(refused({{"redirect_uris", {loopback_cb}},
                           {"client_name", std::string(201, 'n')}}),
                  "invalid_client_metadata");
  auto big =
    http("POST", "/oauth/register", std::string(17000, ' '), json_type);
  CAF_CHECK_EQUAL(big.status, 413);
}

CAF_TEST(registration stops at max_clients) {
  start(R"({"max_clients":2})");
  public_client();
  public_client();
  auto res = http("POST", "/oauth/register",
                  json({{"redirect_uris", {loopback_cb}}}).dump(), json_type);
  CAF_CHECK_EQUAL(res.status, 507);
}

CAF_TEST(registrations beyond the rate get 429 with retry after) {
  start(R"({"registrations_per_minute":2})");
  public_client();
  public_client();
  auto res = http("POST", "/oauth/register",
                  json({{"redirect_uris", {loopback_cb}}}).dump(), json_type);
  CAF_CHECK_EQUAL(res.status, 429);
  CAF_CHECK_EQUAL(header(res, "Retry-After"), "60");
  advance_time(std::chrono::seconds{61});
  consume_messages();
  public_client();
}

// -- the code flow with a local login
// ------------------------------------------

CAF_TEST(a local login issues a code with state and iss then tokens) {
  start();
  CAF_REQUIRE_EQUAL(printed.size(), 1u);
  CAF_CHECK_EQUAL(
    printed[0].find("login link (single use, valid 10 minutes): " + base +
                    "/oauth/local?token="),
    0u);
  auto id = public_client();
  auto res = http("GET", authorize_target(id));
  CAF_CHECK_EQUAL(res.status, 200);
  CAF_CHECK_EQUAL(res.content_type, "text/html; charset=utf-8");
  auto authz = cookie_of(res, "sb_authz");
  CAF_CHECK(!authz.empty());
  auto set = header(res, "Set-Cookie");
  CAF_CHECK_NOT_EQUAL(set.find("HttpOnly"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(set.find("SameSite=Lax"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(set.find("Path=/oauth"), std::string::npos);
  // A wrong token is refused and does not spend the link.
  CAF_CHECK_EQUAL(
    http("GET", "/oauth/local?token=wrong", {}, {{"cookie", authz}}).status,
    403);
  auto token = link_token();
  auto page =
    http("GET", "/oauth/local?token=" + token, {}, {{"cookie", authz}});
  // Logged in, the person is asked whether the client may have access.
  CAF_CHECK_NOT_EQUAL(page.body.find("local:tester"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(page.body.find(id), std::string::npos);
  CAF_CHECK_NOT_EQUAL(page.body.find(loopback_cb), std::string::npos);
  auto done = consent(page);
  CAF_REQUIRE_EQUAL(done.status, 302);
  CAF_CHECK_EQUAL(header(done, "Location").find(loopback_cb + "?code="), 0u);
  auto q = location_query(done);
  CAF_CHECK_EQUAL(q["state"], "st-42");
  CAF_CHECK_EQUAL(q["iss"], base);
  // The link works once.
  CAF_CHECK_EQUAL(http("GET", "/oauth/local?token=" + token).status, 403);
  auto tok = token_request({{"grant_type", "authorization_code"},
                            {"code", q["code"]},
                            {"redirect_uri", loopback_cb},
                            {"client_id", id},
                            {"code_verifier", verifier}});
  CAF_REQUIRE_EQUAL(tok.status, 200);
  auto body = body_of(tok);
  CAF_CHECK_EQUAL(body["token_type"], "Bearer");
  CAF_CHECK_EQUAL(body["expires_in"], 600);
  CAF_CHECK_EQUAL(body["scope"], "");
  CAF_CHECK(body.contains("refresh_token"));
  auto verdict = check(body["access_token"], "/", {});
  CAF_CHECK_EQUAL(verdict.status, 200);
  CAF_CHECK_EQUAL(verdict.who.subject, "local:tester");
  CAF_CHECK_EQUAL(verdict.who.client_id, id);
  // The code works once.
  auto again = token_request({{"grant_type", "authorization_code"},
                              {"code", q["code"]},
                              {"redirect_uri", loopback_cb},
                              {"client_id", id},
                              {"code_verifier", verifier}});
  CAF_CHECK_EQUAL(again.status, 400);
  CAF_CHECK_EQUAL(error_of(again), "invalid_grant");
}

CAF_TEST(each authorization needs a login link of its own) {
  start();
  auto id = public_client();
  auto first = link_token();
  local_flow(id);
  // The next authorization prints a new link; the spent one stays spent.
  auto res = http("GET", authorize_target(id, {{"state", "again"}}));
  CAF_REQUIRE_EQUAL(res.status, 200);
  CAF_REQUIRE_EQUAL(printed.size(), 2u);
  CAF_CHECK_NOT_EQUAL(link_token(), first);
  CAF_CHECK_EQUAL(http("GET", "/oauth/local?token=" + first, {},
                       {{"cookie", cookie_of(res, "sb_authz")}})
                    .status,
                  403);
  auto done = consent(http("GET", "/oauth/local?token=" + link_token(), {},
                           {{"cookie", cookie_of(res, "sb_authz")}}));
  CAF_REQUIRE_EQUAL(done.status, 302);
  CAF_CHECK_EQUAL(query_value(done, "state"), "again");
  // A link without a waiting request in its browser logs in for nothing.
  http("GET", authorize_target(id));
  auto lone = http("GET", "/oauth/local?token=" + link_token());
  CAF_CHECK_EQUAL(lone.status, 200);
  CAF_CHECK(location_query(lone).empty());
}

CAF_TEST(requests that name another host are refused) {
  start();
  auto with_host = [&](const std::string& host) {
    return http("GET", "/.well-known/oauth-authorization-server", {},
                {{"host", host}})
      .status;
  };
  CAF_CHECK_EQUAL(with_host("127.0.0.1:8080"), 200);
  CAF_CHECK_EQUAL(with_host("LOCALHOST:8080"), 200);
  CAF_CHECK_EQUAL(with_host("[::1]:8080"), 200);
  // A name of another site pointed at the node (DNS rebinding), or another
  // port of this host.
  CAF_CHECK_EQUAL(with_host("rebind.example:8080"), 403);
  CAF_CHECK_EQUAL(with_host("127.0.0.1:9999"), 403);
  CAF_CHECK_EQUAL(http("POST", "/oauth/register",
                       R"({"redirect_uris":["http://127.0.0.1:9/cb"]})",
                       {{"content-type", "application/json"},
                        {"host", "rebind.example:8080"}})
                    .status,
                  403);
}

CAF_TEST(one client cannot crowd out the logins of others) {
  start();
  // More requests than the whole table holds, from one client.
  auto flood = public_client();
  for (int i = 0; i < 1100; ++i)
    CAF_REQUIRE_EQUAL(http("GET", authorize_target(flood)).status, 200);
  auto id = public_client();
  auto page = consent_page(id);
  CAF_CHECK_EQUAL(consent(page).status, 302);
}

CAF_TEST(the scope defaults to the scopes of the resource) {
  start();
  auto id = public_client();
  auto tok = tokens_for(id, {{"resource", base + "/mcp/system"}});
  CAF_CHECK_EQUAL(tok["scope"], "mcp:system");
  auto narrow = tokens_for(id, {{"scope", "mcp:a mcp:b"}});
  CAF_CHECK_EQUAL(narrow["scope"], "mcp:a mcp:b");
}

// -- PKCE and redirect URIs ---------------------------------------------------

CAF_TEST(authorization without S256 PKCE is refused at the redirect uri) {
  start();
  auto id = public_client();
  auto no_challenge =
    http("GET", authorize_target(id, {{"code_challenge", "<drop>"}}));
  CAF_REQUIRE_EQUAL(no_challenge.status, 302);
  auto q = location_query(no_challenge);
  CAF_CHECK_EQUAL(q["error"], "invalid_request");
  CAF_CHECK_EQUAL(q["state"], "st-42");
  auto plain =
    http("GET", authorize_target(id, {{"code_challenge_method", "plain"}}));
  CAF_CHECK_EQUAL(query_value(plain, "error"), "invalid_request");
  auto no_method =
    http("GET", authorize_target(id, {{"code_challenge_method", "<drop>"}}));
  CAF_CHECK_EQUAL(query_value(no_method, "error"), "invalid_request");
  auto bad_type =
    http("GET", authorize_target(id, {{"response_type", "token"}}));
  CAF_CHECK_EQUAL(query_value(bad_type, "error"), "unsupported_response_type");
  auto bad_resource =
    http("GET", authorize_target(id, {{"resource", "https://other.example"}}));
  CAF_CHECK_EQUAL(query_value(bad_resource, "error"), "invalid_target");
}

CAF_TEST(a wrong code verifier gets invalid grant) {
  start();
  auto id = public_client();
  auto code = query_value(local_flow(id), "code");
  auto res = token_request({{"grant_type", "authorization_code"},
                            {"code", code},
                            {"redirect_uri", loopback_cb},
                            {"client_id", id},
                            {"code_verifier", std::string(43, 'w')}});
  CAF_CHECK_EQUAL(res.status, 400);
  CAF_CHECK_EQUAL(error_of(res), "invalid_grant");
}

CAF_TEST(redirect uris must match except the port of loopback http) {
  start();
  auto id =
    register_client(
      {{"redirect_uris", {loopback_cb, "https://app.example/cb"}}})["client_id"]
      .get<std::string>();
  // Unknown path, another https port, a missing one: a page, no redirect.
  for (auto uri : {"http://127.0.0.1:9999/other", "https://app.example:8443/cb",
                   "https://app.example/cb/"}) {
    auto res = http("GET", authorize_target(id, {{"redirect_uri", uri}}), {},
                    {{"accept", "application/json"}});
    CAF_CHECK_EQUAL(res.status, 400);
    CAF_CHECK_EQUAL(header(res, "Location"), "");
  }
  auto html = http(
    "GET", authorize_target(id, {{"redirect_uri", "https://evil.example/cb"}}));
  CAF_CHECK_EQUAL(html.status, 400);
  CAF_CHECK_EQUAL(html.content_type, "text/html; charset=utf-8");
  CAF_CHECK_EQUAL(http("GET", authorize_target("nobody")).status, 400);
  // Loopback http with another port is fine, and the token needs that URI.
  auto other = "http://127.0.0.1:51234/cb";
  auto done = local_flow(id, {{"redirect_uri", other}});
  CAF_CHECK_EQUAL(header(done, "Location").find(std::string{other} + "?"), 0u);
  auto code = query_value(done, "code");
  auto res = token_request({{"grant_type", "authorization_code"},
                            {"code", code},
                            {"redirect_uri", other},
                            {"client_id", id},
                            {"code_verifier", verifier}});
  CAF_CHECK_EQUAL(res.status, 200);
}

// -- expiry -------------------------------------------------------------------

CAF_TEST(codes expire after a minute and access tokens after their ttl) {
  start();
  auto id = public_client();
  auto code = query_value(local_flow(id), "code");
  advance_time(std::chrono::seconds{61});
  consume_messages();
  auto res = token_request({{"grant_type", "authorization_code"},
                            {"code", code},
                            {"redirect_uri", loopback_cb},
                            {"client_id", id},
                            {"code_verifier", verifier}});
  CAF_CHECK_EQUAL(error_of(res), "invalid_grant");
  auto tok = tokens_for(id, {{"scope", "mcp:system"}});
  std::string access = tok["access_token"];
  CAF_CHECK_EQUAL(check(access, "/mcp/system", {"mcp:system"}).status, 200);
  advance_time(std::chrono::seconds{600 + 31});
  consume_messages();
  auto late = check(access, "/mcp/system", {"mcp:system"});
  CAF_CHECK_EQUAL(late.status, 401);
  CAF_CHECK_NOT_EQUAL(late.challenge.find("error=\"invalid_token\""),
                      std::string::npos);
}

// -- refresh and revocation ---------------------------------------------------

CAF_TEST(refresh tokens rotate and a reused one revokes its family) {
  start();
  auto id = public_client();
  auto first = tokens_for(id, {{"scope", "mcp:a mcp:b"}});
  std::string rt1 = first["refresh_token"];
  auto refresh = [&](const std::string& rt, std::string scope = {}) {
    modules::fetch_fields form{{"grant_type", "refresh_token"},
                               {"refresh_token", rt},
                               {"client_id", id}};
    if (!scope.empty())
      form.emplace_back("scope", scope);
    return token_request(form);
  };
  auto wider = refresh(rt1, "mcp:a mcp:c");
  CAF_CHECK_EQUAL(error_of(wider), "invalid_scope");
  auto second = refresh(rt1, "mcp:a");
  CAF_REQUIRE_EQUAL(second.status, 200);
  auto body = body_of(second);
  CAF_CHECK_EQUAL(body["scope"], "mcp:a");
  std::string rt2 = body["refresh_token"];
  CAF_CHECK_NOT_EQUAL(rt1, rt2);
  CAF_CHECK_EQUAL(check(body["access_token"], "/mcp/a", {"mcp:a"}).status, 200);
  // rt1 again: reuse. The family dies, rt2 with it.
  auto reuse = refresh(rt1);
  CAF_CHECK_EQUAL(reuse.status, 400);
  CAF_CHECK_EQUAL(error_of(reuse), "invalid_grant");
  CAF_CHECK_EQUAL(error_of(refresh(rt2)), "invalid_grant");
}

CAF_TEST(revocation ends a grant and answers 200 for unknown tokens) {
  start();
  auto id = public_client();
  std::string rt = tokens_for(id)["refresh_token"];
  auto revoke = [&](const std::string& token) {
    return http("POST", "/oauth/revoke",
                modules::form_encode({{"token", token}, {"client_id", id}}),
                form_type);
  };
  CAF_CHECK_EQUAL(revoke(rt).status, 200);
  CAF_CHECK_EQUAL(revoke("never-issued").status, 200);
  auto res = token_request({{"grant_type", "refresh_token"},
                            {"refresh_token", rt},
                            {"client_id", id}});
  CAF_CHECK_EQUAL(error_of(res), "invalid_grant");
}

CAF_TEST(confidential clients authenticate with basic or post) {
  start();
  auto client =
    register_client({{"redirect_uris", {loopback_cb}},
                     {"token_endpoint_auth_method", "client_secret_basic"}});
  std::string id = client["client_id"];
  std::string secret = client["client_secret"];
  auto code = query_value(local_flow(id), "code");
  modules::fetch_fields form{{"grant_type", "authorization_code"},
                             {"code", code},
                             {"redirect_uri", loopback_cb},
                             {"code_verifier", verifier}};
  auto basic = [](const std::string& user, const std::string& pass) {
    // Standard base64 of the form-encoded pair; our IDs need no encoding.
    auto raw = user + ":" + pass;
    auto text = sb::auth::base64url_encode(raw);
    for (auto& c : text)
      c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (text.size() % 4 != 0)
      text += '=';
    return "Basic " + text;
  };
  auto no_secret = token_request(form);
  CAF_CHECK_EQUAL(no_secret.status, 401);
  CAF_CHECK_EQUAL(error_of(no_secret), "invalid_client");
  auto wrong =
    token_request(form, {{"content-type", "application/x-www-form-urlencoded"},
                         {"authorization", basic(id, "wrong")}});
  CAF_CHECK_EQUAL(wrong.status, 401);
  CAF_CHECK_EQUAL(header(wrong, "WWW-Authenticate"), "Basic realm=\"oauth\"");
  auto ok =
    token_request(form, {{"content-type", "application/x-www-form-urlencoded"},
                         {"authorization", basic(id, secret)}});
  CAF_CHECK_EQUAL(ok.status, 200);
  // client_secret_post works too, on a fresh code.
  auto code2 = query_value(local_flow(id), "code");
  auto post = token_request({{"grant_type", "authorization_code"},
                             {"code", code2},
                             {"redirect_uri", loopback_cb},
                             {"code_verifier", verifier},
                             {"client_id", id},
                             {"client_secret", secret}});
  CAF_CHECK_EQUAL(post.status, 200);
  auto bad_grant = token_request(
    {{"grant_type", "password"}, {"client_id", id}, {"client_secret", secret}});
  CAF_CHECK_EQUAL(error_of(bad_grant), "unauthorized_client");
}

// -- the token check ----------------------------------------------------------

CAF_TEST(verdicts carry the challenge that tells clients where to go) {
  start();
  auto none = check("", "/mcp/system", {"mcp:system"});
  CAF_CHECK_EQUAL(none.status, 401);
  CAF_CHECK_EQUAL(none.challenge,
                  "Bearer resource_metadata=\"" + base +
                    "/.well-known/oauth-protected-resource/mcp/system\", "
                    "scope=\"mcp:system\"");
  auto root = check("", "/", {});
  CAF_CHECK_EQUAL(root.challenge, "Bearer resource_metadata=\"" + base +
                                    "/.well-known/oauth-protected-resource\"");
  auto junk = check("not.a.token", "/mcp/system", {"mcp:system"});
  CAF_CHECK_EQUAL(junk.status, 401);
  CAF_CHECK_EQUAL(junk.challenge.find("Bearer error=\"invalid_token\", "), 0u);
  CAF_CHECK_NOT_EQUAL(junk.message.find("malformed"), std::string::npos);
  auto id = public_client();
  std::string access =
    tokens_for(id, {{"scope", "mcp:git-tools"}})["access_token"];
  auto lacking = check(access, "/mcp/system", {"mcp:system"});
  CAF_CHECK_EQUAL(lacking.status, 403);
  CAF_CHECK_EQUAL(lacking.challenge,
                  "Bearer error=\"insufficient_scope\", scope=\"mcp:system\", "
                  "resource_metadata=\"" +
                    base +
                    "/.well-known/oauth-protected-resource/mcp/system\"");
}

CAF_TEST(a token serves its resource and the paths below it only) {
  start();
  auto id = public_client();
  auto scope = modules::fetch_fields{{"scope", "mcp:system mcp:other"}};
  std::string ctx_token = tokens_for(
    id, {{"resource", base + "/mcp/system"}, scope[0]})["access_token"];
  CAF_CHECK_EQUAL(check(ctx_token, "/mcp/system", {"mcp:system"}).status, 200);
  // Again, from the cache.
  CAF_CHECK_EQUAL(check(ctx_token, "/mcp/system", {"mcp:system"}).status, 200);
  auto elsewhere = check(ctx_token, "/mcp/other", {"mcp:other"});
  CAF_CHECK_EQUAL(elsewhere.status, 401);
  CAF_CHECK_NOT_EQUAL(elsewhere.message.find("not for this resource"),
                      std::string::npos);
  CAF_CHECK_EQUAL(check(ctx_token, "/mcp/systemx", {}).status, 401);
  CAF_CHECK_EQUAL(check(ctx_token, "/mcp", {}).status, 401);
  std::string mcp_token =
    tokens_for(id, {{"resource", base + "/mcp"}, scope[0]})["access_token"];
  CAF_CHECK_EQUAL(check(mcp_token, "/mcp/system", {"mcp:system"}).status, 200);
  CAF_CHECK_EQUAL(check(mcp_token, "/mcp/other", {"mcp:other"}).status, 200);
  CAF_CHECK_EQUAL(check(mcp_token, "/", {}).status, 401);
}

CAF_TEST(forged tokens are refused) {
  start(json({{"database", file_db()}}).dump());
  auto key = stored_key();
  auto good = sb::auth::sign_jwt(key, claims(base + "/mcp/system"));
  CAF_REQUIRE(good);
  CAF_CHECK_EQUAL(check(*good, "/mcp/system", {"mcp:system"}).status, 200);
  // Another issuer, signed with the right key.
  auto other = claims(base + "/mcp/system");
  other["iss"] = "http://127.0.0.1:9090";
  auto wrong_iss = sb::auth::sign_jwt(key, other);
  CAF_CHECK_EQUAL(check(*wrong_iss, "/mcp/system", {}).status, 401);
  // Another audience.
  auto wrong_aud = sb::auth::sign_jwt(key, claims("https://elsewhere.example"));
  CAF_CHECK_EQUAL(check(*wrong_aud, "/mcp/system", {}).status, 401);
  // Another key.
  auto stranger = sb::auth::signing_key::generate();
  auto foreign = sb::auth::sign_jwt(stranger, claims(base + "/mcp/system"));
  CAF_CHECK_EQUAL(check(*foreign, "/mcp/system", {}).status, 401);
  // alg none, with our kid.
  auto header = sb::auth::base64url_encode(
    R"({"alg":"none","typ":"at+jwt","kid":")" + key.kid() + R"("})");
  auto payload =
    sb::auth::base64url_encode(claims(base + "/mcp/system").dump());
  CAF_CHECK_EQUAL(check(header + "." + payload + ".", "/mcp/system", {}).status,
                  401);
  // A changed signature.
  auto tampered = *good;
  auto& last = tampered[tampered.size() - 2];
  last = last == 'A' ? 'B' : 'A';
  CAF_CHECK_EQUAL(check(tampered, "/mcp/system", {}).status, 401);
  // Changed claims under the good signature.
  auto dot = good->find('.');
  auto dot2 = good->find('.', dot + 1);
  auto raised = claims(base + "/mcp/system");
  raised["scope"] = "mcp:system mcp:terminal";
  auto swapped = good->substr(0, dot + 1) +
                 sb::auth::base64url_encode(raised.dump()) + good->substr(dot2);
  CAF_CHECK_EQUAL(check(swapped, "/mcp/system", {}).status, 401);
}

// -- upstream login -----------------------------------------------------------

namespace {

const std::string up_base = "http://127.0.0.1:1";

std::string upstream_settings(const std::string& allow) {
  return R"({"upstream":{"name":"gh","authorize_url":")" + up_base +
         R"(/login/oauth/authorize","token_url":")" + up_base +
         R"(/login/oauth/access_token","userinfo_url":")" + up_base +
         R"(/user","emails_url":")" + up_base +
         R"(/user/emails","client_id":"up-id","client_secret":"up-secret",)"
         R"("scope":"read:user","login_claim":"login"},"allow":)" +
         allow + "}";
}

modules::fetch_result answer(const std::string& body) {
  modules::fetch_result res;
  res.status = 200;
  res.body = body;
  return res;
}

} // namespace

CAF_TEST(only the browser that was asked can answer and deny ends the flow) {
  start();
  auto id = public_client();
  auto page = consent_page(id);
  auto marker = std::string{"name=\"request\" value=\""};
  auto at = page.body.find(marker) + marker.size();
  auto request = page.body.substr(at, page.body.find('"', at) - at);
  auto post = [&](const std::string& form, field_list headers) {
    headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    return http("POST", "/oauth/approve", form, std::move(headers));
  };
  auto allow =
    modules::form_encode({{"request", request}, {"decision", "allow"}});
  // Without the cookie (a post from another site), with another request's
  // cookie, or with no request: refused, and no code goes out.
  CAF_CHECK_EQUAL(post(allow, {}).status, 400);
  CAF_CHECK_EQUAL(post(allow, {{"cookie", "sb_authz=other"}}).status, 400);
  CAF_CHECK_EQUAL(
    post("decision=allow", {{"cookie", cookie_of(page, "sb_authz")}}).status,
    400);
  CAF_CHECK_EQUAL(http("POST", "/oauth/approve", allow,
                       {{"cookie", cookie_of(page, "sb_authz")}})
                    .status,
                  400);
  // Deny sends the client access_denied; the request is then gone.
  auto denied = consent(page, "deny");
  CAF_REQUIRE_EQUAL(denied.status, 302);
  CAF_CHECK_EQUAL(query_value(denied, "error"), "access_denied");
  CAF_CHECK_EQUAL(query_value(denied, "state"), "st-42");
  CAF_CHECK(query_value(denied, "code").empty());
  CAF_CHECK_EQUAL(consent(page).status, 400);
  // The page cannot be framed and posts only to this node.
  CAF_CHECK_EQUAL(header(page, "X-Frame-Options"), "DENY");
  CAF_CHECK_NOT_EQUAL(
    header(page, "Content-Security-Policy").find("form-action 'self'"),
    std::string::npos);
}

CAF_TEST(an upstream login on the allow list gets a code) {
  start(upstream_settings(R"({"logins":["Alice"]})"));
  CAF_CHECK(printed.empty());
  upstream[up_base + "/login/oauth/access_token"] =
    answer(R"({"access_token":"gho_x","token_type":"bearer"})");
  upstream[up_base + "/user"] = answer(R"({"login":"alice","id":1})");
  upstream[up_base + "/user/emails"] =
    answer(R"([{"email":"alice@example.com","verified":true}])");
  auto id = public_client();
  auto res = http("GET", authorize_target(id));
  CAF_REQUIRE_EQUAL(res.status, 302);
  auto loc = header(res, "Location");
  CAF_CHECK_EQUAL(loc.find(up_base + "/login/oauth/authorize?"), 0u);
  auto q = location_query(res);
  CAF_CHECK_EQUAL(q["client_id"], "up-id");
  CAF_CHECK_EQUAL(q["redirect_uri"], base + "/oauth/callback");
  CAF_CHECK_EQUAL(q["scope"], "read:user");
  auto page =
    http("GET",
         "/oauth/callback?" +
           modules::form_encode({{"code", "up-code"}, {"state", q["state"]}}));
  CAF_CHECK_NOT_EQUAL(page.body.find("gh:alice"), std::string::npos);
  auto done = consent(page);
  CAF_REQUIRE_EQUAL(done.status, 302);
  auto back = location_query(done);
  CAF_CHECK_EQUAL(back["state"], "st-42");
  CAF_REQUIRE_EQUAL(fetched.size(), 3u);
  auto form = modules::form_decode(fetched[0].body);
  CAF_REQUIRE(form);
  CAF_CHECK_EQUAL(*find_field(*form, "code"), "up-code");
  CAF_CHECK_EQUAL(*find_field(*form, "client_secret"), "up-secret");
  CAF_CHECK_EQUAL(*find_field(fetched[1].headers, "Authorization"),
                  "Bearer gho_x");
  auto tok = token_request({{"grant_type", "authorization_code"},
                            {"code", back["code"]},
                            {"redirect_uri", loopback_cb},
                            {"client_id", id},
                            {"code_verifier", verifier}});
  CAF_REQUIRE_EQUAL(tok.status, 200);
  auto verdict = check(body_of(tok)["access_token"], "/", {});
  CAF_CHECK_EQUAL(verdict.who.subject, "gh:alice");
  // The state works once.
  auto replay =
    http("GET",
         "/oauth/callback?" +
           modules::form_encode({{"code", "up-code"}, {"state", q["state"]}}));
  CAF_CHECK_EQUAL(replay.status, 400);
}

CAF_TEST(upstream logins off the allow list are denied) {
  start(upstream_settings(R"({"domains":["example.org"]})"));
  upstream[up_base + "/login/oauth/access_token"] =
    answer(R"({"access_token":"gho_x"})");
  upstream[up_base + "/user"] = answer(R"({"login":"bob"})");
  upstream[up_base + "/user/emails"] =
    answer(R"([{"email":"bob@example.org","verified":false},)"
           R"({"email":"bob@example.com","verified":true}])");
  auto id = public_client();
  auto q = location_query(http("GET", authorize_target(id)));
  auto done =
    http("GET", "/oauth/callback?" +
                  modules::form_encode({{"code", "c"}, {"state", q["state"]}}));
  CAF_REQUIRE_EQUAL(done.status, 302);
  CAF_CHECK_EQUAL(query_value(done, "error"), "access_denied");
  CAF_CHECK_EQUAL(query_value(done, "state"), "st-42");
  // A verified address of an allowed domain lets in.
  upstream[up_base + "/user/emails"] =
    answer(R"([{"email":"bob@example.org","verified":true}])");
  q = location_query(http("GET", authorize_target(id)));
  done = consent(http(
    "GET", "/oauth/callback?" +
             modules::form_encode({{"code", "c"}, {"state", q["state"]}})));
  CAF_CHECK(location_query(done).count("code") == 1);
  // A refusal at the provider.
  q = location_query(http("GET", authorize_target(id)));
  done = http("GET", "/oauth/callback?" +
                       modules::form_encode(
                         {{"error", "access_denied"}, {"state", q["state"]}}));
  CAF_CHECK_EQUAL(query_value(done, "error"), "access_denied");
}

CAF_TEST_FIXTURE_SCOPE_END()
