#include "modules/testing/testing_module.hpp"

#include <chrono>
#include <unordered_map>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "actors/settings_reader.hpp"
#include "modules/common/json_reply.hpp"
#include "modules/common/mcp_kit.hpp"

namespace sb::modules::testing {

namespace {

struct testing_state {
  static inline const char* name = "sb.testing";

  testing_settings cfg;
  /// Stalled requests by ticket, answered when their time is up; the flag
  /// marks MCP calls.
  std::unordered_map<uint64_t, std::pair<caf::response_promise, bool>> stalled;
  uint64_t next_ticket = 1;
};

std::vector<endpoint> endpoints(const std::string& module) {
  return {make_endpoint("GET", "/testing/stall", "stall", module),
          make_endpoint("POST", "/testing/crash", "crash", module),
          make_endpoint("GET", "/testing/protected", "protected", module,
                        auth_requirement::required),
          make_endpoint("GET", "/testing/echo/*rest", "echo", module),
          mcp::tool("testing",
                    {{"name", "stall"},
                     {"description", "Answers after ms milliseconds, or "
                                     "never without ms."},
                     {"inputSchema",
                      {{"type", "object"},
                       {"properties",
                        {{"ms", {{"type", "integer"}, {"minimum", 0}}}}}}}},
                    "stall", module),
          mcp::tool("testing",
                    {{"name", "crash"},
                     {"description", "The module dies during the call."}},
                    "crash", module),
          mcp::tool(
            "testing",
            {{"name", "echo"}, {"description", "Answers with its arguments."}},
            "echo", module)};
}

void handle_mcp(caf::stateful_actor<testing_state>* self, mcp_request& call,
                caf::response_promise& rp) {
  auto& st = self->state;
  if (call.handler == "stall") {
    auto args = mcp::arguments(call);
    bool answer = args.contains("ms") && args["ms"].is_number_unsigned();
    uint64_t ms = st.cfg.max_stall_ms;
    if (answer)
      ms = std::min<uint64_t>(args["ms"].get<uint64_t>(), ms);
    auto ticket = st.next_ticket++;
    st.stalled.emplace(ticket, std::make_pair(rp, true));
    self->delayed_send(self, std::chrono::milliseconds{ms}, tick_atom::value,
                       ticket, answer);
  } else if (call.handler == "crash") {
    self->quit(make_error(errc::internal, "crash requested"));
  } else {
    rp.deliver(mcp::tool_result(
      json::array({{{"type", "text"}, {"text", mcp::arguments(call).dump()}}}),
      false, mcp::arguments(call)));
  }
}

void handle(caf::stateful_actor<testing_state>* self, http_request& req,
            caf::response_promise& rp) {
  auto& st = self->state;
  if (req.handler == "stall") {
    // Without `ms` the request is never answered; the promise is dropped
    // after the longest stall, so that stalled requests cannot pile up.
    uint64_t ms = st.cfg.max_stall_ms;
    bool answer = false;
    if (auto str = find_field(req.query, "ms")) {
      if (str->empty() || str->size() > 9 ||
          str->find_first_not_of("0123456789") != std::string::npos ||
          std::stoull(*str) > st.cfg.max_stall_ms) {
        rp.deliver(error_reply(400, "invalid_field",
                               "ms: must be a whole number from 0 to " +
                                 std::to_string(st.cfg.max_stall_ms),
                               "ms"));
        return;
      }
      ms = std::stoull(*str);
      answer = true;
    }
    auto ticket = st.next_ticket++;
    st.stalled.emplace(ticket, std::make_pair(rp, false));
    self->delayed_send(self, std::chrono::milliseconds{ms}, tick_atom::value,
                       ticket, answer);
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
}

caf::behavior testing_actor(caf::stateful_actor<testing_state>* self,
                            module_context ctx) {
  parse_settings(ctx.settings, self->state.cfg);
  return {
    [self, ctx](start_atom) {
      return register_endpoints(self, ctx, endpoints(ctx.name));
    },
    [self](http_request& req) {
      auto rp = self->make_response_promise();
      try {
        handle(self, req, rp);
      } catch (const std::exception& ex) {
        rp.deliver(internal_error_reply("testing", ex));
      }
      return rp;
    },
    [self](mcp_request& call) {
      auto rp = self->make_response_promise();
      try {
        handle_mcp(self, call, rp);
      } catch (const std::exception& ex) {
        rp.deliver(mcp::text_result("the tool failed unexpectedly", true));
      }
      return rp;
    },
    [self](tick_atom, uint64_t ticket, bool answer) {
      auto& stalled = self->state.stalled;
      if (auto i = stalled.find(ticket); i != stalled.end()) {
        auto& [rp, is_mcp] = i->second;
        if (answer && is_mcp)
          rp.deliver(mcp::text_result("stalled"));
        else if (answer)
          rp.deliver(json_reply(200, {{"stalled", true}}));
        stalled.erase(i);
      }
    },
  };
}

} // namespace

std::string parse_settings(const std::string& text, testing_settings& out) {
  return read_uint_section(
    text, {uint_field("max_stall_ms", 0, 3'600'000, out.max_stall_ms)});
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
