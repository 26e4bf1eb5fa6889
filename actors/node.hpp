#pragma once

// The node: owns the actor system and the core actors (bus, registry,
// supervisor) and starts whatever the config names through the factory
// table. `tools/switchboard` is a thin `main` around this class; the
// integration tests start it in-process.

#include <cstdint>
#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "actors/config.hpp"
#include "actors/factory.hpp"

namespace sb {

/// Registers every message type of the node with `cfg`, under the same
/// names on every node, plus our error category.
void register_message_types(caf::actor_system_config& cfg);

class node {
public:
  node(node_config cfg, factory_table table);

  /// Stops the node if it runs.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts the actor system, the modules and the protocol handlers and
  /// blocks until all serve. Returns an empty string on success, else what
  /// failed.
  std::string start();

  /// Stops accepting requests, drains what is in flight, stops every actor
  /// and waits for them. Safe to call more than once.
  void stop();

  /// The addresses the protocol handlers serve on, comma-separated.
  const std::string& address() const noexcept;

  /// Where other nodes join this one (with `publish`), or the node this one
  /// joins (with `join`); else empty.
  const std::string& cluster_address() const noexcept;

  /// Number of endpoints registered when the node became ready.
  uint64_t routes() const noexcept;

  const node_config& config() const noexcept;

  caf::actor_system& system();

  /// The registry, or on a node that joins another, the link that stands in
  /// for the front node's registry.
  caf::actor registry() const;

  caf::actor bus() const;

  caf::actor supervisor() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sb
