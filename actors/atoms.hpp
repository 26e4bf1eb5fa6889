#pragma once

// Atoms that tag the messages between our actors. Each atom's text is unique
// within the node and at most 10 characters long.

#include "caf/atom.hpp"

namespace sb {

/// Registers endpoints with the registry.
using register_atom = caf::atom_constant<caf::atom("sb_reg")>;
/// Withdraws endpoints from the registry.
using withdraw_atom = caf::atom_constant<caf::atom("sb_wdraw")>;
/// Lists endpoints of the registry.
using list_atom = caf::atom_constant<caf::atom("sb_list")>;
/// Starts a module or protocol handler.
using start_atom = caf::atom_constant<caf::atom("sb_start")>;
/// Stops a protocol handler or the node.
using stop_atom = caf::atom_constant<caf::atom("sb_stop")>;
/// Asks for the node's status.
using status_atom = caf::atom_constant<caf::atom("sb_status")>;
/// Asks for one module's state.
using module_atom = caf::atom_constant<caf::atom("sb_module")>;
/// Subscribes to a topic of the bus.
using subscribe_atom = caf::atom_constant<caf::atom("sb_sub")>;
/// Unsubscribes from a topic of the bus.
using unsubscribe_atom = caf::atom_constant<caf::atom("sb_unsub")>;
/// Publishes an event on the bus.
using publish_atom = caf::atom_constant<caf::atom("sb_pub")>;
/// Internal timer tick of an actor.
using tick_atom = caf::atom_constant<caf::atom("sb_tick")>;
/// Restarts a module after its backoff.
using restart_atom = caf::atom_constant<caf::atom("sb_restart")>;
/// Asks a front node to let a node join. Its shape never changes, so that
/// nodes of every version can tell each other their wire version.
using join_atom = caf::atom_constant<caf::atom("sb_join")>;
/// Tells a bus about the bus of another node.
using peer_atom = caf::atom_constant<caf::atom("sb_peer")>;
/// An event that a bus passes on from the bus of another node.
using relay_atom = caf::atom_constant<caf::atom("sb_relay")>;
/// Asks for the nodes that joined this one.
using nodes_atom = caf::atom_constant<caf::atom("sb_nodes")>;
/// Makes an actor the node's auth service (sent to the registry), or asks
/// the registry for the one there is.
using auth_service_atom = caf::atom_constant<caf::atom("sb_authsvc")>;

} // namespace sb
