#include "modules/system/system_module.hpp"

#include <chrono>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "modules/common/auth_setting.hpp"
#include "modules/common/json_reply.hpp"
#include "modules/common/mcp_kit.hpp"
#include "modules/system/system_mcp.hpp"

namespace sb::modules::system {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{2};

http_response error_reply(errc code, const std::string& message) {
  return modules::error_reply(to_http_status(code), to_code(code), message);
}

/// What a client needs to use the system context; a token by default.
auth_requirement context_auth(const std::string& settings) {
  auto doc = nlohmann::json::parse(settings, nullptr, false);
  auto result = auth_requirement::required;
  std::string err;
  if (doc.is_object())
    for (auto& [key, val] : doc.items())
      read_auth_setting(key, val, result, err);
  return result;
}

std::vector<endpoint> endpoints(const std::string& module,
                                auth_requirement mcp_auth) {
  std::vector<endpoint> xs{
    make_endpoint("GET", "/health", "health", module),
    make_endpoint("GET", "/api/nodes", "nodes", module),
    make_endpoint("GET", "/health/ready", "ready", module),
    make_endpoint("GET", "/health/modules/:name", "module", module),
    make_endpoint("GET", "/api/routes", "routes", module)};
  auto mcp = mcp_entries(module);
  require_auth(mcp, mcp_auth);
  xs.insert(xs.end(), mcp.begin(), mcp.end());
  return xs;
}

json to_json(const module_info& x) {
  return {
    {"name", x.name}, {"state", to_string(x.state)}, {"restarts", x.restarts}};
}

caf::behavior system_actor(caf::event_based_actor* self, module_context ctx) {
  return {
    [self, ctx](start_atom) {
      return register_endpoints(
        self, ctx, endpoints(ctx.name, context_auth(ctx.settings)));
    },
    [self, ctx](mcp_request& call) {
      auto rp = self->make_response_promise();
      try {
        answer_mcp(self, ctx, call, rp);
      } catch (const std::exception& ex) {
        rp.deliver(mcp::text_result("the tool failed unexpectedly", true));
      }
      return rp;
    },
    [self, ctx](http_request& req) {
      auto rp = self->make_response_promise();
      auto fail = [rp](caf::error& err) mutable {
        std::string detail;
        auto code = to_errc(err, detail);
        rp.deliver(error_reply(code, detail));
      };
      if (req.handler == "health") {
        rp.deliver(json_reply(200, {{"status", "healthy"}}));
      } else if (req.handler == "ready") {
        self->request(ctx.node, ask_timeout, status_atom::value)
          .then(
            [rp](node_status& st) mutable {
              auto ok = st.state == node_state::running;
              rp.deliver(
                json_reply(ok ? 200 : 503, {{"status", to_string(st.state)}}));
            },
            fail);
      } else if (req.handler == "module") {
        auto name = *find_field(req.params, "name");
        self->request(ctx.node, ask_timeout, module_atom::value, name)
          .then(
            [rp](module_info& info) mutable {
              rp.deliver(json_reply(200, to_json(info)));
            },
            fail);
      } else if (req.handler == "nodes") {
        self->request(ctx.node, ask_timeout, nodes_atom::value)
          .then(
            [rp](std::string& role, std::vector<std::string>& names) mutable {
              rp.deliver(json_reply(200, {{"role", role}, {"nodes", names}}));
            },
            fail);
      } else if (req.handler == "routes") {
        self->request(ctx.registry, ask_timeout, list_atom::value)
          .then(
            [rp](std::vector<endpoint>& xs) mutable {
              auto routes = json::array();
              for (auto& x : xs)
                routes.push_back({{"method", x.method},
                                  {"pattern", x.pattern},
                                  {"protocol", x.protocol},
                                  {"module", x.module},
                                  {"auth", to_string(x.auth)},
                                  {"scopes", x.scopes}});
              rp.deliver(json_reply(200, {{"routes", std::move(routes)}}));
            },
            fail);
      } else {
        rp.deliver(error_reply(errc::no_route, "unknown handler"));
      }
      return rp;
    },
  };
}

} // namespace

module_factory make_factory() {
  module_factory result;
  result.name = "system";
  result.summary = "health checks and the list of routes";
  result.check = [](const std::string& text) -> std::string {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object())
      return "<section>: expected an object";
    for (auto& [key, val] : doc.items()) {
      std::string err;
      auth_requirement tmp;
      if (!read_auth_setting(key, val, tmp, err))
        return key + ": unknown key (the system module takes only auth)";
      if (!err.empty())
        return err;
    }
    return {};
  };
  result.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return sys.spawn(system_actor, ctx);
  };
  return result;
}

} // namespace sb::modules::system
