#pragma once

// The conformance module: the fixtures that the server scenarios of the MCP
// conformance suite (`@modelcontextprotocol/conformance` 0.1.16) call, in
// the MCP context `conformance`. Off unless the config's `modules` names it.
// docs/conformance-notes.md tells what each scenario sends and checks.
//
// Tools (no arguments unless named):
// - `test_simple_text`, `test_image_content`, `test_audio_content`,
//   `test_embedded_resource`, `test_multiple_content_types`: fixed content.
// - `test_error_handling`: a tool result with `isError`.
// - `test_tool_with_logging`: three `info` log messages 50 ms apart.
// - `test_tool_with_progress`: progress 0, 50 and 100 of 100, 50 ms apart.
// - `test_sampling(prompt)`: asks the client for `sampling/createMessage`.
// - `test_elicitation(message)`, `test_elicitation_sep1034_defaults`,
//   `test_elicitation_sep1330_enums`: ask the client for
//   `elicitation/create`.
// - `json_schema_2020_12_tool`: an input schema with `$schema`, `$defs` and
//   `additionalProperties`.
// - `test_reconnection`: answers after 200 ms, so that an MCP handler can
//   close its stream while the call runs.
// - `test_update_watched_resource`: changes `test://watched-resource` and
//   tells its subscribers (ours, not the suite's).
//
// Resources `test://static-text`, `test://static-binary`,
// `test://watched-resource`; the template `test://template/{id}/data`.
//
// Prompts `test_simple_prompt`, `test_prompt_with_arguments(arg1, arg2)`,
// `test_prompt_with_embedded_resource(resourceUri)`,
// `test_prompt_with_image`. `completion/complete` works on the arguments of
// the prompts and on the `id` of the template.

#include <string>
#include <vector>

#include "actors/factory.hpp"
#include "actors/messages.hpp"

namespace sb::modules::conformance {

/// The MCP context that holds the fixtures.
inline constexpr const char* context_name = "conformance";

/// Every tool, resource, resource template and prompt of the module, owned
/// by `module`: what the module registers when it starts.
std::vector<endpoint> entries(const std::string& module);

/// Factory entry of the module, named `conformance`.
module_factory make_factory();

} // namespace sb::modules::conformance
