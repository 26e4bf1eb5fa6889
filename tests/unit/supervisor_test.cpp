#define CAF_SUITE supervisor
#include "tests/kit/module_fixture.hpp"

#include <nlohmann/json.hpp>

#include "actors/module.hpp"
#include "actors/supervisor.hpp"
#include "modules/system/system_module.hpp"

using namespace sb;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// A module that registers `GET /crash` and dies when it is called.
caf::behavior crashy(caf::event_based_actor* self, module_context ctx) {
  return {
    [self, ctx](start_atom) {
      return register_endpoints(
        self, ctx, {make_endpoint("GET", "/crash", "crash", ctx.name)});
    },
    [self](http_request&) {
      // Dies holding the request, as a crash in the middle of work would.
      self->quit(make_error(errc::internal, "crash requested"));
      return self->make_response_promise();
    },
  };
}

/// A module that never finishes starting.
caf::behavior stuck(caf::event_based_actor* self) {
  return {
    [self](start_atom) { return self->make_response_promise(); },
  };
}

factory_table make_table() {
  factory_table t;
  t.modules.push_back(modules::system::make_factory());
  module_factory c;
  c.name = "crashy";
  c.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return sys.spawn(crashy, ctx);
  };
  t.modules.push_back(c);
  module_factory s;
  s.name = "stuck";
  s.spawn = [](caf::actor_system& sys, const module_context&) {
    return sys.spawn(stuck);
  };
  t.modules.push_back(s);
  return t;
}

struct fixture : test::module_fixture {
  factory_table table = make_table();
  node_config cfg;
  caf::actor supervisor;
  std::string addresses;
  uint64_t routes = 0;

  fixture() {
    cfg.modules = {"system", "crashy"};
    cfg.protocols = {};
  }

  ~fixture() override {
    if (supervisor) {
      self->send(supervisor, stop_atom::value);
      consume_messages();
      anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
      consume_messages();
    }
  }

  void spawn() {
    supervisor = spawn_supervisor(sys, cfg, table, registry, bus);
  }

  bool start() {
    spawn();
    auto rh = self->request(supervisor, caf::infinite, start_atom::value);
    consume_messages();
    bool ok = false;
    rh.receive(
      [&](std::string& addr, uint64_t n) {
        ok = true;
        addresses = addr;
        routes = n;
      },
      [&](caf::error& err) {
        CAF_MESSAGE("start failed: " << sys.render(err));
      });
    return ok;
  }

  json get(const std::string& path, uint16_t expected_status) {
    auto res = call("GET", path);
    CAF_REQUIRE_EQUAL(res.code, errc::none);
    CAF_CHECK_EQUAL(res.response.status, expected_status);
    return json::parse(res.response.body);
  }

