#define CAF_SUITE registry
#include "tests/kit/module_fixture.hpp"

#include <memory>
#include <optional>
#include <set>
#include <vector>

using namespace sb;
using namespace std::chrono_literals;

namespace {

/// Answers every request with its handler and parameters.
caf::behavior echo_owner(caf::event_based_actor*) {
  return {
    [](http_request& req) {
      http_response res;
      res.body = req.handler;
      for (auto& [k, v] : req.params)
        res.body += " " + k + "=" + v;
      return res;
    },
  };
}

struct silent_state {
  std::vector<caf::response_promise> held;
};

/// Accepts every request and never answers it.
caf::behavior silent_owner(caf::stateful_actor<silent_state>* self) {
  return {
    [self](http_request&) {
      auto rp = self->make_response_promise();
      self->state.held.push_back(rp);
      return rp;
    },
  };
}

/// A reply sink whose client can be made to go away.
struct test_sink : reply_sink {
  bool gone = false;
  std::optional<dispatch_result> result;

  void deliver(dispatch_result x) override { result = std::move(x); }

  bool abandoned() const noexcept override { return gone; }
};

/// Answers every MCP call with what it saw: kind, name, handler, params.
caf::behavior mcp_owner(caf::event_based_actor*) {
  return {
    [](mcp_request& req) {
      mcp_result res;
      res.result =
        req.kind + " " + req.name + " " + req.handler + " " + req.params;
      return res;
    },
  };
}

/// Accepts every MCP call and never answers it.
caf::behavior silent_mcp_owner(caf::stateful_actor<silent_state>* self) {
  return {
    [self](mcp_request&) {
      auto rp = self->make_response_promise();
      self->state.held.push_back(rp);
      return rp;
    },
  };
}

/// Owns a streaming endpoint: answers in three pieces through the sink.
caf::behavior streaming_owner(caf::event_based_actor*) {
  return {
    [](http_dispatch& x) {
      http_response head;
      head.content_type = "text/plain";
      head.body = "one ";
      x.sink->start_stream(std::move(head));
      x.sink->write("two ");
      x.sink->write(x.request.handler);
      x.sink->end_stream();
    },
  };
}

/// A sink that records a stream as well.
struct stream_sink : test_sink {
  std::optional<http_response> head;
  std::vector<std::string> pieces;
  bool ended = false;

  bool streams_live() const noexcept override { return true; }

  bool start_stream(http_response x) override {
    head = std::move(x);
    return true;
  }

  bool write(std::string x) override {
    pieces.push_back(std::move(x));
    return true;
  }

  void end_stream() override { ended = true; }
};

/// Answers with whom the registry said the request comes from.
caf::behavior who_owner(caf::event_based_actor*) {
  return {
    [](http_request& req) {
      http_response res;
      res.body = req.who.subject;
      for (auto& x : req.who.scopes)
        res.body += " " + x;
      return res;
    },
    [](mcp_request& req) {
      mcp_result res;
      res.result = req.who.subject;
      return res;
    },
  };
}

/// An auth service that knows two tokens: `good` (alice, scopes read and
/// mcp:tools) and `narrow` (bob, scope read only). It remembers the last
/// check it got.
struct fake_auth_state {
  auth_check last;
};

caf::behavior fake_auth(caf::stateful_actor<fake_auth_state>* self) {
  return {
    [self](auth_check& x) {
      self->state.last = x;
      auth_verdict v;
      std::vector<std::string> held;
      if (x.token == "good") {
        v.who = {"alice", "client-a", {"read", "mcp:tools"}};
        held = v.who.scopes;
      } else if (x.token == "narrow") {
        v.who = {"bob", "client-b", {"read"}};
        held = v.who.scopes;
      } else {
        v.status = 401;
        v.challenge = "Bearer resource_metadata=\"m\"";
        v.message = "no valid token";
        return v;
      }
      for (auto& s : x.scopes)
        if (std::find(held.begin(), held.end(), s) == held.end()) {
          v.status = 403;
          v.who = {};
          v.challenge =
            "Bearer error=\"insufficient_scope\", scope=\"" + s + "\"";
          return v;
        }
      v.status = 200;
      return v;
    },
  };
}

endpoint mcp_entry(const char* kind, const std::string& pattern,
                   const char* handler, const char* module = "m") {
  endpoint x;
  x.protocol = "mcp";
  x.method = kind;
  x.pattern = pattern;
  x.handler = handler;
  x.module = module;
  return x;
}

mcp_request mcp_call(const char* context, const char* kind, const char* name,
                     uint32_t timeout_ms = 0) {
  mcp_request req;
  req.context = context;
  req.kind = kind;
  req.name = name;
  req.method = "tools/call";
  req.params = "{}";
  req.timeout_ms = timeout_ms;
  return req;
}

endpoint make_endpoint(const char* method, const char* pattern,
                       const char* handler, const char* module = "m") {
  return sb::make_endpoint(method, pattern, handler, module);
}

struct fixture : test::module_fixture {
  fixture()
      : test::module_fixture(options()) {
    // nop
  }

