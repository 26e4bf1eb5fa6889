#pragma once

// The terminal module: runs commands from an allow-list, as the MCP tool
// `run` of context `terminal`. It is off unless its settings enable it;
// while off it registers no tool and logs a warning at start.
//
// | key                 | default  | meaning                                |
// |---------------------|----------|----------------------------------------|
// | `enabled`           | false    | register the tool at all               |
// | `commands`          | `{}`     | name to absolute program path, e.g.    |
// |                     |          | `{"ls": "/bin/ls"}`; needed if enabled |
// | `working_directory` | none     | absolute; where commands run; `cwd`    |
// |                     |          | arguments stay inside; needed if       |
// |                     |          | enabled                                |
// | `timeout_ms`        | 10000    | wall time of one run (100..600000)     |
// | `max_output_bytes`  | 256 KiB  | stdout and stderr kept (1 KiB..64 MiB) |
// | `max_concurrent`    | 2        | runs at once (1..64); 8 times as many  |
// |                     |          | wait, further calls are refused        |
//
// `run` takes `command` (a name from `commands`), `args` (up to 64 strings
// of up to 4096 bytes, passed as they are) and `cwd` (a directory relative
// to the working directory). There is no shell: `;`, `|`, `$(...)` and
// globs mean nothing. The program gets a clean environment (`PATH`,
// `LANG`, `HOME=/nonexistent`), stdin from /dev/null, a process group of its
// own that dies with it, and the limits above. Arguments are not inspected:
// allow only programs that are harmless with any argument.

#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/factory.hpp"
#include "actors/messages.hpp"

namespace sb::modules::terminal {

/// The MCP context of the tool.
inline constexpr const char* context = "terminal";

struct terminal_settings {
  bool enabled = false;
  /// Allowed commands: name and absolute program path, sorted by name.
  field_list commands;
  std::string working_directory;
  uint32_t timeout_ms = 10000;
  uint64_t max_output_bytes = 256 * 1024;
  size_t max_concurrent = 2;
  /// What a client needs to call the tool: by default a token with scope
  /// `mcp:terminal`.
  auth_requirement auth = auth_requirement::required;
};

/// Reads the module's settings section; returns an error naming the key.
std::string parse_settings(const std::string& text, terminal_settings& out);

/// Factory entry of the module, named `terminal`.
module_factory make_factory();

/// Spawns the module actor directly, for tests.
caf::actor spawn(caf::actor_system& sys, const module_context& ctx);

} // namespace sb::modules::terminal
