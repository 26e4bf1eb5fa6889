#pragma once

// The supervisor actor: the node's core. It spawns the modules and protocol
// handlers that the config names (through the factory table, knowing none of
// them by name), restarts modules that crash, and reports the node's status.
//
// Messages it handles:
// - `(start_atom)` -> `(string addresses, uint64_t routes)`: starts every
//   module, then every protocol handler; answers once all serve.
// - `(stop_atom)` -> `ok_atom`: drains the protocol handlers, then stops the
//   modules.
// - `(status_atom)` -> `node_status`.
// - `(module_atom, string name)` -> `module_info`, or `errc::unknown_module`.
// - `(nodes_atom)` -> `(string role, vector<string> nodes)`: `single` on a
//   node alone; `front` with the names of the nodes joined to it; `joined`
//   with the front node's name, or `joining` while it is not reached.

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "actors/config.hpp"
#include "actors/factory.hpp"

namespace sb {

/// Spawns the supervisor. `table` must outlive it. `cluster` is the door of
/// a front node or the link of a joining node, else invalid.
caf::actor spawn_supervisor(caf::actor_system& sys, const node_config& cfg,
                            const factory_table& table, caf::actor registry,
                            caf::actor bus, caf::actor cluster = {});

} // namespace sb
