#pragma once

// The git-tools module: read-only git on the repositories that its settings
// list, as MCP tools of context `git-tools`.
//
// | key                | default | meaning                                 |
// |--------------------|---------|-----------------------------------------|
// | `repositories`     | `[]`    | `[{"name": "app", "path": "/abs"}]`     |
// | `timeout_ms`       | 10000   | wall time of one git run (100..600000)  |
// | `max_output_bytes` | 1 MiB   | stdout and stderr kept (1 KiB..64 MiB)  |
// | `max_concurrent`   | 4       | git runs at once (1..64); 8 times as    |
// |                    |         | many wait, further calls are refused    |
//
// Tools, each taking `repository` (one of the names) first:
// `git_status` (path), `git_log` (max_count, rev, path), `git_diff` (from,
// to, staged, path, context_lines), `git_show` (rev, path, content),
// `git_branches` (all), `git_blame` (path, rev, start_line, end_line).
//
// Safety: git runs without a shell through the process runner, with a clean
// environment, no system or global config, hooks, fsmonitor, pager, external
// diff, textconv, signature checks and transports switched off, pathspecs
// taken literally, and no optional locks (status does not write the index).
// Paths are relative to the repository and must stay inside it, symlinks
// resolved; `.git` is off limits. Revisions match `[A-Za-z0-9_./~^@{}-]+`
// and may not begin with `-`. The repository's own `.git/config` is trusted:
// clean and smudge filters that it defines still run.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/factory.hpp"
#include "actors/messages.hpp"

namespace sb::modules::git_tools {

/// The MCP context of the tools.
inline constexpr const char* context = "git-tools";

struct repository {
  /// Name that clients use: 1 to 64 of `a-z`, `0-9`, `_` and `-`.
  std::string name;
  /// Absolute path of the working tree.
  std::string path;
};

struct git_tools_settings {
  std::vector<repository> repositories;
  uint32_t timeout_ms = 10000;
  uint64_t max_output_bytes = 1 << 20;
  size_t max_concurrent = 4;
  /// What a client needs to call the tools: by default a token with scope
  /// `mcp:git-tools`.
  auth_requirement auth = auth_requirement::required;
};

/// Reads the module's settings section; returns an error naming the key.
std::string parse_settings(const std::string& text, git_tools_settings& out);

/// Whether `rev` is a revision the tools pass to git: 1 to 256 characters of
/// `A-Z a-z 0-9 _ . / ~ ^ @ { } -`, not beginning with `-`.
bool valid_rev(const std::string& rev);

/// Factory entry of the module, named `git-tools`.
module_factory make_factory();

/// Spawns the module actor directly, for tests.
caf::actor spawn(caf::actor_system& sys, const module_context& ctx);

} // namespace sb::modules::git_tools
