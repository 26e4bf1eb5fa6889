#pragma once

// The module test kit: a deterministic actor system with a registry and a
// bus, and no server. A module test spawns its module, starts it, and sends
// HTTP requests through the registry exactly as the node would.
//
//   #define CAF_SUITE my_module
//   #include "tests/kit/module_fixture.hpp"
//
//   CAF_TEST_FIXTURE_SCOPE(my_module_tests, sb::test::module_fixture)
//
//   CAF_TEST(get answers 200) {
//     start_module(my::make_factory());
//     auto res = call("GET", "/my/thing");
//     CAF_CHECK_EQUAL(res.status(), 200);
//   }
//
//   CAF_TEST_FIXTURE_SCOPE_END()
//
// MCP entries of a module answer `call_mcp(tool_call("ctx", "tool",
// R"({"x":1})"))` the same way.
//
// Nothing runs until the test says so: `call` and `start_module` consume
// messages until every mailbox is empty, but never fire timers; tests move
// time with `advance_time`.

// Debian's dsl.hpp uses FAIL in its request<T>() helper without defining it.
#ifndef FAIL
#define FAIL CAF_FAIL
#endif

#include "caf/test/dsl.hpp"

#include <string>
#include <utility>

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/error.hpp"
#include "actors/factory.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/registry.hpp"
#include "protocols/http/target.hpp"

namespace sb::test {

/// Actor system config with every message type of the node.
struct config : caf::actor_system_config {
  config() { sb::register_message_types(*this); }
};

/// Outcome of `module_fixture::call`: the owner's response, or the node's
/// error code with its detail.
struct call_result {
  errc code = errc::none;
  std::string detail;
  http_response response;

  /// The HTTP status the client would see.
  uint16_t status() const {
    return code == errc::none ? response.status : to_http_status(code);
  }
};

struct module_fixture : test_coordinator_fixture<config> {
  caf::actor bus;
  caf::actor registry;

  explicit module_fixture(registry_options opts = {}) {
    set_log_level("warn");
    bus = spawn_bus(sys);
    registry = spawn_registry(sys, opts, bus);
  }

  ~module_fixture() override {
    for (auto& x : {registry, bus})
      anon_send_exit(x, caf::exit_reason::user_shutdown);
    consume_messages();
  }

  /// The context a module gets from the node; `node` stays invalid.
  module_context context(const std::string& name,
                         const std::string& settings = "{}") {
    module_context ctx;
    ctx.name = name;
    ctx.registry = registry;
    ctx.bus = bus;
    ctx.settings = settings;
    return ctx;
  }

  /// Spawns the module of `factory` and starts it; fails the test unless its
  /// endpoints register.
  caf::actor start_module(const module_factory& factory,
                          const std::string& settings = "{}") {
    auto hdl = factory.spawn(sys, context(factory.name, settings));
    auto rh = self->request(hdl, caf::infinite, start_atom::value);
    consume_messages();
    bool ok = false;
    rh.receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) {
                 CAF_FAIL("module failed to start: " << sys.render(err));
               });
    CAF_REQUIRE(ok);
    return hdl;
  }

  /// Builds the request that the HTTP layer would make of this input.
  static http_request make_request(std::string method, std::string target,
                                   std::string body = {},
                                   field_list headers = {}) {
    http_request req;
    std::string err;
    auto code = http::parse_target(target, req.path, req.query, err);
    CAF_REQUIRE_EQUAL(code, errc::none);
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.request_id = "test";
    return req;
  }

  /// Sends `req` through the registry, consumes messages until every
  /// mailbox is empty and returns the outcome. Fires no timer.
  call_result call(http_request req) {
    auto rh = self->request(registry, caf::infinite, std::move(req));
    consume_messages();
    call_result result;
    bool answered = false;
    rh.receive(
      [&](http_response& res) {
        answered = true;
        result.response = std::move(res);
      },
      [&](caf::error& err) {
        answered = true;
        result.code = to_errc(err, result.detail);
        if (result.code == errc::internal)
          result.detail = sys.render(err);
      });
    CAF_REQUIRE(answered);
    return result;
  }

  call_result call(std::string method, std::string target,
                   std::string body = {}, field_list headers = {}) {
    return call(make_request(std::move(method), std::move(target),
                             std::move(body), std::move(headers)));
  }

  /// Outcome of `call_mcp`: the owner's result, or the node's error code.
  struct mcp_outcome {
    errc code = errc::none;
    std::string detail;
    mcp_result result;
  };

  /// A `tools/call` of tool `name` in `context` with the JSON object text
  /// `arguments`, as the MCP handler sends it after checking the arguments
  /// and the client's token: the call comes from `tester`, whose token
  /// holds the context's scope. Clear `who` to call without a token.
  static mcp_request tool_call(std::string context, std::string name,
                               const std::string& arguments = "{}") {
    mcp_request req;
    req.who = {"test:tester", "test-client", {mcp_scope(context)}};
    req.context = std::move(context);
    req.kind = "TOOL";
    req.method = "tools/call";
    req.params = R"({"name":")" + name + R"(","arguments":)" + arguments + "}";
    req.name = std::move(name);
    req.session = "test";
    return req;
  }

  /// Sends an MCP call through the registry, consumes messages until every
  /// mailbox is empty and returns the outcome. Fires no timer.
  mcp_outcome call_mcp(mcp_request req) {
    auto rh = self->request(registry, caf::infinite, std::move(req));
    consume_messages();
    mcp_outcome result;
    bool answered = false;
    rh.receive(
      [&](mcp_result& res) {
        answered = true;
        result.result = std::move(res);
      },
      [&](caf::error& err) {
        answered = true;
        result.code = to_errc(err, result.detail);
      });
    CAF_REQUIRE(answered);
    return result;
  }
};

} // namespace sb::test
