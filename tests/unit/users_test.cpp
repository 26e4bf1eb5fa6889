#define CAF_SUITE users
#include "tests/kit/module_fixture.hpp"

#include <nlohmann/json.hpp>

#include "modules/users/users_module.hpp"

using namespace sb;
using json = nlohmann::json;

namespace {

const field_list json_type = {{"content-type", "application/json"}};

struct fixture : test::module_fixture {
  caf::actor users;

  fixture() {
    users = start_module(modules::users::make_factory(), R"({"max_users":5})");
  }

  ~fixture() override {
    anon_send_exit(users, caf::exit_reason::user_shutdown);
    consume_messages();
  }

  /// Calls and parses the JSON body; fails the test on a node error.
  std::pair<uint16_t, json> http(const std::string& method,
                                 const std::string& target,
                                 const std::string& body = {}) {
    auto res = call(method, target, body, json_type);
    CAF_REQUIRE_EQUAL(res.code, errc::none);
    auto& r = res.response;
    return {r.status, r.body.empty() ? json{} : json::parse(r.body)};
  }

  json create(const std::string& name, const std::string& email = {}) {
    json body = {{"name", name}};
    if (!email.empty())
      body["email"] = email;
    auto [status, user] = http("POST", "/api/users", body.dump());
    CAF_REQUIRE_EQUAL(status, 201);
    return user;
  }

  /// The field named in a 400 answer.
  std::string bad_field(const std::string& method, const std::string& target,
                        const std::string& body) {
    auto [status, res] = http(method, target, body);
    CAF_CHECK_EQUAL(status, 400);
    if (!res.contains("error") || !res["error"].contains("field"))
      return "<none>";
    return res["error"]["field"].get<std::string>();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(users_tests, fixture)

CAF_TEST(the module registers its five endpoints) {
  auto rh = self->request(registry, caf::infinite, list_atom::value);
  consume_messages();
  rh.receive(
    [](std::vector<endpoint>& xs) {
      CAF_CHECK_EQUAL(xs.size(), 5u);
      for (auto& x : xs)
        CAF_CHECK_EQUAL(x.module, "users");
    },
    [](caf::error&) { CAF_FAIL("list failed"); });
}

CAF_TEST(create answers 201 with location and the new user) {
  auto res = call("POST", "/api/users",
                  R"({"name":"Ada","email":"ada@example.org"})", json_type);
  CAF_REQUIRE_EQUAL(res.response.status, 201);
  auto user = json::parse(res.response.body);
  auto id = user["id"].get<std::string>();
  CAF_CHECK(!id.empty());
  CAF_CHECK_EQUAL(user["name"], "Ada");
  CAF_CHECK_EQUAL(user["email"], "ada@example.org");
  auto loc = find_field(res.response.headers, "Location");
  CAF_REQUIRE(loc != nullptr);
  CAF_CHECK_EQUAL(*loc, "/api/users/" + id);
}

CAF_TEST(get finds a user by id and answers 404 for an unknown one) {
  auto user = create("Grace");
  auto [status, got] =
    http("GET", "/api/users/" + user["id"].get<std::string>());
  CAF_CHECK_EQUAL(status, 200);
  CAF_CHECK_EQUAL(got, user);
  auto [missing, err] = http("GET", "/api/users/nope");
  CAF_CHECK_EQUAL(missing, 404);
  CAF_CHECK_EQUAL(err["error"]["code"], "not_found");
}

CAF_TEST(ids are unique strings) {
  auto a = create("A");
  auto b = create("B");
  CAF_CHECK(a["id"].is_string());
  CAF_CHECK_NOT_EQUAL(a["id"], b["id"]);
}

CAF_TEST(bad input gets 400 naming the field) {
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({})"), "name");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({"name":""})"), "name");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({"name":"   "})"), "name");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({"name":42})"), "name");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users",
                            json{{"name", std::string(101, 'x')}}.dump()),
                  "name");
  CAF_CHECK_EQUAL(
    bad_field("POST", "/api/users", R"({"name":"A","email":"not-an-email"})"),
    "email");
  CAF_CHECK_EQUAL(
    bad_field("POST", "/api/users", R"({"name":"A","email":"a@b"})"), "email");
  // C1 controls, such as U+009B (a terminal's CSI), are control characters.
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", "{\"name\":\"a\u009bb\"}"),
                  "name");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({"name":"A","x":1})"),
                  "x");
  CAF_CHECK_EQUAL(bad_field("POST", "/api/users", R"({"name":"A","id":"1"})"),
                  "id");
  // A hundred characters are fine, counted as characters, not bytes.
  std::string hundred;
  for (int i = 0; i < 100; ++i)
    hundred += "\xc3\xa9";
  auto [status, user] =
    http("POST", "/api/users", json{{"name", hundred}}.dump());
  CAF_CHECK_EQUAL(status, 201);
}

