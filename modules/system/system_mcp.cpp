#include "modules/system/system_mcp.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "modules/common/mcp_kit.hpp"

namespace sb::modules::system {

namespace {

using mcp::json;

constexpr auto ask_timeout = std::chrono::seconds{2};
constexpr const char* context = "system";

json no_arguments() {
  return {{"type", "object"},
          {"properties", json::object()},
          {"additionalProperties", false}};
}

json tool_def(const char* name, const char* title, const char* description) {
  return {{"name", name},
          {"title", title},
          {"description", description},
          {"inputSchema", no_arguments()},
          {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}};
}

json to_json(const module_info& x) {
  return {
    {"name", x.name}, {"state", to_string(x.state)}, {"restarts", x.restarts}};
}

json status_json(const node_status& st) {
  auto modules = json::array();
  for (auto& m : st.modules)
    modules.push_back(to_json(m));
  return {{"state", to_string(st.state)},
          {"uptime_ms", st.uptime_ms},
          {"modules", std::move(modules)}};
}

json load_json() {
  json result = json::object();
  std::ifstream in{"/proc/loadavg"};
  double one = 0;
  double five = 0;
  double fifteen = 0;
  if (in >> one >> five >> fifteen)
    result = {{"load1", one}, {"load5", five}, {"load15", fifteen}};
  result["cpus"] = static_cast<int64_t>(sysconf(_SC_NPROCESSORS_ONLN));
  return result;
}

/// Values of `/proc/meminfo` and of our own process, in KiB.
json memory_json() {
  json result = json::object();
  std::ifstream in{"/proc/meminfo"};
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemTotal:")
      result["total_kib"] = value;
    else if (key == "MemAvailable:")
      result["available_kib"] = value;
    else if (key == "SwapTotal:")
      result["swap_total_kib"] = value;
    else if (key == "SwapFree:")
      result["swap_free_kib"] = value;
  }
  std::ifstream self{"/proc/self/status"};
  std::string line;
  while (std::getline(self, line)) {
    std::istringstream fields{line};
    fields >> key >> value;
    if (key == "VmRSS:")
      result["node_rss_kib"] = value;
    else if (key == "Threads:")
      result["node_threads"] = value;
  }
  return result;
}

json disk_json() {
  auto result = json::array();
  char cwd[4096];
  std::vector<std::string> paths{"/"};
  if (getcwd(cwd, sizeof(cwd)) != nullptr && std::string{cwd} != "/")
    paths.emplace_back(cwd);
  for (auto& path : paths) {
    struct statvfs st {};
    if (statvfs(path.c_str(), &st) != 0)
      continue;
    auto block = static_cast<uint64_t>(st.f_frsize);
    result.push_back({{"path", path},
                      {"total_bytes", block * st.f_blocks},
                      {"free_bytes", block * st.f_bavail},
                      {"used_bytes", block * (st.f_blocks - st.f_bfree)}});
  }
  return result;
}

json routes_json(const std::vector<endpoint>& xs) {
  auto routes = json::array();
  for (auto& x : xs)
    routes.push_back({{"protocol", x.protocol},
                      {"method", x.method},
                      {"pattern", x.pattern},
                      {"module", x.module},
                      {"auth", to_string(x.auth)}});
  return routes;
}

/// A tool result with the JSON as text and as structured content.
mcp_result json_result(const json& x) {
  return mcp::tool_result(
    json::array({{{"type", "text"}, {"text", x.dump(2)}}}), false, x);
}

} // namespace

