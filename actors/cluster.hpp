#pragma once

// Nodes that join nodes, over CAF's network layer (the io middleman, BASP).
//
// A front node publishes its door actor on its node port. A joining node runs
// a link actor that connects to the door, shakes hands, and then stands in
// for the registry on the joining node: its modules register through the
// link, as owners, with the front node's registry, which dispatches requests
// to them directly across the network.
//
// The handshake:
//   `(join_atom, uint32_t wire_version, string name, actor bus)`
//     -> `(uint32_t wire_version, string name, actor registry, actor bus)`
// A door of another wire version answers `errc::version_mismatch`, and both
// sides log why. The shape of this message never changes.
//
// Door messages: the handshake, and `(nodes_atom)` -> `vector<string>`, the
// names of the nodes joined now.
//
// Link messages: those of the registry (see registry.hpp), answered by the
// front node's registry, plus `(nodes_atom)` -> `vector<string>`, the front
// node's name while joined, else nothing. The link remembers every
// registration it passed on; when the front node is lost it reconnects with
// backoff and registers them all again, so a restarted front node gets its
// remote modules back.

#include <chrono>
#include <cstdint>
#include <string>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "actors/messages.hpp"

namespace sb {

struct door_options {
  /// Name of this node, as joining nodes log it.
  std::string name;
  /// Wire version this node speaks.
  uint32_t version = wire_version;
};

/// Spawns the door of a front node. Joining nodes get `registry` and `bus`.
caf::actor spawn_door(caf::actor_system& sys, door_options opts,
                      caf::actor registry, caf::actor bus);

struct link_options {
  /// Name of this node, as the front node logs it.
  std::string name;
  /// Where the front node publishes its door.
  std::string host;
  uint16_t port = 0;
  /// Wire version this node speaks.
  uint32_t version = wire_version;
  /// Time to connect and shake hands, and for the front node's registry to
  /// answer a registration.
  std::chrono::milliseconds handshake_timeout{5000};
  /// Backoff between attempts to reach the front node: doubles from `min`
  /// up to `max`.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  /// Time a request from a protocol handler on this node may take.
  std::chrono::milliseconds request_timeout{5000};
};

/// Spawns the link of a joining node. `connector` is a CAF middleman actor
/// (plain or TLS) that answers `(connect_atom, string host, uint16_t port)`;
/// `bus` is this node's bus, joined to the front node's.
caf::actor spawn_link(caf::actor_system& sys, link_options opts, caf::actor bus,
                      caf::actor connector);

} // namespace sb
