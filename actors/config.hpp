#pragma once

// Node configuration: built-in defaults, overridden by the config file,
// overridden by the command line. Every key is documented in
// docs/configuration.md.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/factory.hpp"

namespace sb {

struct node_config {
  /// Config file the values came from; empty for built-in defaults only.
  std::string source;
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  /// Scheduler threads of the actor system; 0 picks one per two cores.
  size_t actor_threads = 0;
  /// I/O threads of the protocol handlers; 0 picks one per core.
  size_t io_threads = 0;
  /// Time an endpoint owner has to answer a request.
  uint32_t request_timeout_ms = 5000;
  /// Requests that may wait for owners at once.
  size_t max_pending_requests = 20000;
  std::string log_level = "info";
  std::vector<std::string> modules{"system", "users"};
  std::vector<std::string> protocols{"http"};
  /// Sections of `settings` by module or protocol name, as JSON text.
  std::map<std::string, std::string> settings;

  /// Settings section of `name`, or `{}`.
  std::string settings_of(const std::string& name) const;

  /// `actor_threads` with 0 resolved for this machine.
  size_t effective_actor_threads() const;

  /// `io_threads` with 0 resolved for this machine.
  size_t effective_io_threads() const;
};

/// What the command line asks for.
struct command_line {
  enum action_t { run, help, version, fail } action = run;
  /// With `fail`: what is wrong, naming the option or key.
  std::string error;
  node_config config;
};

/// Parses `argv`, reads the config file and checks every key, including
/// each module's and protocol's settings through `table`. Accepts both
/// `--opt VALUE` and `--opt=VALUE`.
command_line parse_command_line(int argc, const char* const* argv,
                                const factory_table& table);

/// Reads config JSON `text` over `cfg`; returns an error naming the key, or
/// an empty string. `origin` names the text in messages.
std::string apply_config_text(const std::string& text,
                              const std::string& origin, node_config& cfg);

/// Checks that every module and protocol exists in `table` and that their
/// settings are valid; returns an error naming the key, or empty.
std::string check_config(const node_config& cfg, const factory_table& table);

/// The text of `--help`.
std::string usage(const factory_table& table);

/// Version string of the binary.
const char* version_string() noexcept;

} // namespace sb