  ~fixture() override {
    for (auto& x : owners)
      anon_send_exit(x, caf::exit_reason::kill);
    consume_messages();
  }

  /// Spawns an owner that the fixture kills at the end of the test; an
  /// owner holding promises would otherwise keep the system alive.
  template <class F>
  caf::actor spawn_owner(F fun) {
    auto hdl = sys.spawn(fun);
    owners.push_back(hdl);
    return hdl;
  }

  std::vector<caf::actor> owners;

  static registry_options options() {
    registry_options opts;
    opts.request_timeout = 5s;
    opts.max_pending = 3;
    return opts;
  }

  /// Registers `xs` for `owner`; returns the error, if any.
  caf::error add(caf::actor owner, std::vector<endpoint> xs) {
    auto rh = self->request(registry, caf::infinite, register_atom::value,
                            owner, std::move(xs));
    consume_messages();
    caf::error result;
    rh.receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
    return result;
  }

  std::vector<endpoint> list() {
    auto rh = self->request(registry, caf::infinite, list_atom::value);
    consume_messages();
    std::vector<endpoint> result;
    rh.receive([&](std::vector<endpoint>& xs) { result = std::move(xs); },
               [](caf::error& err) { CAF_FAIL("list failed"); });
    return result;
  }

  /// Endpoints, owners and pending requests the registry holds.
  std::tuple<uint64_t, uint64_t, uint64_t> status() {
    auto rh = self->request(registry, caf::infinite, status_atom::value);
    consume_messages();
    std::tuple<uint64_t, uint64_t, uint64_t> result;
    rh.receive(
      [&](uint64_t endpoints, uint64_t owners, uint64_t pending) {
        result = {endpoints, owners, pending};
      },
      [](caf::error&) { CAF_FAIL("status failed"); });
    return result;
  }

  /// Sends an MCP call through the registry; fires no timer. Returns the
  /// result, or sets `code` and returns nothing.
  std::optional<mcp_result> mcp(mcp_request req, errc& code,
                                std::string* detail = nullptr) {
    auto rh = self->request(registry, caf::infinite, std::move(req));
    consume_messages();
    std::optional<mcp_result> result;
    code = errc::none;
    if (!has_reply())
      return result;
    rh.receive([&](mcp_result& x) { result = std::move(x); },
               [&](caf::error& err) {
                 std::string tmp;
                 code = to_errc(err, tmp);
                 if (detail)
                   *detail = tmp;
               });
    return result;
  }

  std::vector<endpoint> list(const std::string& protocol,
                             const std::string& prefix) {
    auto rh = self->request(registry, caf::infinite, list_atom::value, protocol,
                            prefix);
    consume_messages();
    std::vector<endpoint> result;
    rh.receive([&](std::vector<endpoint>& xs) { result = std::move(xs); },
               [](caf::error&) { CAF_FAIL("list failed"); });
    return result;
  }

