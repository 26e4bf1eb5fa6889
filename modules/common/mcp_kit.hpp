#pragma once

// The MCP side of a module: how it describes tools, resources, resource
// templates and prompts for the registry, what it answers to a call, and how
// it talks to the client while a call runs (progress, log messages, and
// requests to the client such as sampling or elicitation).
//
// A module registers MCP entries like HTTP routes, in one batch with them if
// it likes:
//
//   auto x = mcp::tool("system", {{"name", "uptime"},
//                                 {"description", "Time since start"},
//                                 {"inputSchema", {{"type", "object"}}}},
//                      "uptime", ctx.name);
//   register_endpoints(self, ctx, {x});
//
// and answers each call with an `mcp_result`:
//
//   [](mcp_request& call) { return mcp::text_result("42 s"); }

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/mcp_messages.hpp"
#include "actors/messages.hpp"

namespace sb::mcp {

using json = nlohmann::ordered_json;

// -- kinds of entries ---------------------------------------------------------

inline constexpr const char* tool_kind = "TOOL";
inline constexpr const char* resource_kind = "RESOURCE";
inline constexpr const char* template_kind = "TEMPLATE";
inline constexpr const char* prompt_kind = "PROMPT";

// -- entries ------------------------------------------------------------------

/// A tool of `context`. `definition` is the tool as `tools/list` shows it:
/// `name` (required), `title`, `description`, `inputSchema` (an object
/// schema; `{"type":"object"}` if left out), `outputSchema`, `annotations`.
endpoint tool(const std::string& context, json definition, std::string handler,
              std::string module);

/// A resource of `context`; `definition` has `uri` and `name` (required),
/// `title`, `description`, `mimeType`, `size`.
endpoint resource(const std::string& context, json definition,
                  std::string handler, std::string module);

/// A resource template of `context`; `definition` has `uriTemplate` and
/// `name` (required), `title`, `description`, `mimeType`. Templates use
/// `{name}` variables, each standing for one or more characters other than
/// `/`; `{+name}` may span `/` as well.
endpoint resource_template(const std::string& context, json definition,
                           std::string handler, std::string module);

/// A prompt of `context`; `definition` has `name` (required), `title`,
/// `description`, `arguments` (`[{"name", "description", "required"}]`).
endpoint prompt(const std::string& context, json definition,
                std::string handler, std::string module);

// -- reading a call -----------------------------------------------------------

/// The call's `params` object; an empty object if it has none.
json params(const mcp_request& call);

/// The `arguments` object of a tool call or prompt; empty if absent.
json arguments(const mcp_request& call);

/// The `uri` of a `resources/read` call.
std::string uri(const mcp_request& call);

/// For a template call: the value of each variable of the template in the
/// URI, as a JSON object of strings.
json template_values(const mcp_request& call);

// -- answering ----------------------------------------------------------------

/// Any result object.
mcp_result result(const json& x);

/// A tool result with one text item; `is_error` marks a failed tool call,
/// which the client sees as a result, not as a JSON-RPC error.
mcp_result text_result(const std::string& text, bool is_error = false);

/// A tool result with `content` (an array of content items) and, if not
/// null, `structuredContent`.
mcp_result tool_result(json content, bool is_error = false,
                       json structured = nullptr);

/// A `resources/read` result with one text item.
mcp_result resource_text(const std::string& uri, const std::string& mime_type,
                         const std::string& text);

/// A JSON-RPC error; `data` is left out when null.
mcp_result error(int32_t code, const std::string& message,
                 const json& data = nullptr);

// -- talking to the client during a call --------------------------------------

/// Reports progress of `call`: `progress` grows with each report; `total` and
/// `message` are optional. Reaches the client only if it asked for progress.
void progress(const mcp_request& call, double progress,
              std::optional<double> total = std::nullopt,
              const std::string& message = {});

/// Sends a log message of `level` (`debug`, `info`, `notice`, `warning`,
/// `error`, `critical`, `alert`, `emergency`) to the client of `call`. The
/// client sees it if its log level lets it through.
void log(const mcp_request& call, const std::string& level, const json& data,
         const std::string& logger = {});

/// Sends a request to the client of `call` and returns the handle of the
/// answer, an `mcp_result` that holds the client's result or error:
///
///   mcp::ask(self, call, "sampling/createMessage", {...}, 60s)
///     .then([](mcp_result& r) { ... }, [](caf::error& e) { ... });
///
/// The client must support the method (it says so at initialization);
/// otherwise the answer is an error with code -32601.
template <class Self>
auto ask(Self* self, const mcp_request& call, const std::string& method,
         const json& params, std::chrono::milliseconds timeout) {
  return self->request(call.peer, timeout,
                       mcp_ask{call.call, method, params.dump()});
}

/// Parses the result text of an answer; a discarded (invalid) value on
/// bad text, or on text nested deeper than 512 levels.
json parse(const std::string& text);

/// Tells clients subscribed to `uri` in `context` that the resource changed.
/// `bus` is the module's bus (`module_context::bus`).
void updated(const caf::actor& bus, const std::string& context,
             const std::string& uri);

} // namespace sb::mcp
