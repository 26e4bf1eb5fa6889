#define CAF_SUITE bus
#include "tests/kit/module_fixture.hpp"

using namespace sb;

namespace {

struct listener_state {
  std::vector<uint64_t> seen;
};

/// Subscribes to `routes` and records every count it hears.
caf::behavior listener(caf::stateful_actor<listener_state>* self,
                       caf::actor bus) {
  self->send(bus, subscribe_atom::value, std::string{"routes"});
  return {
    [self](routes_changed& ev) { self->state.seen.push_back(ev.count); },
    [self](unsubscribe_atom, caf::actor bus) {
      self->send(bus, unsubscribe_atom::value, std::string{"routes"});
    },
  };
}

void publish(caf::actor bus, uint64_t n) {
  caf::anon_send(bus, publish_atom::value, std::string{"routes"},
                 caf::make_message(routes_changed{n}));
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(bus_tests, test::module_fixture)

CAF_TEST(every subscriber of a topic gets each event in order) {
  auto a = sys.spawn(listener, bus);
  auto b = sys.spawn(listener, bus);
  consume_messages();
  publish(bus, 1);
  publish(bus, 2);
  expect((publish_atom, std::string, caf::message), to(bus));
  expect((routes_changed), from(bus).to(a).with(_));
  expect((routes_changed), from(bus).to(b).with(_));
  consume_messages();
  auto& sa = deref<caf::stateful_actor<listener_state>>(a).state;
  auto& sb_ = deref<caf::stateful_actor<listener_state>>(b).state;
  CAF_CHECK_EQUAL(sa.seen, std::vector<uint64_t>({1, 2}));
  CAF_CHECK_EQUAL(sb_.seen, std::vector<uint64_t>({1, 2}));
  anon_send_exit(a, caf::exit_reason::kill);
  anon_send_exit(b, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST(events of other topics do not arrive) {
  auto a = sys.spawn(listener, bus);
  consume_messages();
  caf::anon_send(bus, publish_atom::value, std::string{"modules"},
                 caf::make_message(routes_changed{7}));
  consume_messages();
  CAF_CHECK(deref<caf::stateful_actor<listener_state>>(a).state.seen.empty());
  anon_send_exit(a, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST(an unsubscribed or dead subscriber gets nothing more) {
  auto a = sys.spawn(listener, bus);
  auto b = sys.spawn(listener, bus);
  consume_messages();
  caf::anon_send(a, unsubscribe_atom::value, bus);
  anon_send_exit(b, caf::exit_reason::kill);
  consume_messages();
  publish(bus, 3);
  expect((publish_atom, std::string, caf::message), to(bus));
  // No delivery to either: the bus has no one left on the topic.
  disallow((routes_changed), from(bus).to(a));
  CAF_CHECK(deref<caf::stateful_actor<listener_state>>(a).state.seen.empty());
  anon_send_exit(a, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST(a stray error or a peer of itself does not disturb the bus) {
  auto a = sys.spawn(listener, bus);
  consume_messages();
  // An error outside a request ends an actor by CAF's default; any actor,
  // on any node, can send one.
  caf::anon_send(bus, caf::make_error(caf::sec::unexpected_message));
  // Peering with itself would deliver every event twice.
  caf::anon_send(bus, peer_atom::value, bus);
  consume_messages();
  publish(bus, 4);
  consume_messages();
  CAF_CHECK_EQUAL(deref<caf::stateful_actor<listener_state>>(a).state.seen,
                  std::vector<uint64_t>({4}));
  anon_send_exit(a, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST_FIXTURE_SCOPE_END()