  /// Whether the test's own actor has a message waiting.
  bool has_reply() { return !self->mailbox().empty(); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, fixture)

CAF_TEST(a request travels to its owner and the answer travels back) {
  auto owner = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/api/users/:id", "get")}));
  self->request(registry, caf::infinite, make_request("GET", "/api/users/42"));
  expect((http_request), from(self).to(registry));
  expect((http_request), from(registry).to(owner).with(_));
  expect((http_response), from(owner).to(registry));
  expect((http_response), from(registry).to(self));
  // The same again through call(), checking what the owner saw.
  auto res = call("GET", "/api/users/7");
  CAF_CHECK_EQUAL(res.code, errc::none);
  CAF_CHECK_EQUAL(res.response.body, "get id=7");
}

CAF_TEST(a clash is refused naming both owners and the batch stays out) {
  auto first = spawn_owner(echo_owner);
  auto second = spawn_owner(echo_owner);
  CAF_REQUIRE(
    !add(first, {make_endpoint("GET", "/api/users/:id", "get", "users")}));
  auto err =
    add(second, {make_endpoint("GET", "/api/other", "other", "intruder"),
                 make_endpoint("GET", "/api/users/:name", "get", "intruder")});
  std::string detail;
  CAF_REQUIRE_EQUAL(to_errc(err, detail), errc::conflict);
  CAF_CHECK_NOT_EQUAL(detail.find("module 'users'"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(detail.find("module 'intruder'"), std::string::npos);
  // Nothing of the refused batch was added.
  CAF_CHECK_EQUAL(call("GET", "/api/other").code, errc::no_route);
  CAF_CHECK_EQUAL(list().size(), 1u);
  CAF_CHECK_EQUAL(call("GET", "/api/users/1").response.body, "get id=1");
}

CAF_TEST(registering the same endpoint again updates it in place) {
  auto owner = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/a", "old")}));
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/a", "new")}));
  CAF_CHECK_EQUAL(list().size(), 1u);
  CAF_CHECK_EQUAL(call("GET", "/a").response.body, "new");
}

CAF_TEST(invalid endpoints are refused with a reason) {
  auto owner = spawn_owner(echo_owner);
  std::string detail;
  auto err = add(owner, {make_endpoint("GET", "no-slash", "x")});
  CAF_CHECK_EQUAL(to_errc(err, detail), errc::invalid_endpoint);
  err = add(owner, {make_endpoint("get", "/a", "x")});
  CAF_CHECK_EQUAL(to_errc(err, detail), errc::invalid_endpoint);
  err = add(caf::actor{}, {make_endpoint("GET", "/a", "x")});
  CAF_CHECK_EQUAL(to_errc(err, detail), errc::invalid_endpoint);
  CAF_CHECK_EQUAL(list().size(), 0u);
}

CAF_TEST(unknown paths and methods get no_route and method_not_allowed) {
  auto owner = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("POST", "/a", "x")}));
  CAF_CHECK_EQUAL(call("GET", "/nope").code, errc::no_route);
  auto res = call("GET", "/a");
  CAF_CHECK_EQUAL(res.code, errc::method_not_allowed);
  CAF_CHECK_NOT_EQUAL(res.detail.find("POST"), std::string::npos);
}

CAF_TEST(requests waiting on an owner fail at once when it goes down) {
  auto owner = spawn_owner(silent_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/slow", "slow")}));
  std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>>
    waiting;
  for (int i = 0; i < 3; ++i)
    waiting.push_back(
      self->request(registry, caf::infinite, make_request("GET", "/slow")));
  consume_messages();
  CAF_REQUIRE(!has_reply());
  CAF_CHECK_EQUAL(status(), std::make_tuple(1u, 1u, 3u));
  // Kill the owner; no clock moves, so only the down message can answer.
  anon_send_exit(owner, caf::exit_reason::kill);
  consume_messages();
  for (auto& rh : waiting) {
    errc code = errc::none;
    rh.receive([](http_response&) { CAF_FAIL("unexpected response"); },
               [&](caf::error& err) {
                 std::string detail;
                 code = to_errc(err, detail);
               });
    CAF_CHECK_EQUAL(code, errc::owner_down);
  }
  // Its endpoints went with it, and no state of it stays behind.
  CAF_CHECK_EQUAL(call("GET", "/slow").code, errc::no_route);
  CAF_CHECK_EQUAL(list().size(), 0u);
  CAF_CHECK_EQUAL(status(), std::make_tuple(0u, 0u, 0u));
  // Nothing else arrives later, not even when every timer fires.
  advance_time(10s);
  consume_messages();
  CAF_CHECK(!has_reply());
}

CAF_TEST(a request whose owner does not answer times out at its deadline) {
  auto owner = spawn_owner(silent_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/slow", "slow")}));
  auto rh =
    self->request(registry, caf::infinite, make_request("GET", "/slow"));
  consume_messages();
  advance_time(4900ms);
  consume_messages();
  CAF_CHECK(!has_reply());
  advance_time(200ms);
  consume_messages();
  CAF_REQUIRE(has_reply());
  errc code = errc::none;
  rh.receive([](http_response&) { CAF_FAIL("unexpected response"); },
             [&](caf::error& err) {
               std::string detail;
               code = to_errc(err, detail);
             });
  CAF_CHECK_EQUAL(code, errc::timeout);
}

CAF_TEST(too many waiting requests get overloaded) {
  auto owner = spawn_owner(silent_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/slow", "slow")}));
  caf::scoped_actor other{sys};
  for (int i = 0; i < 3; ++i)
    other->request(registry, caf::infinite, make_request("GET", "/slow"));
  consume_messages();
  CAF_CHECK_EQUAL(call("GET", "/slow").code, errc::overloaded);
  // Once they time out there is room again.
  advance_time(6s);
  consume_messages();
  auto echo = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(echo, {make_endpoint("GET", "/fast", "fast")}));
  CAF_CHECK_EQUAL(call("GET", "/fast").code, errc::none);
}

CAF_TEST(requests of clients that went away free their slots when full) {
  auto owner = spawn_owner(silent_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/slow", "slow")}));
  std::vector<std::shared_ptr<test_sink>> sinks;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_shared<test_sink>());
    anon_send(registry, http_dispatch{make_request("GET", "/slow"), sinks[i]});
  }
  consume_messages();
  // Full, and every client still waits: no room.
  CAF_CHECK_EQUAL(call("GET", "/slow").code, errc::overloaded);
  // Two clients leave; the next request finds room at once (after the
  // scan's pause), and theirs are dropped.
  sinks[0]->gone = true;
  sinks[2]->gone = true;
  advance_time(std::chrono::milliseconds{100});
  consume_messages();
  auto late = std::make_shared<test_sink>();
  anon_send(registry, http_dispatch{make_request("GET", "/slow"), late});
  consume_messages();
  CAF_CHECK(!late->result);
  CAF_REQUIRE(sinks[0]->result);
  CAF_CHECK_EQUAL(sinks[0]->result->code, errc::overloaded);
  CAF_CHECK(!sinks[1]->result);
  CAF_REQUIRE(sinks[2]->result);
  CAF_CHECK_EQUAL(sinks[2]->result->code, errc::overloaded);
}

CAF_TEST(an owner that withdrew everything still fails its waiting requests) {
  auto owner = spawn_owner(silent_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/slow", "slow")}));
  auto sink = std::make_shared<test_sink>();
  anon_send(registry, http_dispatch{make_request("GET", "/slow"), sink});
  consume_messages();
  anon_send(registry, withdraw_atom::value, owner);
  consume_messages();
  anon_send_exit(owner, caf::exit_reason::kill);
  consume_messages();
  CAF_REQUIRE(sink->result);
  CAF_CHECK_EQUAL(sink->result->code, errc::owner_down);
}

CAF_TEST(an endpoint that requires auth stays closed without auth service) {
  auto owner = spawn_owner(echo_owner);
  auto ep = make_endpoint("GET", "/secret", "secret");
  ep.auth = auth_requirement::required;
  CAF_REQUIRE(!add(owner, {ep}));
  self->request(registry, caf::infinite, make_request("GET", "/secret"));
  expect((http_request), from(self).to(registry));
  // The owner never sees the request.
  disallow((http_request), from(registry).to(owner));
  CAF_CHECK_EQUAL(call("GET", "/secret").code, errc::auth_unavailable);
}

CAF_TEST(the auth service judges the token of a protected endpoint) {
  auto owner = spawn_owner(who_owner);
  auto auth = sys.spawn(fake_auth);
  owners.push_back(auth);
  auto ep = make_endpoint("GET", "/secret", "secret");
  ep.auth = auth_requirement::required;
  ep.scopes = {"read"};
  CAF_REQUIRE(!add(owner, {ep, make_endpoint("GET", "/open", "open")}));
  self->request(registry, caf::infinite, auth_service_atom::value, auth);
  consume_messages();
  // No token, or a bad one: 401 with the service's challenge, and the owner
  // never sees the request.
  auto res = call("GET", "/secret");
  CAF_CHECK_EQUAL(res.status(), 401);
  CAF_CHECK_EQUAL(
    res.response.headers,
    field_list({{"WWW-Authenticate", "Bearer resource_metadata=\"m\""}}));
  CAF_CHECK_NOT_EQUAL(res.response.body.find("\"unauthorized\""),
                      std::string::npos);
  CAF_CHECK_EQUAL(
    call("GET", "/secret", "", {{"authorization", "Basic x"}}).status(), 401);
  CAF_CHECK_EQUAL(
    deref<caf::stateful_actor<fake_auth_state>>(auth).state.last.token, "");
  // A good token in a scheme of any case passes, with its principal.
  res = call("GET", "/secret", "", {{"authorization", "bEaReR good"}});
  CAF_CHECK_EQUAL(res.status(), 200);
  CAF_CHECK_EQUAL(res.response.body, "alice read mcp:tools");
  auto& last = deref<caf::stateful_actor<fake_auth_state>>(auth).state.last;
  CAF_CHECK_EQUAL(last.resource, "/");
  CAF_CHECK_EQUAL(last.scopes, std::vector<std::string>{"read"});
  // Two tokens leave open which one counts.
  CAF_CHECK_EQUAL(
    call("GET", "/secret", "",
         {{"authorization", "Bearer good"}, {"authorization", "Bearer bad"}})
      .code,
    errc::bad_request);
  // A principal that a client sends along is not believed.
  auto forged = make_request("GET", "/open");
  forged.who.subject = "mallory";
  CAF_CHECK_EQUAL(call(forged).response.body, "");
  // Only one auth service at a time.
  auto other = sys.spawn(fake_auth);
  owners.push_back(other);
  auto rh =
    self->request(registry, caf::infinite, auth_service_atom::value, other);
  consume_messages();
  bool refused = false;
  rh.receive([](caf::ok_atom) {}, [&](caf::error&) { refused = true; });
  CAF_CHECK(refused);
  // When the service goes down, protected endpoints close again.
  anon_send_exit(auth, caf::exit_reason::kill);
  consume_messages();
  CAF_CHECK_EQUAL(
    call("GET", "/secret", "", {{"authorization", "Bearer good"}}).code,
    errc::auth_unavailable);
  CAF_CHECK_EQUAL(call("GET", "/open").status(), 200);
}

CAF_TEST(a token without the scopes of an endpoint gets 403) {
  auto owner = spawn_owner(who_owner);
  auto auth = sys.spawn(fake_auth);
  owners.push_back(auth);
  auto ep = make_endpoint("POST", "/admin", "admin");
  ep.auth = auth_requirement::required;
  ep.scopes = {"admin"};
  CAF_REQUIRE(!add(owner, {ep}));
  self->send(registry, auth_service_atom::value, auth);
  consume_messages();
  auto res = call("POST", "/admin", "", {{"authorization", "Bearer good"}});
  CAF_CHECK_EQUAL(res.status(), 403);
  CAF_CHECK_NOT_EQUAL(res.response.body.find("insufficient_scope"),
                      std::string::npos);
  CAF_REQUIRE_EQUAL(res.response.headers.size(), 1u);
  CAF_CHECK_NOT_EQUAL(res.response.headers[0].second.find("scope=\"admin\""),
                      std::string::npos);
}

CAF_TEST(MCP access asks the auth service only for protected contexts) {
  auto owner = spawn_owner(who_owner);
  auto auth = sys.spawn(fake_auth);
  owners.push_back(auth);
  auto open = mcp_entry("TOOL", "open/t", "h");
  auto closed = mcp_entry("TOOL", "tools/t", "h");
  closed.auth = auth_requirement::required;
  auto admin = mcp_entry("TOOL", "tools/admin", "h");
  admin.auth = auth_requirement::required;
  admin.scopes = {"admin"};
  CAF_REQUIRE(!add(owner, {open, closed, admin}));
  auto access = [&](const char* context, const char* authorization) {
    auto rh = self->request(
      registry, caf::infinite,
      mcp_access{context, std::string{"/mcp/"} + context, authorization});
    consume_messages();
    auth_verdict v;
    v.status = 0;
    rh.receive([&](auth_verdict& x) { v = std::move(x); },
               [&](caf::error& err) {
                 std::string detail;
                 v.message = to_string(to_errc(err, detail));
               });
    return v;
  };
  // Before any auth service: open contexts pass, protected ones do not.
  CAF_CHECK_EQUAL(access("open", "").status, 200);
  CAF_CHECK_EQUAL(access("tools", "Bearer good").message, "auth_unavailable");
  self->send(registry, auth_service_atom::value, auth);
  consume_messages();
  CAF_CHECK_EQUAL(access("open", "").status, 200);
  CAF_CHECK_EQUAL(access("nothing-here", "").status, 200);
  CAF_CHECK_EQUAL(access("tools", "").status, 401);
  auto v = access("tools", "Bearer good");
  CAF_CHECK_EQUAL(v.status, 200);
  CAF_CHECK_EQUAL(v.who.subject, "alice");
  auto& last = deref<caf::stateful_actor<fake_auth_state>>(auth).state.last;
  CAF_CHECK_EQUAL(last.resource, "/mcp/tools");
  CAF_CHECK_EQUAL(last.scopes, std::vector<std::string>{"mcp:tools"});
  CAF_CHECK_EQUAL(access("tools", "Bearer narrow").status, 403);
  // Calls of protected entries need the principal's scopes: the context's
  // and the entry's.
  errc code;
  CAF_CHECK(!mcp(mcp_call("tools", "TOOL", "t"), code));
  CAF_CHECK_EQUAL(code, errc::unauthorized);
  auto call = mcp_call("tools", "TOOL", "t");
  call.who = v.who;
  auto res = mcp(call, code);
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->result, "alice");
  call = mcp_call("tools", "TOOL", "admin");
  call.who = v.who;
  CAF_CHECK(!mcp(call, code));
  CAF_CHECK_EQUAL(code, errc::forbidden);
  call = mcp_call("tools", "TOOL", "t");
  call.who = {"bob", "client-b", {"read"}};
  CAF_CHECK(!mcp(call, code));
  CAF_CHECK_EQUAL(code, errc::forbidden);
  // An open context's entries need nothing.
  CAF_CHECK(mcp(mcp_call("open", "TOOL", "t"), code));
}

CAF_TEST(registrations that could harm the registry are refused) {
  auto owner = spawn_owner(echo_owner);
  auto code_of = [](const caf::error& err) {
    std::string detail;
    return to_errc(err, detail);
  };
  // The registry as owner would send requests to itself without end.
  CAF_CHECK_EQUAL(code_of(add(registry, {make_endpoint("GET", "/self", "x")})),
                  errc::invalid_endpoint);
  // An auth requirement outside the enum must not open the endpoint.
  auto odd = make_endpoint("GET", "/odd", "x");
  odd.auth = static_cast<auth_requirement>(7);
  CAF_CHECK_EQUAL(code_of(add(owner, {odd})), errc::invalid_endpoint);
  CAF_CHECK_EQUAL(call("GET", "/odd").code, errc::no_route);
  // Names that end up in logs and listings: no line breaks.
  auto forged = make_endpoint("GET", "/forged", "x");
  forged.module = "users\nready address=6.6.6.6:1";
  CAF_CHECK_EQUAL(code_of(add(owner, {forged})), errc::invalid_endpoint);
  auto huge = make_endpoint("GET", "/huge", "x");
  huge.handler = std::string(300, 'h');
  CAF_CHECK_EQUAL(code_of(add(owner, {huge})), errc::invalid_endpoint);
  CAF_CHECK_EQUAL(list().size(), 0u);
  // A stray error message outside a request does not end the registry.
  caf::anon_send(registry, caf::make_error(caf::sec::unexpected_message));
  consume_messages();
  CAF_CHECK(!add(owner, {make_endpoint("GET", "/fine", "x")}));
  CAF_CHECK_EQUAL(call("GET", "/fine").code, errc::none);
}

CAF_TEST(a full endpoint table answers overloaded as a passing condition) {
  registry_options opts;
  opts.max_endpoints = 1;
  auto small = spawn_registry(sys, opts, caf::actor{});
  auto owner = spawn_owner(echo_owner);
  auto rh =
    self->request(small, caf::infinite, register_atom::value, owner,
                  std::vector<endpoint>{make_endpoint("GET", "/a", "a"),
                                        make_endpoint("GET", "/b", "b")});
  consume_messages();
  errc code = errc::none;
  rh.receive([](caf::ok_atom) {},
             [&](caf::error& err) {
               std::string detail;
               code = to_errc(err, detail);
             });
  CAF_CHECK_EQUAL(code, errc::overloaded);
  anon_send_exit(small, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST(withdraw removes the named endpoints or all of an owner) {
  auto owner = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/a", "a"),
                           make_endpoint("GET", "/b", "b"),
                           make_endpoint("GET", "/c", "c")}));
  anon_send(registry, withdraw_atom::value, owner,
            std::vector<endpoint>{make_endpoint("GET", "/a", "")});
  consume_messages();
  CAF_CHECK_EQUAL(call("GET", "/a").code, errc::no_route);
  CAF_CHECK_EQUAL(call("GET", "/b").code, errc::none);
  anon_send(registry, withdraw_atom::value, owner);
  consume_messages();
  CAF_CHECK_EQUAL(list().size(), 0u);
}

CAF_TEST(subscribers of topic routes hear of every change) {
  self->send(bus, subscribe_atom::value, std::string{"routes"});
  consume_messages();
  auto owner = spawn_owner(echo_owner);
  CAF_REQUIRE(!add(owner, {make_endpoint("GET", "/a", "a")}));
  uint64_t count = 99;
  self->receive([&](routes_changed& ev) { count = ev.count; });
  CAF_CHECK_EQUAL(count, 1u);
  anon_send_exit(owner, caf::exit_reason::kill);
  consume_messages();
  self->receive([&](routes_changed& ev) { count = ev.count; });
  CAF_CHECK_EQUAL(count, 0u);
}

CAF_TEST(ten thousand routes register and dispatch) {
  auto owner = spawn_owner(echo_owner);
  std::vector<endpoint> xs;
  for (int i = 0; i < 10000; ++i)
    xs.push_back(
      make_endpoint("GET", ("/r" + std::to_string(i) + "/:id").c_str(), "h"));
  CAF_REQUIRE(!add(owner, std::move(xs)));
  CAF_CHECK_EQUAL(list().size(), 10000u);
  CAF_CHECK_EQUAL(call("GET", "/r0/a").response.body, "h id=a");
  CAF_CHECK_EQUAL(call("GET", "/r9999/b").response.body, "h id=b");
  CAF_CHECK_EQUAL(call("GET", "/r10000/b").code, errc::no_route);
}

CAF_TEST(an MCP call reaches the owner of its context kind and name) {
  auto owner = spawn_owner(mcp_owner);
  CAF_REQUIRE(
    !add(owner, {mcp_entry("TOOL", "tools/echo", "h-echo"),
                 mcp_entry("PROMPT", "tools/echo", "h-prompt"),
                 mcp_entry("RESOURCE", "tools/file:///a b", "h-res")}));
  errc code;
  auto res = mcp(mcp_call("tools", "TOOL", "echo"), code);
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->result, "TOOL echo h-echo {}");
  // The same name as a prompt is another entry.
  res = mcp(mcp_call("tools", "PROMPT", "echo"), code);
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->result, "PROMPT echo h-prompt {}");
  // Resource URIs are names of any visible characters and spaces.
  res = mcp(mcp_call("tools", "RESOURCE", "file:///a b"), code);
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->result, "RESOURCE file:///a b h-res {}");
  // Another context, kind or name has no owner.
  std::string detail;
  CAF_CHECK(!mcp(mcp_call("other", "TOOL", "echo"), code, &detail));
  CAF_CHECK_EQUAL(code, errc::no_route);
  CAF_CHECK_NOT_EQUAL(detail.find("context 'other'"), std::string::npos);
  CAF_CHECK(!mcp(mcp_call("tools", "TEMPLATE", "echo"), code));
  CAF_CHECK_EQUAL(code, errc::no_route);
  CAF_CHECK(!mcp(mcp_call("tools", "TOOL", "ech"), code));
  CAF_CHECK_EQUAL(code, errc::no_route);
  // An HTTP request never reaches an MCP entry.
  CAF_CHECK_EQUAL(call("GET", "/tools/echo").code, errc::no_route);
}

