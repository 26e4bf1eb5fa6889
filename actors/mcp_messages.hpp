#pragma once

// Message types of the Model Context Protocol between the MCP handler, the
// registry and the owners of tools, resources and prompts. They cross the
// network like those of `messages.hpp` and are registered with them.

#include <cstdint>
#include <string>

#include "caf/actor.hpp"
#include "caf/meta/type_name.hpp"

#include "actors/auth_messages.hpp"

namespace sb {

namespace mcp {

// JSON-RPC error codes of MCP answers.
inline constexpr int32_t parse_error = -32700;
inline constexpr int32_t invalid_request = -32600;
inline constexpr int32_t method_not_found = -32601;
inline constexpr int32_t invalid_params = -32602;
inline constexpr int32_t internal_error = -32603;
/// The resource named in `resources/read` does not exist.
inline constexpr int32_t resource_not_found = -32002;

} // namespace mcp

// -- MCP ----------------------------------------------------------------------

/// A call of an MCP client on its way to the owner of a tool, resource,
/// resource template or prompt: an endpoint of protocol `mcp` whose method
/// is the kind (`TOOL`, `RESOURCE`, `TEMPLATE`, `PROMPT`) and whose pattern
/// is `<context>/<name>` (the name of a tool or prompt, the URI of a
/// resource, the URI template of a template).
struct mcp_request {
  /// Context that the client chose.
  std::string context;
  /// Kind of the entry: `TOOL`, `RESOURCE`, `TEMPLATE` or `PROMPT`.
  std::string kind;
  /// Name of the entry as registered (for templates: the URI template).
  std::string name;
  /// JSON-RPC method of the client: `tools/call`, `resources/read`,
  /// `prompts/get` or `completion/complete`.
  std::string method;
  /// The `params` object of the client's request as JSON text; the MCP
  /// handler has checked tool arguments against the input schema.
  std::string params;
  /// Session of the client; owners may keep per-session state under it.
  std::string session;
  /// The MCP handler that serves the client: it takes `mcp_notice` and
  /// `mcp_ask` for this call. Invalid when nobody can take them.
  caf::actor peer;
  /// Number of the call at `peer`.
  uint64_t call = 0;
  /// Time the owner has to answer in milliseconds; 0 for the registry's
  /// default.
  uint32_t timeout_ms = 0;
  /// Set by the registry: the `handler` of the matched endpoint.
  std::string handler;
  /// Whom the client's token speaks for, as the auth service found when the
  /// MCP handler asked (`mcp_access`); empty in a context that needs none.
  principal who;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_request& x) {
  return f(caf::meta::type_name("sb.mcp_request"), x.context, x.kind, x.name,
           x.method, x.params, x.session, x.peer, x.call, x.timeout_ms,
           x.handler, x.who);
}

/// The answer to an `mcp_request` or `mcp_ask`: a JSON-RPC result, or a
/// JSON-RPC error when `error_code` is not 0.
struct mcp_result {
  /// The `result` object as JSON text.
  std::string result;
  int32_t error_code = 0;
  std::string error_message;
  /// The error's `data` as JSON text; empty for none.
  std::string error_data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_result& x) {
  return f(caf::meta::type_name("sb.mcp_result"), x.result, x.error_code,
           x.error_message, x.error_data);
}

inline bool operator==(const mcp_result& x, const mcp_result& y) {
  return x.result == y.result && x.error_code == y.error_code &&
         x.error_message == y.error_message && x.error_data == y.error_data;
}

/// A notification that the owner of a call sends to the call's peer while
/// it works: `notifications/progress` (params `progress`, optional `total`
/// and `message`; the peer adds the client's progress token) or
/// `notifications/message` (params `level`, optional `logger`, `data`).
struct mcp_notice {
  uint64_t call = 0;
  std::string method;
  /// JSON object text.
  std::string params;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_notice& x) {
  return f(caf::meta::type_name("sb.mcp_notice"), x.call, x.method, x.params);
}

/// A request that the owner of a call sends through the call's peer to the
/// client (`sampling/createMessage`, `elicitation/create`, `roots/list`).
/// The peer answers with `mcp_result`: the client's result or error.
struct mcp_ask {
  uint64_t call = 0;
  std::string method;
  /// JSON object text.
  std::string params;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_ask& x) {
  return f(caf::meta::type_name("sb.mcp_ask"), x.call, x.method, x.params);
}

/// Event on topic `mcp`: the entries of `kind` in `context` changed.
struct mcp_changed {
  std::string context;
  std::string kind;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_changed& x) {
  return f(caf::meta::type_name("sb.mcp_changed"), x.context, x.kind);
}

/// Event on topic `mcp`, published by the owner of a resource: its content
/// changed; subscribed clients hear of it.
struct mcp_updated {
  std::string context;
  std::string uri;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_updated& x) {
  return f(caf::meta::type_name("sb.mcp_updated"), x.context, x.uri);
}

} // namespace sb
