#pragma once

// The MCP context `system` of the system module: tools, resources and a
// prompt about the node itself.

#include <string>
#include <vector>

#include "caf/event_based_actor.hpp"

#include "actors/factory.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/messages.hpp"

namespace sb::modules::system {

/// The MCP entries of the module, in context `system`.
std::vector<endpoint> mcp_entries(const std::string& module);

/// Answers one MCP call through `rp`.
void answer_mcp(caf::event_based_actor* self, const module_context& ctx,
                const mcp_request& call, caf::response_promise rp);

} // namespace sb::modules::system