CAF_TEST(a context lists its entries in order and nothing of others) {
  auto owner = spawn_owner(mcp_owner);
  CAF_REQUIRE(
    !add(owner,
         {mcp_entry("TOOL", "b/zeta", "z"), mcp_entry("TOOL", "b/alpha", "a"),
          mcp_entry("PROMPT", "b/alpha", "p"),
          mcp_entry("TOOL", "bb/alpha", "x"), mcp_entry("TOOL", "a/alpha", "y"),
          make_endpoint("GET", "/b/alpha", "http")}));
  auto xs = list("mcp", "b/");
  CAF_REQUIRE_EQUAL(xs.size(), 3u);
  CAF_CHECK_EQUAL(xs[0].pattern, "b/alpha");
  CAF_CHECK_EQUAL(xs[0].method, "PROMPT");
  CAF_CHECK_EQUAL(xs[1].pattern, "b/alpha");
  CAF_CHECK_EQUAL(xs[1].method, "TOOL");
  CAF_CHECK_EQUAL(xs[2].pattern, "b/zeta");
  CAF_CHECK_EQUAL(list("mcp", "").size(), 5u);
  CAF_CHECK_EQUAL(list("http", "/b").size(), 1u);
  CAF_CHECK_EQUAL(list("mcp", "c/").size(), 0u);
  CAF_CHECK_EQUAL(list().size(), 6u);
}

