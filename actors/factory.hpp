#pragma once

// The factory table: how modules and protocol handlers make themselves known
// to the core. The core spawns what the config names by looking it up here
// and knows none of them otherwise.
//
// A module actor handles `(start_atom)` and answers `ok_atom` once its
// endpoints are registered with the registry. A protocol handler actor
// handles `(start_atom)`, answering the address it serves on as a string,
// and `(stop_atom)`, answering `ok_atom` once it has drained.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

namespace sb {

/// What a module gets when the node spawns it.
struct module_context {
  /// The module's name, as in the config's `modules` list.
  std::string name;
  caf::actor registry;
  caf::actor bus;
  /// The node's supervisor: answers `status_atom` and `module_atom`.
  caf::actor node;
  /// The module's section of `settings` as a JSON object text.
  std::string settings = "{}";
  /// The node's external URL (`node_config::effective_public_url`); empty
  /// while unknown, until the node serves on a port it picked: then the
  /// node's status (`status_atom`) has the address.
  std::string public_url;
};

/// What a protocol handler gets when the node spawns it.
struct protocol_context {
  std::string name;
  caf::actor registry;
  caf::actor bus;
  caf::actor node;
  /// The protocol's section of `settings` as a JSON object text.
  std::string settings = "{}";
  std::string bind;
  uint16_t port = 0;
  /// I/O threads to run.
  size_t io_threads = 1;
  /// The node joins a front node: `registry` stands in for the front's
  /// registry, and requests on this node's port go to the front's owners.
  bool joining = false;
};

/// Checks a settings section; returns an empty string when it is valid,
/// else a message that starts with the offending key.
using settings_check = std::function<std::string(const std::string& json)>;

struct module_factory {
  std::string name;
  /// One line for `--help`.
  std::string summary;
  settings_check check;
  std::function<caf::actor(caf::actor_system&, const module_context&)> spawn;
};

struct protocol_factory {
  std::string name;
  std::string summary;
  settings_check check;
  std::function<caf::actor(caf::actor_system&, const protocol_context&)> spawn;
};

/// Every module and protocol handler the binary offers.
struct factory_table {
  std::vector<module_factory> modules;
  std::vector<protocol_factory> protocols;

  const module_factory* find_module(const std::string& name) const {
    for (auto& x : modules)
      if (x.name == name)
        return &x;
    return nullptr;
  }

  const protocol_factory* find_protocol(const std::string& name) const {
    for (auto& x : protocols)
      if (x.name == name)
        return &x;
    return nullptr;
  }
};

} // namespace sb