std::vector<endpoint> mcp_entries(const std::string& module) {
  std::vector<endpoint> xs;
  auto add_tool = [&](const char* name, const char* title, const char* text) {
    xs.push_back(mcp::tool(context, tool_def(name, title, text), name, module));
  };
  add_tool("node_status", "Node status",
           "State and uptime of the node and the state of every module.");
  add_tool("list_modules", "Modules",
           "The modules of the node with their state and restart count.");
  add_tool("list_routes", "Routes",
           "Every endpoint registered with the node: HTTP routes and MCP "
           "entries, with the module that owns each.");
  add_tool("uptime", "Uptime", "Time since the node started.");
  add_tool("load", "System load",
           "Load averages over 1, 5 and 15 minutes and the number of CPUs.");
  add_tool("memory", "Memory",
           "Memory of the machine and the resident memory of the node.");
  add_tool("disk", "Disk space",
           "Total, used and free bytes of the root file system and of the "
           "node's working directory.");
  xs.push_back(mcp::resource(context,
                             {{"uri", "system://status"},
                              {"name", "status"},
                              {"title", "Node status"},
                              {"description", "The node_status tool's answer "
                                              "as a document."},
                              {"mimeType", "application/json"}},
                             "status", module));
  xs.push_back(mcp::resource(context,
                             {{"uri", "system://routes"},
                              {"name", "routes"},
                              {"title", "Routes"},
                              {"description", "Every registered endpoint."},
                              {"mimeType", "application/json"}},
                             "routes", module));
  xs.push_back(mcp::prompt(
    context,
    {{"name", "diagnose"},
     {"title", "Diagnose the node"},
     {"description", "Asks for a health check of the node from its status, "
                     "load and memory."},
     {"arguments",
      json::array({{{"name", "focus"},
                    {"description", "What to look at first, e.g. memory"},
                    {"required", false}}})}},
    "diagnose", module));
  return xs;
}

void answer_mcp(caf::event_based_actor* self, const module_context& ctx,
                const mcp_request& call, caf::response_promise rp) {
  auto fail = [rp](caf::error& err) mutable {
    std::string detail;
    to_errc(err, detail);
    rp.deliver(mcp::text_result("the node did not answer: " + detail, true));
  };
  auto& h = call.handler;
  if (call.method == "completion/complete") {
    rp.deliver(mcp::error(mcp::method_not_found, "no completions here"));
  } else if (h == "node_status" || h == "list_modules" || h == "uptime" ||
             h == "status") {
    self->request(ctx.node, ask_timeout, status_atom::value)
      .then(
        [rp, h, uri = mcp::uri(call)](node_status& st) mutable {
          auto x = status_json(st);
          if (h == "status")
            rp.deliver(mcp::resource_text(uri, "application/json", x.dump(2)));
          else if (h == "list_modules")
            rp.deliver(json_result({{"modules", x["modules"]}}));
          else if (h == "uptime")
            rp.deliver(json_result(
              {{"uptime_ms", st.uptime_ms},
               {"uptime_s", static_cast<double>(st.uptime_ms) / 1000.0}}));
          else
            rp.deliver(json_result(x));
        },
        fail);
  } else if (h == "list_routes" || h == "routes") {
    self->request(ctx.registry, ask_timeout, list_atom::value)
      .then(
        [rp, h, uri = mcp::uri(call)](std::vector<endpoint>& xs) mutable {
          json x = {{"routes", routes_json(xs)}};
          if (h == "routes")
            rp.deliver(mcp::resource_text(uri, "application/json", x.dump(2)));
          else
            rp.deliver(json_result(x));
        },
        fail);
  } else if (h == "load") {
    rp.deliver(json_result(load_json()));
  } else if (h == "memory") {
    rp.deliver(json_result(memory_json()));
  } else if (h == "disk") {
    rp.deliver(json_result({{"filesystems", disk_json()}}));
  } else if (h == "diagnose") {
    auto focus = mcp::arguments(call).value("focus", std::string{});
    auto text = std::string{"Check the health of this Switchboard node. Call "
                            "the tools node_status, load, memory and disk of "
                            "the system context, then say what looks wrong "
                            "and what to do about it."};
    if (!focus.empty())
      text += " Look at this first: " + focus + ".";
    rp.deliver(mcp::result(
      {{"description", "Health check of the node"},
       {"messages",
        json::array({{{"role", "user"},
                      {"content", {{"type", "text"}, {"text", text}}}}})}}));
  } else {
    rp.deliver(mcp::error(mcp::method_not_found, "unknown entry " + h));
  }
}

} // namespace sb::modules::system