CAF_TEST(invalid MCP entries are refused with a reason) {
  auto owner = spawn_owner(mcp_owner);
  auto refused = [&](endpoint x, const char* words) {
    std::string detail;
    auto code = to_errc(add(owner, {std::move(x)}), detail);
    CAF_CHECK_EQUAL(code, errc::invalid_endpoint);
    CAF_CHECK_NOT_EQUAL(detail.find(words), std::string::npos);
    if (detail.find(words) == std::string::npos)
      CAF_MESSAGE("detail: " << detail);
  };
  refused(mcp_entry("FUNCTION", "c/x", "h"), "invalid MCP kind");
  refused(mcp_entry("TOOL", "no-context", "h"), "a context");
  refused(mcp_entry("TOOL", "/x", "h"), "a context");
  refused(mcp_entry("TOOL", "Upper/x", "h"), "a context");
  refused(mcp_entry("TOOL", "c/", "h"), "invalid tool name");
  refused(mcp_entry("TOOL", "c/has space", "h"), "invalid tool name");
  refused(mcp_entry("TOOL", "c/" + std::string(129, 'x'), "h"),
          "invalid tool name");
  refused(mcp_entry("PROMPT", "c/", "h"), "invalid MCP entry name");
  auto big = mcp_entry("TOOL", "c/big", "h");
  big.detail.assign(64 * 1024 + 1, ' ');
  refused(big, "detail too large");
  auto stream = mcp_entry("TOOL", "c/s", "h");
  stream.streaming = true;
  refused(stream, "only HTTP endpoints can stream");
  CAF_CHECK_EQUAL(list().size(), 0u);
  // The same name for two owners clashes.
  auto other = spawn_owner(mcp_owner);
  CAF_REQUIRE(!add(owner, {mcp_entry("TOOL", "c/x", "h")}));
  std::string detail;
  CAF_CHECK_EQUAL(to_errc(add(other, {mcp_entry("TOOL", "c/x", "h")}), detail),
                  errc::conflict);
}

