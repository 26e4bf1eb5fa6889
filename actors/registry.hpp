#pragma once

// The registry actor holds every endpoint that modules register at run time
// and dispatches each request to the actor that owns the matching endpoint.
//
// Messages it handles:
// - `(register_atom, actor owner, vector<endpoint>)` -> `ok_atom`: adds all
//   endpoints or none; `errc::conflict` names both owners of a clash.
// - `(withdraw_atom, actor owner, vector<endpoint>)` -> `ok_atom`: removes
//   the owner's endpoints with the same protocol, method and pattern;
//   `(withdraw_atom, actor owner)` removes all of them.
// - `(list_atom)` -> `vector<endpoint>`: every endpoint, sorted by pattern.
// - `(status_atom)` -> `(uint64_t endpoints, uint64_t owners, uint64_t
//   pending)`: what the registry holds now.
// - `http_request` -> `http_response`: dispatches like `http_dispatch`.
// - `http_dispatch`: dispatches and answers through the reply sink; the
//   path that the HTTP protocol handler uses.
// - `(list_atom, string protocol, string prefix)` -> `vector<endpoint>`:
//   the endpoints of `protocol` whose pattern starts with `prefix`.
// - `mcp_request` -> `mcp_result`: an MCP call, dispatched to the owner of
//   the entry with protocol `mcp`, method `kind` and pattern
//   `<context>/<name>`; `errc::no_route` when there is none.
//
// HTTP endpoints are matched by path (see `route_trie.hpp`); endpoints of
// every other protocol are looked up by their exact pattern. Owners of
// `streaming` endpoints get `http_dispatch` with the client's reply sink and
// answer through it, so they may stream; they must live on this node.
//
// Changes of MCP entries are published on topic `mcp` as `mcp_changed`, one
// event per context and kind.
//
// The registry monitors owners: when one goes down, its endpoints go with it
// and every request waiting on it fails with `errc::owner_down` at once.
// Each request has a deadline; the registry answers `errc::timeout` when it
// passes, using a single timer for all requests rather than one each.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "caf/actor.hpp"
#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/fwd.hpp"

#include "actors/dispatch.hpp"
#include "actors/messages.hpp"

namespace sb {

/// A request from a protocol handler in the same process, with the sink that
/// receives the outcome. Never crosses the network.
struct http_dispatch {
  http_request request;
  reply_sink_ptr sink;
};

/// The outcome of a streamed response that the registry collected for an
/// actor that asked with `http_request`; sent by the collecting sink to the
/// registry. Never crosses the network.
struct collected {
  uint64_t seq = 0;
  dispatch_result result;
};

/// Settings of the registry.
struct registry_options {
  /// Time an owner has to answer a request.
  std::chrono::milliseconds request_timeout{5000};
  /// Requests that may wait at once; further ones get `errc::overloaded`.
  size_t max_pending = 20000;
  /// Endpoints that may exist at once.
  size_t max_endpoints = 100000;
};

/// Spawns a registry. `bus` (may be invalid) receives `routes_changed`
/// events on topic `routes`.
caf::actor spawn_registry(caf::actor_system& sys, registry_options opts,
                          caf::actor bus);

} // namespace sb

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::http_dispatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::collected)
