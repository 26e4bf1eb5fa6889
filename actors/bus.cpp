#include "actors/bus.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"

namespace sb {

namespace {

struct bus_state {
  static inline const char* name = "sb.bus";

  std::unordered_map<std::string, std::vector<caf::strong_actor_ptr>> topics;
};

caf::behavior bus_actor(caf::stateful_actor<bus_state>* self) {
  self->set_down_handler([self](caf::down_msg& msg) {
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
      auto i = self->state.topics.find(topic);
      if (i == self->state.topics.end())
        return;
      for (auto& sub : i->second)
        sub->enqueue(self->ctrl(), caf::make_message_id(), event,
                     self->context());
    },
  };
}

} // namespace

caf::actor spawn_bus(caf::actor_system& sys) {
  return sys.spawn(bus_actor);
}

} // namespace sb
