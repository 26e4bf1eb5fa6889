#include "modules/greeter/greeter_module.hpp"

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "modules/common/json_reply.hpp"

namespace sb::modules::greeter {

namespace {

struct greeter_state {
  static inline const char* name = "sb.greeter";

  greeter_settings cfg;
  uint64_t greetings = 0;
  /// `routes_changed` events received, and the route count of the last.
  uint64_t route_events = 0;
  uint64_t routes = 0;
};

caf::behavior greeter_actor(caf::stateful_actor<greeter_state>* self,
                            module_context ctx) {
  parse_settings(ctx.settings, self->state.cfg);
  return {
    [self, ctx](start_atom) {
      // Events of the bus cross nodes: this one comes from the registry of
      // the front node whenever endpoints come or go anywhere.
      if (ctx.bus)
        self->send(ctx.bus, subscribe_atom::value, std::string{"routes"});
      return register_endpoints(
        self, ctx,
        {make_endpoint("GET", "/greeter/hello/:name", "hello", ctx.name),
         make_endpoint("GET", "/greeter/stats", "stats", ctx.name)});
    },
    [self](http_request& req) -> http_response {
      auto& st = self->state;
      try {
        if (req.handler == "hello") {
          ++st.greetings;
          auto who = find_field(req.params, "name");
          return json_reply(200, {{"greeting", st.cfg.greeting + ", " +
                                                 (who ? *who : "") + "!"}});
        }
        return json_reply(200, {{"greetings", st.greetings},
                                {"route_events", st.route_events},
                                {"routes", st.routes}});
      } catch (const std::exception& ex) {
        return internal_error_reply("greeter", ex);
      }
    },
    [self](const routes_changed& ev) {
      ++self->state.route_events;
      self->state.routes = ev.count;
    },
  };
}

} // namespace

std::string parse_settings(const std::string& text, greeter_settings& out) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    return "<section>: expected a JSON object";
  }
  if (!doc.is_object())
    return "<section>: expected a JSON object";
  for (auto& [key, val] : doc.items()) {
    if (key != "greeting")
      return key + ": unknown key";
    if (!val.is_string() || val.get<std::string>().empty() ||
        val.get<std::string>().size() > 64)
      return "greeting: expected a word of 1 to 64 characters";
    out.greeting = val.get<std::string>();
  }
  return {};
}

module_factory make_factory() {
  module_factory result;
  result.name = "greeter";
  result.summary = "example module that greets by name";
  result.check = [](const std::string& text) {
    greeter_settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return sys.spawn(greeter_actor, ctx);
  };
  return result;
}

} // namespace sb::modules::greeter
