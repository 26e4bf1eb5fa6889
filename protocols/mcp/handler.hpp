#pragma once

// The MCP protocol handler actor: Model Context Protocol over Streamable
// HTTP on the node's HTTP port. It registers `/mcp` and `/mcp/:context` with
// the registry as streaming endpoints, keeps the sessions, speaks JSON-RPC,
// and passes every call of a tool, resource or prompt through the registry
// to the actor that owns it (`mcp_request`). Owners talk back during a call
// with `mcp_notice` (progress, log messages) and `mcp_ask` (requests to the
// client); changes of entries arrive as `mcp_changed` on the bus.

#include "actors/factory.hpp"

namespace sb::mcp {

/// Factory entry of the MCP protocol handler, named `mcp`.
protocol_factory make_factory();

} // namespace sb::mcp
