#pragma once

// The bus actor: publish/subscribe by topic. Request/response needs no
// broker: actors send requests to each other directly, each with a timeout.
//
// Messages it handles:
// - `(subscribe_atom, string topic)`: the sender receives every message
//   published on `topic` until it unsubscribes or goes down.
// - `(unsubscribe_atom, string topic)`.
// - `(publish_atom, string topic, message event)`: sends `event` to every
//   subscriber of `topic`, here and on every node joined to this one.
// - `(peer_atom, actor bus)`: links the bus of another node; events flow
//   both ways until either goes down. The cluster actors send this.
// - `(relay_atom, string topic, message event)`: an event from a peer bus.
//
// Topics in use: `routes` (`routes_changed`), `modules` (`module_changed`).

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

namespace sb {

/// Spawns a bus.
caf::actor spawn_bus(caf::actor_system& sys);

} // namespace sb