CAF_TEST(an MCP call gets the time it asks for) {
  auto owner = spawn_owner(silent_mcp_owner);
  CAF_REQUIRE(!add(owner, {mcp_entry("TOOL", "c/slow", "slow")}));
  // A long call first arms the timer for its own deadline; the short one
  // after it must still end on time.
  auto slow = self->request(registry, caf::infinite,
                            mcp_call("c", "TOOL", "slow", 60000));
  auto quick =
    self->request(registry, caf::infinite, mcp_call("c", "TOOL", "slow", 100));
  consume_messages();
  CAF_REQUIRE(!has_reply());
  advance_time(99ms);
  consume_messages();
  CAF_CHECK(!has_reply());
  advance_time(1ms);
  consume_messages();
  errc code = errc::none;
  quick.receive([](mcp_result&) { CAF_FAIL("unexpected result"); },
                [&](caf::error& err) {
                  std::string detail;
                  code = to_errc(err, detail);
                });
  CAF_CHECK_EQUAL(code, errc::timeout);
  // The default applies without a time of its own: 5 s in this fixture.
  CAF_CHECK(!has_reply());
  advance_time(60s);
  consume_messages();
  slow.receive([](mcp_result&) { CAF_FAIL("unexpected result"); },
               [&](caf::error& err) {
                 std::string detail;
                 code = to_errc(err, detail);
               });
  CAF_CHECK_EQUAL(code, errc::timeout);
  CAF_CHECK_EQUAL(status(), std::make_tuple(1u, 1u, 0u));
}

