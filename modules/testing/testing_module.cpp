#include "modules/testing/testing_module.hpp"

#include <chrono>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"

namespace sb::modules::testing {

namespace {

using json = nlohmann::ordered_json;

struct testing_state {
  static inline const char* name = "sb.testing";

  testing_settings cfg;
  /// Stalled requests by ticket, answered when their time is up.
  std::unordered_map<uint64_t, caf::response_promise> stalled;
  uint64_t next_ticket = 1;
};

http_response json_reply(uint16_t status, const json& body) {
  http_response res;
  res.status = status;
  res.body = body.dump();
  return res;
}

std::vector<endpoint> endpoints(const std::string& module) {
  auto make = [&](const char* method, const char* pattern,
                  const char* handler) {
    endpoint x;
    x.method = method;
    x.pattern = pattern;
    x.handler = handler;
    x.module = module;
    return x;
  };
  auto protected_ep = make("GET", "/testing/protected", "protected");
  protected_ep.auth = auth_requirement::required;
  return {make("GET", "/testing/stall", "stall"),
          make("POST", "/testing/crash", "crash"), protected_ep,
          make("GET", "/testing/echo/*rest", "echo")};
}

caf::behavior testing_actor(caf::stateful_actor<testing_state>* self,
                            module_context ctx) {
  parse_settings(ctx.settings, self->state.cfg);
  return {
    [self, ctx](start_atom) {
      return self->delegate(ctx.registry, register_atom::value,
                            caf::actor_cast<caf::actor>(self),
                            endpoints(ctx.name));
    },
    [self](http_request& req) {
      auto rp = self->make_response_promise();
      auto& st = self->state;
      if (req.handler == "stall") {
        auto ms = find_field(req.query, "ms");
        auto ticket = st.next_ticket++;
        st.stalled.emplace(ticket, rp);
        if (ms) {
          uint64_t val = 0;
          if (ms->empty() || ms->size() > 9 ||
              ms->find_first_not_of("0123456789") != std::string::npos ||
              (val = std::stoull(*ms)) > st.cfg.max_stall_ms) {
            st.stalled.erase(ticket);
            rp.deliver(json_reply(
              400, {{"error",
                     {{"code", "invalid_field"},
                      {"message", "ms: must be a whole number from 0 to " +
                                    std::to_string(st.cfg.max_stall_ms)},
                      {"field", "ms"}}}}));
            return rp;
          }
          self->delayed_send(self, std::chrono::milliseconds{val},
                             tick_atom::value, ticket);
        }
      } else if (req.handler == "crash") {
        // Dies holding this request: the registry must answer it.
        self->quit(make_error(errc::internal, "crash requested"));
      } else if (req.handler == "protected") {
        rp.deliver(json_reply(200, {{"secret", "only with a token"}}));
      } else {
        json params = json::object();
        for (auto& [k, v] : req.params)
          params[k] = v;
        json query = json::object();
        for (auto& [k, v] : req.query)
          query[k] = v;
        rp.deliver(json_reply(
          200, {{"method", req.method}, {"params", params}, {"query", query}}));
      }
      return rp;
    },
    [self](tick_atom, uint64_t ticket) {
      auto& stalled = self->state.stalled;
      if (auto i = stalled.find(ticket); i != stalled.end()) {
        i->second.deliver(json_reply(200, {{"stalled", true}}));
        stalled.erase(i);
      }
    },
  };
}

} // namespace

std::string parse_settings(const std::string& text, testing_settings& out) {
  auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object())
    return "<section>: expected an object";
  for (auto& [key, val] : doc.items()) {
    if (key == "max_stall_ms") {
      if (!val.is_number_integer() || val < 0 || val > 3'600'000)
        return "max_stall_ms: expected a whole number from 0 to 3600000";
      out.max_stall_ms = val.get<uint32_t>();
    } else {
      return key + ": unknown key";
    }
  }
  return {};
}

module_factory make_factory() {
  module_factory result;
  result.name = "testing";
  result.summary = "misbehaving endpoints for tests (off by default)";
  result.check = [](const std::string& text) {
    testing_settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return sys.spawn(testing_actor, ctx);
  };
  return result;
}

} // namespace sb::modules::testing
