#pragma once

// The kit for MCP modules that run programs (git-tools, terminal): a real
// actor system, since their programs run on detached actors with threads of
// their own, which the deterministic test coordinator cannot drive. A stub
// registry records what the module registers; tests send `mcp_request`s
// straight to the module, as the registry would, and wait for the answer.
//
//   CAF_TEST_FIXTURE_SCOPE(my_tests, sb::test::mcp_module_fixture)
//
//   CAF_TEST(the tool answers) {
//     auto mod = start(my::make_factory(), R"({"enabled":true})");
//     auto res = call_tool(mod, "ctx", "tool", {{"x", 1}});
//     CAF_CHECK(!res.is_error);
//   }
//
//   CAF_TEST_FIXTURE_SCOPE_END()

#include "caf/test/unit_test.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/factory.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "modules/common/process.hpp"

namespace sb::test {

using json = nlohmann::json;

/// Actor system config with every message type of the node and two
/// scheduler threads.
struct real_config : caf::actor_system_config {
  real_config() {
    sb::register_message_types(*this);
    set("scheduler.max-threads", 2);
  }
};

/// A directory under /tmp, removed with everything in it at the end.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = "/tmp/sb-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path_ = tmpl;
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const noexcept { return path_; }

  /// `path()` joined with `rel`.
  std::string operator/(const std::string& rel) const {
    return path_ + "/" + rel;
  }

private:
  std::string path_;
};

/// Runs a program for test setup and fails the test unless it exits 0.
inline modules::process_result must_run(std::vector<std::string> argv,
                                        const std::string& cwd = {},
                                        field_list env = {}) {
  modules::process_spec spec;
  spec.argv = std::move(argv);
  spec.cwd = cwd;
  spec.env = std::move(env);
  auto res = modules::run_process(spec);
  if (!res.ok())
    CAF_FAIL("setup command failed: " << spec.argv[0] << " " << res.error
                                      << res.err);
  return res;
}

/// A tool result, parsed.
struct tool_outcome {
  /// JSON-RPC error code, or 0 for a result.
  int32_t rpc_error = 0;
  std::string rpc_message;
  bool is_error = false;
  /// The text items of `content`, joined.
  std::string text;
  json structured;
};

struct mcp_module_fixture {
  /// What the stub registry received.
  struct registrations {
    std::mutex mtx;
    std::vector<endpoint> xs;
  };

  real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<registrations> reg = std::make_shared<registrations>();
  caf::actor registry;
  std::vector<caf::actor> modules;

  mcp_module_fixture() {
    set_log_level("error");
    registry = sys.spawn(
      [](caf::event_based_actor*,
         std::shared_ptr<registrations> out) -> caf::behavior {
        return {
          [out](register_atom, caf::actor&, std::vector<endpoint>& xs) {
            std::lock_guard<std::mutex> guard{out->mtx};
            out->xs.insert(out->xs.end(), xs.begin(), xs.end());
            return caf::ok_atom::value;
          },
        };
      },
      reg);
  }

  ~mcp_module_fixture() {
    for (auto& x : modules)
      self->send_exit(x, caf::exit_reason::user_shutdown);
    self->send_exit(registry, caf::exit_reason::user_shutdown);
  }

  module_context context(const std::string& name, const std::string& settings) {
    module_context ctx;
    ctx.name = name;
    ctx.registry = registry;
    ctx.settings = settings;
    return ctx;
  }

  /// Spawns the module of `factory` after checking `settings` and starts
  /// it; fails the test on any error.
  caf::actor start(const module_factory& factory, const std::string& settings) {
    auto problem = factory.check(settings);
    if (!problem.empty())
      CAF_FAIL("settings refused: " << problem);
    auto hdl = factory.spawn(sys, context(factory.name, settings));
    modules.push_back(hdl);
    bool ok = false;
    self->request(hdl, std::chrono::seconds{10}, start_atom::value)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) {
                 CAF_FAIL("module failed to start: " << sys.render(err));
               });
    CAF_REQUIRE(ok);
    return hdl;
  }

  /// Everything registered so far.
  std::vector<endpoint> registered() {
    std::lock_guard<std::mutex> guard{reg->mtx};
    return reg->xs;
  }

  /// The registered definition of tool `name` in `context`, or null.
  json definition(const std::string& context, const std::string& name) {
    for (auto& x : registered())
      if (x.protocol == "mcp" && x.method == "TOOL" &&
          x.pattern == context + "/" + name)
        return json::parse(x.detail);
    return nullptr;
  }

  /// A `tools/call` of `tool` in `context`, with the handler the module
  /// registered for it.
  mcp_request tool_call(const std::string& context, const std::string& tool,
                        const json& arguments, uint32_t timeout_ms = 0) {
    mcp_request call;
    // As from a client whose token holds the context's scope.
    call.who = {"test:tester", "test-client", {mcp_scope(context)}};
    call.context = context;
    call.kind = "TOOL";
    call.name = tool;
    call.method = "tools/call";
    call.params = json{{"name", tool}, {"arguments", arguments}}.dump();
    call.timeout_ms = timeout_ms;
    call.handler = tool;
    for (auto& x : registered())
      if (x.pattern == context + "/" + tool)
        call.handler = x.handler;
    return call;
  }

  /// Sends `call` straight to `module`, as the registry would, and waits
  /// for the answer.
  mcp_result send_call(const caf::actor& module, mcp_request call) {
    mcp_result out;
    bool answered = false;
    self->request(module, std::chrono::seconds{60}, std::move(call))
      .receive(
        [&](mcp_result& res) {
          answered = true;
          out = std::move(res);
        },
        [&](caf::error& err) { CAF_FAIL("call failed: " << sys.render(err)); });
    CAF_REQUIRE(answered);
    return out;
  }

  /// Parses the answer to a tool call.
  static tool_outcome parse(const mcp_result& res) {
    tool_outcome out;
    out.rpc_error = res.error_code;
    out.rpc_message = res.error_message;
    if (res.error_code != 0)
      return out;
    auto body = json::parse(res.result);
    out.is_error = body.value("isError", false);
    for (auto& item : body["content"])
      if (item.value("type", "") == "text")
        out.text += item["text"].get<std::string>();
    if (body.contains("structuredContent"))
      out.structured = body["structuredContent"];
    return out;
  }

  /// Calls `tool` and parses the answer.
  tool_outcome call_tool(const caf::actor& module, const std::string& context,
                         const std::string& tool, const json& arguments,
                         uint32_t timeout_ms = 0) {
    return parse(
      send_call(module, tool_call(context, tool, arguments, timeout_ms)));
  }
};

} // namespace sb::test