CAF_TEST(a bad name is refused saying what is wrong with it) {
  auto message_of = [&](const std::string& body) {
    auto [status, res] = http("POST", "/api/users", body);
    CAF_CHECK_EQUAL(status, 400);
    return res["error"]["message"].get<std::string>();
  };
  CAF_CHECK_EQUAL(message_of(R"({"name":42})"), "name: must be a string");
  CAF_CHECK_EQUAL(message_of(R"({"name":""})"),
                  "name: must be 1 to 100 characters long, not 0");
  CAF_CHECK_EQUAL(message_of(R"({"name":"  "})"),
                  "name: must not be only spaces");
  CAF_CHECK_EQUAL(message_of(R"({"name":"a\tb"})"),
                  "name: must not contain control characters");
}

CAF_TEST(a body that is not a JSON object gets 400) {
  for (auto body : {"", "{", "[1,2]", "\"name\"", "null"}) {
    auto [status, res] = http("POST", "/api/users", body);
    CAF_CHECK_EQUAL(status, 400);
    CAF_CHECK_EQUAL(res["error"]["code"], "bad_request");
  }
}

CAF_TEST(a body of another media type gets 415) {
  for (auto type : {"application/x-www-form-urlencoded", "application/jsonx",
                    "application/json-patch+json", "text/json", ""}) {
    auto res =
      call("POST", "/api/users", R"({"name":"Ada"})", {{"content-type", type}});
    CAF_CHECK_EQUAL(res.response.status, 415);
  }
  // Case and parameters do not matter.
  for (auto type : {"Application/JSON", "application/json; charset=utf-8",
                    " application/json ;charset=UTF-8"}) {
    auto res =
      call("POST", "/api/users", R"({"name":"Ada"})", {{"content-type", type}});
    CAF_CHECK_EQUAL(res.response.status, 201);
  }
}

CAF_TEST(an unknown field is named in full even with a nul byte) {
  auto [status, res] =
    http("POST", "/api/users", R"({"name":"A","a\u0000b":1})");
  CAF_CHECK_EQUAL(status, 400);
  CAF_CHECK_EQUAL(res["error"]["field"].get<std::string>(),
                  std::string("a\0b", 3));
}

CAF_TEST(a duplicate email gets 409 ignoring case) {
  create("Ada", "ada@example.org");
  auto [status, res] =
    http("POST", "/api/users", R"({"name":"Eve","email":"ADA@example.org"})");
  CAF_CHECK_EQUAL(status, 409);
  CAF_CHECK_EQUAL(res["error"]["code"], "conflict");
  CAF_CHECK_EQUAL(res["error"]["field"], "email");
}

CAF_TEST(patch changes name and email and null clears the email) {
  auto user = create("Ada", "ada@example.org");
  auto path = "/api/users/" + user["id"].get<std::string>();
  auto [s1, u1] = http("PATCH", path, R"({"name":"Ada L."})");
  CAF_CHECK_EQUAL(s1, 200);
  CAF_CHECK_EQUAL(u1["name"], "Ada L.");
  CAF_CHECK_EQUAL(u1["email"], "ada@example.org");
  auto [s2, u2] = http("PATCH", path, R"({"email":null})");
  CAF_CHECK_EQUAL(s2, 200);
  CAF_CHECK(u2["email"].is_null());
  // The freed address can be taken by someone else now.
  create("Other", "ada@example.org");
  // Keeping one's own address is no conflict.
  auto [s3, u3] = http("PATCH", path, R"({"email":"lovelace@example.org"})");
  CAF_CHECK_EQUAL(s3, 200);
  auto [s4, u4] = http("PATCH", path, R"({"email":"lovelace@example.org"})");
  CAF_CHECK_EQUAL(s4, 200);
  CAF_CHECK_EQUAL(bad_field("PATCH", path, R"({"name":""})"), "name");
  auto [s5, u5] = http("PATCH", "/api/users/nope", R"({"name":"x"})");
  CAF_CHECK_EQUAL(s5, 404);
}