CAF_TEST(an MCP call fails at once when its owner goes down) {
  auto owner = spawn_owner(silent_mcp_owner);
  CAF_REQUIRE(!add(owner, {mcp_entry("TOOL", "c/slow", "slow")}));
  auto rh = self->request(registry, caf::infinite,
                          mcp_call("c", "TOOL", "slow", 60000));
  consume_messages();
  CAF_REQUIRE(!has_reply());
  anon_send_exit(owner, caf::exit_reason::kill);
  consume_messages();
  errc code = errc::none;
  rh.receive([](mcp_result&) { CAF_FAIL("unexpected result"); },
             [&](caf::error& err) {
               std::string detail;
               code = to_errc(err, detail);
             });
  CAF_CHECK_EQUAL(code, errc::owner_down);
  CAF_CHECK_EQUAL(list("mcp", "c/").size(), 0u);
  CAF_CHECK_EQUAL(status(), std::make_tuple(0u, 0u, 0u));
}

CAF_TEST(subscribers of topic mcp hear which context and kind changed) {
  self->send(bus, subscribe_atom::value, std::string{"mcp"});
  consume_messages();
  auto owner = spawn_owner(mcp_owner);
  CAF_REQUIRE(!add(
    owner, {mcp_entry("TOOL", "a/x", "h"), mcp_entry("TOOL", "a/y", "h"),
            mcp_entry("PROMPT", "b/p", "h"), make_endpoint("GET", "/x", "h")}));
  std::set<std::pair<std::string, std::string>> seen;
  auto drain = [&] {
    seen.clear();
    while (has_reply()) {
      self->receive(
        [&](mcp_changed& ev) {
          CAF_CHECK(seen.emplace(ev.context, ev.kind).second);
        },
        [](routes_changed&) {});
    }
  };
  drain();
  using pairs = std::set<std::pair<std::string, std::string>>;
  CAF_CHECK_EQUAL(seen, (pairs{{"a", "TOOL"}, {"b", "PROMPT"}}));
  // Withdrawing one entry names its context and kind only.
  auto rh =
    self->request(registry, caf::infinite, withdraw_atom::value, owner,
                  std::vector<endpoint>{mcp_entry("PROMPT", "b/p", "h")});
  consume_messages();
  rh.receive([](caf::ok_atom) {}, [](caf::error&) { CAF_FAIL("withdraw"); });
  drain();
  CAF_CHECK_EQUAL(seen, (pairs{{"b", "PROMPT"}}));
  // The owner going down takes the rest.
  anon_send_exit(owner, caf::exit_reason::kill);
  consume_messages();
  drain();
  CAF_CHECK_EQUAL(seen, (pairs{{"a", "TOOL"}}));
}

