#pragma once

// Message types that actors exchange. Every type here has an `inspect()`
// overload and is registered under the same name on every node (see
// `register_message_types`), so that it crosses the network unchanged. This
// header stays light: it pulls in no actor, no Beast and no JSON headers.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "actors/auth_messages.hpp"
#include "actors/errc.hpp"

namespace sb {

/// Version of the message types below. Nodes of another version refuse each
/// other.
constexpr uint32_t wire_version = 3;

/// A name and a value, used for headers, query and path parameters.
using field = std::pair<std::string, std::string>;

/// List of fields; lookups are linear, since the lists are short.
using field_list = std::vector<field>;

/// What an endpoint needs before a request may reach its owner.
enum class auth_requirement : uint8_t {
  /// Anyone may call the endpoint.
  none,
  /// A valid token is required; without an auth service the endpoint stays
  /// closed (fail closed).
  required,
};

const char* to_string(auth_requirement x) noexcept;

/// An endpoint as a module registers it with the registry.
struct endpoint {
  /// Protocol namespace, e.g. `http`. Patterns of different protocols never
  /// clash.
  std::string protocol = "http";
  /// Upper-case method, e.g. `GET`.
  std::string method;
  /// Path pattern: static segments, `:name` parameters and an optional
  /// trailing `*name` wildcard, e.g. `/api/users/:id`.
  std::string pattern;
  /// Chosen by the owner; copied into each dispatched request so that the
  /// owner knows which of its endpoints matched.
  std::string handler;
  /// Auth requirement of the endpoint.
  auth_requirement auth = auth_requirement::none;
  /// Scopes a token must carry (only with `auth_requirement::required`).
  std::vector<std::string> scopes;
  /// Name of the module that owns the endpoint.
  std::string module;
  /// Protocol-specific description as a JSON object text, e.g. the
  /// definition of an MCP tool with its input schema; empty for none.
  std::string detail;
  /// The owner answers `http_exchange` instead of `http_request` and may
  /// stream its response. Only an owner on the registry's own node can.
  bool streaming = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(caf::meta::type_name("sb.endpoint"), x.protocol, x.method, x.pattern,
           x.handler, x.auth, x.scopes, x.module, x.detail, x.streaming);
}

/// An HTTP endpoint of `module`, ready to register.
endpoint make_endpoint(std::string method, std::string pattern,
                       std::string handler, std::string module,
                       auth_requirement auth = auth_requirement::none);

inline bool operator==(const endpoint& x, const endpoint& y) {
  return x.protocol == y.protocol && x.method == y.method &&
         x.pattern == y.pattern && x.handler == y.handler && x.auth == y.auth &&
         x.scopes == y.scopes && x.module == y.module && x.detail == y.detail &&
         x.streaming == y.streaming;
}

/// Whether `x` and `y` name the same route: protocol, method and pattern.
/// A withdrawal names endpoints this way.
bool same_route(const endpoint& x, const endpoint& y) noexcept;

/// Sorts `xs` by protocol, pattern and method, the order of every listing.
void sort_for_listing(std::vector<endpoint>& xs);

/// An HTTP request on its way to the owner of an endpoint.
struct http_request {
  /// Upper-case method as received.
  std::string method;
  /// The request-target as received (path and query, still encoded).
  std::string target;
  /// Path segments, split at `/` first and percent-decoded after.
  std::vector<std::string> path;
  /// Query parameters, decoded, in order of appearance.
  field_list query;
  /// Header fields; names in lower case.
  field_list headers;
  /// The request body.
  std::string body;
  /// Value of the `X-Request-Id` response header.
  std::string request_id;
  /// Address and port of the peer.
  std::string remote;
  /// Set by the registry: the `handler` of the matched endpoint.
  std::string handler;
  /// Set by the registry: the matched path parameters, by name.
  field_list params;
  /// Set by the registry for an endpoint that requires a token: whom the
  /// auth service found the token to speak for.
  principal who;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("sb.http_request"), x.method, x.target, x.path,
           x.query, x.headers, x.body, x.request_id, x.remote, x.handler,
           x.params, x.who);
}

/// The answer of an endpoint owner.
struct http_response {
  uint16_t status = 200;
  /// Value of the `Content-Type` header; empty for none.
  std::string content_type = "application/json";
  /// Further header fields.
  field_list headers;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_response& x) {
  return f(caf::meta::type_name("sb.http_response"), x.status, x.content_type,
           x.headers, x.body);
}

inline bool operator==(const http_response& x, const http_response& y) {
  return x.status == y.status && x.content_type == y.content_type &&
         x.headers == y.headers && x.body == y.body;
}

/// Lifecycle state of a module.
enum class module_state : uint8_t {
  starting,
  running,
  restarting,
  failed,
  stopped,
};

const char* to_string(module_state x) noexcept;

/// What the node knows about one module.
struct module_info {
  std::string name;
  module_state state = module_state::starting;
  uint32_t restarts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, module_info& x) {
  return f(caf::meta::type_name("sb.module_info"), x.name, x.state, x.restarts);
}

/// Lifecycle state of the node.
enum class node_state : uint8_t {
  starting,
  running,
  stopping,
};

const char* to_string(node_state x) noexcept;

/// Snapshot of the node for status endpoints.
struct node_status {
  node_state state = node_state::starting;
  /// Milliseconds since the node started.
  int64_t uptime_ms = 0;
  std::vector<module_info> modules;
  /// Addresses the node serves on, comma-separated; empty until it serves.
  std::string address;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("sb.node_status"), x.state, x.uptime_ms,
           x.modules, x.address);
}

/// Event published on topic `routes` whenever endpoints come or go.
struct routes_changed {
  uint64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routes_changed& x) {
  return f(caf::meta::type_name("sb.routes_changed"), x.count);
}

/// Event published on topic `modules` whenever a module changes state.
struct module_changed {
  module_info info;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, module_changed& x) {
  return f(caf::meta::type_name("sb.module_changed"), x.info);
}

// -- lookups on field lists ---------------------------------------------------

/// Returns the first value named `name`, or `nullptr`.
const std::string* find_field(const field_list& xs,
                              const std::string& name) noexcept;

} // namespace sb