  /// The string at `key` (dot-separated) of the JSON that `path` answers.
  std::string get_str(const std::string& path, uint16_t expected_status,
                      const std::string& key) {
    auto doc = get(path, expected_status);
    json::json_pointer ptr{"/" + key};
    if (!doc.contains(ptr) || !doc[ptr].is_string())
      return "<missing " + key + ">";
    return doc[ptr].get<std::string>();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(start brings up every module and reports the routes) {
  CAF_REQUIRE(start());
  // System: 5 HTTP routes and 10 MCP entries; crashy: 1 route.
  CAF_CHECK_EQUAL(routes, 16u);
  CAF_CHECK_EQUAL(get_str("/health", 200, "status"), "healthy");
  CAF_CHECK_EQUAL(get_str("/health/ready", 200, "status"), "running");
  auto m = get("/health/modules/crashy", 200);
  CAF_CHECK_EQUAL(m["state"], "running");
  CAF_CHECK_EQUAL(m["restarts"], 0);
  CAF_CHECK_EQUAL(get_str("/health/modules/nope", 404, "error/code"),
                  "unknown_module");
}

CAF_TEST(the route list names method pattern protocol module and auth) {
  CAF_REQUIRE(start());
  auto routes = get("/api/routes", 200)["routes"];
  CAF_REQUIRE_EQUAL(routes.size(), 16u);
  bool found = false;
  bool tool = false;
  for (auto& r : routes) {
    if (r["protocol"] == "mcp" && r["pattern"] == "system/uptime") {
      tool = true;
      CAF_CHECK_EQUAL(r["method"], "TOOL");
      CAF_CHECK_EQUAL(r["module"], "system");
    }
    if (r["pattern"] == "/crash") {
      found = true;
      CAF_CHECK_EQUAL(r["method"], "GET");
      CAF_CHECK_EQUAL(r["protocol"], "http");
      CAF_CHECK_EQUAL(r["module"], "crashy");
      CAF_CHECK_EQUAL(r["auth"], "none");
    }
  }
  CAF_CHECK(found);
  CAF_CHECK(tool);
}

CAF_TEST(the system context answers about the node) {
  CAF_REQUIRE(start());
  auto res = call_mcp(tool_call("system", "node_status"));
  CAF_REQUIRE_EQUAL(res.code, errc::none);
  auto doc = json::parse(res.result.result);
  CAF_CHECK_EQUAL(doc["structuredContent"]["state"], "running");
  CAF_CHECK_EQUAL(doc["structuredContent"]["modules"].size(), 2u);
  res = call_mcp(tool_call("system", "memory"));
  doc = json::parse(res.result.result);
  CAF_CHECK(doc["structuredContent"]["node_rss_kib"].get<int64_t>() > 0);
  res = call_mcp(tool_call("system", "disk"));
  doc = json::parse(res.result.result);
  CAF_CHECK(!doc["structuredContent"]["filesystems"].empty());
  auto read = tool_call("system", "system://status");
  read.kind = "RESOURCE";
  read.method = "resources/read";
  read.params = R"({"uri":"system://status"})";
  res = call_mcp(read);
  doc = json::parse(res.result.result);
  CAF_CHECK_EQUAL(doc["contents"][0]["uri"], "system://status");
  CAF_CHECK_EQUAL(doc["contents"][0]["mimeType"], "application/json");
  auto text = doc["contents"][0]["text"].get<std::string>();
  CAF_CHECK_NOT_EQUAL(text.find("\"running\""), std::string::npos);
  // An unknown tool never reaches the module.
  CAF_CHECK_EQUAL(call_mcp(tool_call("system", "nope")).code, errc::no_route);
}

CAF_TEST(a node alone says so) {
  CAF_REQUIRE(start());
  CAF_CHECK_EQUAL(get_str("/api/nodes", 200, "role"), "single");
  CAF_CHECK_EQUAL(get("/api/nodes", 200)["nodes"].size(), 0u);
}

CAF_TEST(ready answers 503 while the node still starts) {
  cfg.modules = {"system", "stuck"};
  spawn();
  self->send(supervisor, start_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(get_str("/health/ready", 503, "status"), "starting");
  CAF_CHECK_EQUAL(get_str("/health/modules/stuck", 200, "state"), "starting");
  CAF_CHECK_EQUAL(get_str("/health", 200, "status"), "healthy");
}

CAF_TEST(modules start one after the other in config order) {
  cfg.modules = {"system", "stuck", "crashy"};
  spawn();
  self->send(supervisor, start_atom::value);
  consume_messages();
  // The stuck module holds up the rest: crashy has not even registered.
  CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::no_route);
  CAF_CHECK_EQUAL(get_str("/health/modules/crashy", 200, "state"), "starting");
}

CAF_TEST(a module that never finishes starting fails the start at the timeout) {
  cfg.modules = {"system", "stuck"};
  spawn();
  auto rh = self->request(supervisor, caf::infinite, start_atom::value);
  consume_messages();
  // The request to the module carries a timeout; only the clock can end it.
  advance_time(std::chrono::seconds{14});
  consume_messages();
  CAF_CHECK(self->mailbox().empty());
  advance_time(std::chrono::seconds{2});
  consume_messages();
  std::string detail;
  rh.receive([](std::string&, uint64_t) { CAF_FAIL("start succeeded"); },
             [&](caf::error& err) { detail = sys.render(err); });
  CAF_CHECK_NOT_EQUAL(detail.find("module 'stuck' failed to start"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(detail.find("request_timeout"), std::string::npos);
  CAF_CHECK_EQUAL(get_str("/health/modules/stuck", 200, "state"), "failed");
}

CAF_TEST(a module that fails to start fails the start) {
  cfg.modules = {"system", "crashy"};
  table.modules[1].spawn = [](caf::actor_system& sys, const module_context&) {
    return sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](start_atom) -> caf::result<caf::ok_atom> {
        return make_error(errc::internal, "no");
      }};
    });
  };
  CAF_CHECK(!start());
}

CAF_TEST(a crashed module is restarted and its routes come back) {
  CAF_REQUIRE(start());
  auto res = call("GET", "/crash");
  CAF_CHECK_EQUAL(res.code, errc::owner_down);
  CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::no_route);
  auto m = get("/health/modules/crashy", 200);
  CAF_CHECK_EQUAL(m["state"], "restarting");
  CAF_CHECK_EQUAL(m["restarts"], 1);
  advance_time(100ms);
  consume_messages();
  CAF_CHECK_EQUAL(get_str("/health/modules/crashy", 200, "state"), "running");
  CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::owner_down);
}

CAF_TEST(a module that keeps crashing is given up as failed) {
  CAF_REQUIRE(start());
  for (int i = 0; i < 5; ++i) {
    CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::owner_down);
    advance_time(std::chrono::milliseconds{100 << i});
    consume_messages();
    CAF_CHECK_EQUAL(get_str("/health/modules/crashy", 200, "state"), "running");
  }
  CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::owner_down);
  advance_time(10s);
  consume_messages();
  auto m = get("/health/modules/crashy", 200);
  CAF_CHECK_EQUAL(m["state"], "failed");
  CAF_CHECK_EQUAL(m["restarts"], 5);
  CAF_CHECK_EQUAL(call("GET", "/crash").code, errc::no_route);
  // The rest of the node goes on.
  CAF_CHECK_EQUAL(get_str("/health", 200, "status"), "healthy");
}

CAF_TEST_FIXTURE_SCOPE_END()
