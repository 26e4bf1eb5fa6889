#include "actors/bus.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"

namespace sb {

namespace {

struct bus_state {
  static inline const char* name = "sb.bus";

  std::unordered_map<std::string, std::vector<caf::strong_actor_ptr>> topics;
  /// Buses of other nodes: each event published here reaches them, and
  /// events they pass on reach our subscribers.
  std::vector<caf::actor> peers;
};

void deliver(caf::stateful_actor<bus_state>* self, const std::string& topic,
             const caf::message& event) {
  auto i = self->state.topics.find(topic);
  if (i == self->state.topics.end())
    return;
  for (auto& sub : i->second)
    sub->enqueue(self->ctrl(), caf::make_message_id(), event, self->context());
}

/// Passes `event` on to every peer but `from`. Nodes join as a tree (each
/// node joins one front node), so an event never comes back.
void relay(caf::stateful_actor<bus_state>* self, const std::string& topic,
           const caf::message& event, const caf::actor_addr& from) {
  for (auto& peer : self->state.peers)
    if (peer.address() != from)
      self->send(peer, relay_atom::value, topic, event);
}

caf::behavior bus_actor(caf::stateful_actor<bus_state>* self) {
  drop_stray_errors(self, "bus");
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& peers = self->state.peers;
    peers.erase(std::remove_if(peers.begin(), peers.end(),
                               [&](const caf::actor& x) {
                                 return x.address() == msg.source;
                               }),
                peers.end());
    for (auto& kvp : self->state.topics) {
      auto& subs = kvp.second;
      subs.erase(std::remove_if(subs.begin(), subs.end(),
                                [&](const caf::strong_actor_ptr& x) {
                                  return x->address() == msg.source;
                                }),
                 subs.end());
    }
  });
  return {
    [self](subscribe_atom, std::string& topic) {
      auto sender = self->current_sender();
      if (!sender)
        return;
      auto& subs = self->state.topics[topic];
      if (std::find(subs.begin(), subs.end(), sender) == subs.end()) {
        subs.push_back(sender);
        self->monitor(sender);
      }
    },
    [self](unsubscribe_atom, const std::string& topic) {
      auto i = self->state.topics.find(topic);
      if (i == self->state.topics.end())
        return;
      auto& subs = i->second;
      subs.erase(std::remove(subs.begin(), subs.end(), self->current_sender()),
                 subs.end());
    },
    [self](publish_atom, const std::string& topic, caf::message& event) {
      deliver(self, topic, event);
      relay(self, topic, event, caf::actor_addr{});
    },
    [self](relay_atom, const std::string& topic, caf::message& event) {
      deliver(self, topic, event);
      auto sender = self->current_sender();
      relay(self, topic, event, sender ? sender->address() : caf::actor_addr{});
    },
    [self](peer_atom, caf::actor& other) {
      auto& peers = self->state.peers;
      // A bus that peers with itself would deliver every event twice.
      if (!other || other == caf::actor_cast<caf::actor>(self) ||
          std::find(peers.begin(), peers.end(), other) != peers.end())
        return;
      self->monitor(other);
      peers.push_back(std::move(other));
    },
  };
}

} // namespace

caf::actor spawn_bus(caf::actor_system& sys) {
  return sys.spawn(bus_actor);
}

} // namespace sb