CAF_TEST(delete answers 204 and the user is gone) {
  auto user = create("Ada", "ada@example.org");
  auto path = "/api/users/" + user["id"].get<std::string>();
  auto res = call("DELETE", path);
  CAF_CHECK_EQUAL(res.response.status, 204);
  CAF_CHECK_EQUAL(res.response.body, "");
  CAF_CHECK_EQUAL(http("GET", path).first, 404);
  CAF_CHECK_EQUAL(call("DELETE", path).response.status, 404);
  // Its email is free again.
  create("New", "ada@example.org");
}

CAF_TEST(list pages through users oldest first with a cursor) {
  std::vector<std::string> ids;
  for (auto name : {"a", "b", "c", "d", "e"})
    ids.push_back(create(name)["id"].get<std::string>());
  auto [s1, p1] = http("GET", "/api/users?limit=2");
  CAF_REQUIRE_EQUAL(s1, 200);
  CAF_REQUIRE_EQUAL(p1["items"].size(), 2u);
  CAF_CHECK_EQUAL(p1["items"][0]["id"], ids[0]);
  CAF_CHECK_EQUAL(p1["items"][1]["id"], ids[1]);
  auto cursor = p1["next_cursor"].get<std::string>();
  auto [s2, p2] = http("GET", "/api/users?limit=2&cursor=" + cursor);
  CAF_CHECK_EQUAL(p2["items"][0]["id"], ids[2]);
  cursor = p2["next_cursor"].get<std::string>();
  auto [s3, p3] = http("GET", "/api/users?limit=2&cursor=" + cursor);
  CAF_CHECK_EQUAL(p3["items"].size(), 1u);
  CAF_CHECK(p3["next_cursor"].is_null());
  // Default page holds all five.
  CAF_CHECK_EQUAL(http("GET", "/api/users").second["items"].size(), 5u);
}

CAF_TEST(list refuses a bad limit or cursor naming it) {
  for (auto q : {"limit=0", "limit=101", "limit=x", "limit=", "limit=-1"})
    CAF_CHECK_EQUAL(bad_field("GET", std::string{"/api/users?"} + q, ""),
                    "limit");
  for (auto q : {"cursor=", "cursor=zz", "cursor=c", "cursor=cXYZ",
                 "cursor=cffffffffffffffff"})
    CAF_CHECK_EQUAL(bad_field("GET", std::string{"/api/users?"} + q, ""),
                    "cursor");
}

CAF_TEST(a full store answers 507) {
  for (int i = 0; i < 5; ++i)
    create("u" + std::to_string(i));
  auto [status, res] = http("POST", "/api/users", R"({"name":"six"})");
  CAF_CHECK_EQUAL(status, 507);
  CAF_CHECK_EQUAL(res["error"]["code"], "store_full");
}

CAF_TEST(settings with unknown keys or bad values are refused naming the key) {
  modules::users::users_settings s;
  CAF_CHECK_EQUAL(modules::users::parse_settings(R"({"max_users":0})", s)
                    .rfind("max_users:", 0),
                  0u);
  CAF_CHECK_EQUAL(
    modules::users::parse_settings(R"({"colour":1})", s).rfind("colour:", 0),
    0u);
  CAF_CHECK_EQUAL(modules::users::parse_settings(R"({"max_users":9})", s), "");
  CAF_CHECK_EQUAL(s.max_users, 9u);
}

CAF_TEST_FIXTURE_SCOPE_END()
