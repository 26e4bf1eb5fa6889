#define CAF_SUITE remote_owner
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "actors/node.hpp"
#include "actors/registry.hpp"

// The registry with an owner in another actor system, joined over CAF's
// network layer on loopback TCP: every message type of a request crosses the
// wire, serialized by its inspect() overload.

using namespace sb;
using namespace std::chrono_literals;

namespace {

struct holder_state {
  std::vector<caf::response_promise> held;
};

/// `GET /remote/:id` echoes the id; `GET /remote-hold` is never answered.
caf::behavior remote_module(caf::stateful_actor<holder_state>* self,
                            module_context ctx) {
  return {
    [self, ctx](start_atom) {
      return register_endpoints(
        self, ctx,
        {make_endpoint("GET", "/remote/:id", "echo", ctx.name),
         make_endpoint("GET", "/remote-hold", "hold", ctx.name)});
    },
    [self](http_request& req) -> caf::result<http_response> {
      if (req.handler == "hold") {
        self->state.held.push_back(self->make_response_promise());
        return caf::delegated<http_response>{};
      }
      http_response res;
      res.body = "echo:" + *find_field(req.params, "id") + ":" + req.request_id;
      return res;
    },
  };
}

struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    register_message_types(*this);
  }
};

http_request make_request(std::vector<std::string> path) {
  http_request req;
  req.method = "GET";
  req.path = std::move(path);
  req.request_id = "rid-1";
  return req;
}

/// Two actor systems in one process: `front` runs the registry and
/// publishes it on a free loopback port; `back` joins it and runs a module.
struct fixture {
  config front_cfg;
  config back_cfg;
  caf::actor_system front{front_cfg};
  caf::actor_system back{back_cfg};
  caf::actor registry;
  uint16_t port = 0;
  caf::actor module;

  fixture() {
    registry_options opts;
    opts.request_timeout = 10s;
    registry = spawn_registry(front, opts, caf::actor{});
    auto p = front.middleman().publish(registry, 0, "127.0.0.1", true);
    CAF_REQUIRE(p);
    port = *p;
    auto proxy = back.middleman().remote_actor("127.0.0.1", port);
    CAF_REQUIRE(proxy);
    module_context ctx;
    ctx.name = "remote";
    ctx.registry = *proxy;
    module = back.spawn(remote_module, ctx);
    caf::scoped_actor self{back};
    bool ok = false;
    self->request(module, 5s, start_atom::value)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) {
                 CAF_FAIL("registration failed: " << back.render(err));
               });
    CAF_REQUIRE(ok);
  }

  ~fixture() {
    caf::anon_send_exit(module, caf::exit_reason::kill);
    caf::anon_send_exit(registry, caf::exit_reason::kill);
    front.middleman().unpublish(registry, port);
  }

  /// Sends a request to the registry of the front system and waits for the
  /// outcome (at most 5 s).
  std::pair<errc, std::string> call(http_request req) {
    caf::scoped_actor self{front};
    std::pair<errc, std::string> result{errc::internal, "no answer"};
    self->request(registry, 5s, std::move(req))
      .receive(
        [&](http_response& res) {
          result = {errc::none, res.body};
        },
        [&](caf::error& err) {
          std::string detail;
          auto code = to_errc(err, detail);
          result = {code, detail};
        });
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(remote_owner_tests, fixture)

CAF_TEST(a module in another system registers and serves requests) {
  auto [code, body] = call(make_request({"remote", "42"}));
  CAF_CHECK_EQUAL(code, errc::none);
  CAF_CHECK_EQUAL(body, "echo:42:rid-1");
  caf::scoped_actor self{front};
  self->request(registry, 5s, list_atom::value)
    .receive(
      [](std::vector<endpoint>& xs) {
        CAF_REQUIRE_EQUAL(xs.size(), 2u);
        CAF_CHECK_EQUAL(xs[0].module, "remote");
        CAF_CHECK_EQUAL(xs[1].pattern, "/remote/:id");
      },
      [&](caf::error& err) { CAF_FAIL(front.render(err)); });
}

CAF_TEST(a remote owner going down fails its waiting request at once) {
  caf::scoped_actor waiter{front};
  auto start = std::chrono::steady_clock::now();
  auto rh = waiter->request(registry, 10s, make_request({"remote-hold"}));
  std::this_thread::sleep_for(200ms);
  caf::anon_send_exit(module, caf::exit_reason::kill);
  errc code = errc::none;
  rh.receive([](http_response&) { CAF_FAIL("unexpected response"); },
             [&](caf::error& err) {
               std::string detail;
               code = to_errc(err, detail);
             });
  auto elapsed = std::chrono::steady_clock::now() - start;
  CAF_CHECK_EQUAL(code, errc::owner_down);
  CAF_CHECK(elapsed < 2s);
  // Its endpoints are gone.
  CAF_CHECK_EQUAL(call(make_request({"remote", "1"})).first, errc::no_route);
}

CAF_TEST_FIXTURE_SCOPE_END()
