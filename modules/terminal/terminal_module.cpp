#include "modules/terminal/terminal_module.hpp"

#include <algorithm>
#include <memory>

#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/module.hpp"
#include "actors/settings_reader.hpp"
#include "modules/common/auth_setting.hpp"
#include "modules/common/confined_path.hpp"
#include "modules/common/mcp_kit.hpp"
#include "modules/common/process.hpp"
#include "modules/common/tool_args.hpp"

namespace sb::modules::terminal {

namespace {

using json = mcp::json;

constexpr const char* component = "terminal";
constexpr size_t max_commands = 256;
constexpr size_t max_name_bytes = 64;
constexpr size_t max_path_bytes = 4096;
constexpr size_t max_args = 64;
constexpr size_t max_arg_bytes = 4096;
// -- settings -----------------------------------------------------------------

bool valid_name(const std::string& str) {
  return !str.empty() && str.size() <= max_name_bytes &&
         std::all_of(str.begin(), str.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

bool absolute_path(const nlohmann::json& x) {
  if (!x.is_string())
    return false;
  auto& str = x.get_ref<const std::string&>();
  return !str.empty() && str[0] == '/' && str.size() <= max_path_bytes &&
         str.find('\0') == std::string::npos;
}

std::string read_commands(const nlohmann::json& x, field_list& out) {
  if (!x.is_object())
    return "commands: expected an object of names and absolute paths";
  if (x.size() > max_commands)
    return "commands: at most " + std::to_string(max_commands) + " commands";
  out.clear();
  // nlohmann::json keeps keys sorted, and so does the list.
  for (auto& [name, path] : x.items()) {
    if (!valid_name(name))
      return "commands." + name + ": names are 1 to 64 of a-z, 0-9, _, . and -";
    if (!absolute_path(path))
      return "commands." + name + ": expected an absolute program path";
    out.emplace_back(name, path.get<std::string>());
  }
  return {};
}

// -- the tool -----------------------------------------------------------------

json definition(const terminal_settings& cfg) {
  auto names = json::array();
  std::string listing;
  for (auto& [name, path] : cfg.commands) {
    names.push_back(name);
    listing += (listing.empty() ? "" : ", ") + name;
  }
  return {
    {"name", "run"},
    {"title", "Run a command"},
    {"description",
     "Runs one of the allowed commands (" + listing +
       ") with the given arguments, without a shell, and returns its exit "
       "code, stdout and stderr."},
    {"inputSchema",
     {{"type", "object"},
      {"properties",
       {{"command",
         {{"type", "string"},
          {"enum", std::move(names)},
          {"description", "Name of an allowed command"}}},
        {"args",
         {{"type", "array"},
          {"items", {{"type", "string"}, {"maxLength", max_arg_bytes}}},
          {"maxItems", max_args},
          {"description", "Arguments, passed as they are: no shell, no "
                          "globbing, no variables"}}},
        {"cwd",
         {{"type", "string"},
          {"minLength", 1},
          {"maxLength", max_path_bytes},
          {"description", "Directory to run in, relative to the working "
                          "directory"}}}}},
      {"required", json::array({"command"})},
      {"additionalProperties", false}}},
    {"annotations",
     {{"readOnlyHint", false},
      {"destructiveHint", true},
      {"idempotentHint", false},
      {"openWorldHint", true}}}};
}

/// Builds what to run; returns what is wrong with the call instead.
std::string build(const terminal_settings& cfg, const json& arguments,
                  process_spec& spec, std::string& name) {
  tool_args args{arguments, {"command", "args", "cwd"}};
  auto command = args.string("command", max_name_bytes, true);
  auto list = args.strings("args", max_args, max_arg_bytes);
  auto cwd = args.string("cwd", max_path_bytes);
  if (!args.ok())
    return args.problem();
  auto cmd = std::find_if(cfg.commands.begin(), cfg.commands.end(),
                          [&](const field& x) { return x.first == *command; });
  if (cmd == cfg.commands.end()) {
    std::string known;
    for (auto& [x, path] : cfg.commands)
      known += (known.empty() ? "" : ", ") + x;
    return "command: '" + *command + "' is not allowed; allowed: " + known;
  }
  name = *command;
  std::string dir;
  if (auto problem =
        confine_path(cfg.working_directory, cwd ? *cwd : std::string{"."}, true,
                     dir, "the working directory");
      !problem.empty())
    return "cwd: " + problem;
  spec.argv = {cmd->second};
  if (list)
    spec.argv.insert(spec.argv.end(), list->begin(), list->end());
  spec.cwd = std::move(dir);
  return {};
}

/// The tool result: a status line, stdout and stderr as text, and the same
/// as structured content.
mcp_result reply(const std::string& name, const process_result& res,
                 uint32_t timeout_ms, uint64_t max_output) {
  if (!res.error.empty())
    return mcp::text_result(name + " did not run: " + res.error, true);
  std::string status;
  if (res.timed_out)
    status = "timed out after " + std::to_string(timeout_ms) +
             " ms; the command was killed";
  else if (res.truncated)
    status = "output truncated at " + std::to_string(max_output) +
             " bytes; the command was killed";
  else if (res.signal != 0)
    status = "killed by signal " + std::to_string(res.signal);
  else
    status = "exit code: " + std::to_string(res.exit_code);
  auto section = [](const char* title, const std::string& text) {
    std::string out = std::string{"--- "} + title + " ---\n";
    if (text.empty())
      return out + "(empty)\n";
    out += text;
    if (text.back() != '\n')
      out += '\n';
    return out;
  };
  auto text =
    status + "\n" + section("stdout", res.out) + section("stderr", res.err);
  json structured = {
    {"exit_code", res.signal == 0 && !res.timed_out && !res.truncated
                    ? json(res.exit_code)
                    : json(nullptr)},
    {"signal", res.signal != 0 ? json(res.signal) : json(nullptr)},
    {"timed_out", res.timed_out},
    {"truncated", res.truncated},
    {"stdout", res.out},
    {"stderr", res.err},
    {"elapsed_ms", res.elapsed_ms}};
  // Output cut short is still output; a failure or a hang is an error.
  bool failed = res.timed_out ||
                (!res.truncated && (res.exit_code != 0 || res.signal != 0));
  return mcp::tool_result(json::array({{{"type", "text"}, {"text", text}}}),
                          failed, std::move(structured));
}

// -- the actor ----------------------------------------------------------------

struct terminal_state {
  static inline const char* name = "sb.terminal";

  terminal_settings cfg;
  caf::actor runner;
};

using terminal_actor_type = caf::stateful_actor<terminal_state>;

caf::response_promise handle(terminal_actor_type* self, mcp_request& call) {
  auto rp = self->make_response_promise();
  auto& st = self->state;
  if (call.kind != mcp::tool_kind || call.method != "tools/call") {
    rp.deliver(
      mcp::error(mcp::method_not_found, "terminal answers tools/call only"));
    return rp;
  }
  if (call.handler != "run") {
    rp.deliver(mcp::text_result("unknown tool '" + call.handler + "'", true));
    return rp;
  }
  if (!st.cfg.enabled) {
    rp.deliver(mcp::text_result("the terminal is disabled", true));
    return rp;
  }
  process_spec spec;
  std::string name;
  if (auto problem = build(st.cfg, mcp::arguments(call), spec, name);
      !problem.empty()) {
    rp.deliver(mcp::text_result(problem, true));
    return rp;
  }
  auto timeout = program_timeout(st.cfg.timeout_ms, call.timeout_ms);
  spec.timeout_ms = timeout;
  spec.max_output = st.cfg.max_output_bytes;
  auto max_output = st.cfg.max_output_bytes;
  logger(component)->debug("run command={} args={}", name,
                           spec.argv.size() - 1);
  self->request(st.runner, caf::infinite, std::move(spec))
    .then(
      [rp, name, timeout, max_output](process_result& res) mutable {
        rp.deliver(reply(name, res, timeout, max_output));
      },
      [self, rp, name](caf::error& err) mutable {
        rp.deliver(mcp::text_result(
          name + " did not run: " + self->system().render(err), true));
      });
  return rp;
}

caf::behavior terminal_actor(terminal_actor_type* self, module_context ctx) {
  auto& st = self->state;
  if (auto err = parse_settings(ctx.settings, st.cfg); !err.empty()) {
    // The factory's check refuses such settings; stay off if it was skipped.
    logger(component)->error("bad settings, staying disabled error={}", err);
    st.cfg.enabled = false;
  }
  st.runner = spawn_runner_of(self, st.cfg.max_concurrent);
  return {
    [self, ctx](start_atom) {
      auto& cfg = self->state.cfg;
      std::vector<endpoint> xs;
      if (!cfg.enabled) {
        logger(component)->warn("terminal is disabled, no tools registered");
      } else {
        for (auto& [name, path] : cfg.commands)
          if (::access(path.c_str(), X_OK) != 0)
            logger(component)->warn("command cannot run name={} path={}", name,
                                    path);
        xs.push_back(mcp::tool(context, definition(cfg), "run", ctx.name));
        require_auth(xs, cfg.auth);
      }
      return register_endpoints(self, ctx, std::move(xs));
    },
    [self](mcp_request& call) {
      try {
        return handle(self, call);
      } catch (const std::exception& ex) {
        logger(component)->error("call failed error={}", ex.what());
        auto rp = self->make_response_promise();
        rp.deliver(mcp::error(mcp::internal_error,
                              "terminal failed to handle this call"));
        return rp;
      }
    },
  };
}

} // namespace

std::string parse_settings(const std::string& text, terminal_settings& out) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return "<section>: not valid JSON";
  if (!doc.is_object())
    return "<section>: expected an object";
  for (auto& [key, val] : doc.items()) {
    std::string err;
    if (key == "enabled") {
      if (!val.is_boolean())
        err = "enabled: expected true or false";
      else
        out.enabled = val.get<bool>();
    } else if (key == "commands") {
      err = read_commands(val, out.commands);
    } else if (key == "working_directory") {
      if (!absolute_path(val))
        err = "working_directory: expected an absolute path";
      else
        out.working_directory = val.get<std::string>();
    } else if (!read_run_limit(key, val, out.timeout_ms, out.max_output_bytes,
                               out.max_concurrent, err) &&
               !read_auth_setting(key, val, out.auth, err)) {
      err = key + ": unknown key";
    }
    if (!err.empty())
      return err;
  }
  if (out.enabled && out.commands.empty())
    return "commands: name at least one command when enabled";
  if (out.enabled && out.working_directory.empty())
    return "working_directory: required when enabled";
  return {};
}

caf::actor spawn(caf::actor_system& sys, const module_context& ctx) {
  return sys.spawn(terminal_actor, ctx);
}

module_factory make_factory() {
  module_factory result;
  result.name = "terminal";
  result.summary = "MCP tool that runs allow-listed commands (off by default)";
  result.check = [](const std::string& text) {
    terminal_settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = spawn;
  return result;
}

} // namespace sb::modules::terminal