CAF_TEST(a streaming endpoint gets the sink and a promise gets it collected) {
  auto owner = spawn_owner(streaming_owner);
  auto x = make_endpoint("GET", "/stream", "three");
  x.streaming = true;
  CAF_REQUIRE(!add(owner, {x}));
  // The HTTP handler's path: the owner writes to the client's sink.
  auto sink = std::make_shared<stream_sink>();
  self->send(registry, http_dispatch{make_request("GET", "/stream"), sink});
  consume_messages();
  CAF_REQUIRE(sink->head);
  CAF_CHECK_EQUAL(sink->head->body, "one ");
  CAF_CHECK_EQUAL(sink->pieces, (std::vector<std::string>{"two ", "three"}));
  CAF_CHECK(sink->ended);
  CAF_CHECK(!sink->result);
  // An actor that asks with a promise gets the whole body at the end.
  auto res = call("GET", "/stream");
  CAF_REQUIRE_EQUAL(res.code, errc::none);
  CAF_CHECK_EQUAL(res.response.body, "one two three");
  CAF_CHECK_EQUAL(res.response.content_type, "text/plain");
}

CAF_TEST(a streaming owner that drops a request answers the promise) {
  auto owner = spawn_owner([](caf::event_based_actor*) -> caf::behavior {
    return {[](http_dispatch&) {
    }};
  });
  auto x = make_endpoint("GET", "/drop", "drop");
  x.streaming = true;
  CAF_REQUIRE(!add(owner, {x}));
  auto res = call("GET", "/drop");
  CAF_CHECK_EQUAL(res.code, errc::owner_down);
}

CAF_TEST_FIXTURE_SCOPE_END()
