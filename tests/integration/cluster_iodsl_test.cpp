// Two nodes joined by the cluster actors (door and link), over CAF's BASP on
// the simulated network of caf/test/io_dsl.hpp: deterministic and
// single-threaded, no sockets, no sleeps. earth is the front node: it runs the
// registry, a bus and the door, published on port 8080. mars joins it: its
// link connects through mars' own middleman actor, exactly as a node does,
// since the test multiplexer hands out the connections that the test
// prepared (prepare_mars_connection) and refuses every other one with
// cannot_connect_to_node, as a closed port would.
//
// Never use io_dsl's exec_all() / run() while a timer that matters is
// pending: in CAF 0.17.6 exec_all() can declare the network idle while bytes
// sit in a node's input buffer, and then fires *every* pending timer. Here
// that would be the registry's deadlines and the link's handshake timeouts
// and reconnect ticks. The fixture's exhaust() runs both nodes without ever
// firing a timer; tests move a clock explicitly when they mean to.

#define CAF_SUITE cluster_iodsl

// Debian's dsl.hpp uses FAIL in its request<T>() helper without defining it.
#ifndef FAIL
#define FAIL CAF_FAIL
#endif

#include "caf/test/io_dsl.hpp"

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/cluster.hpp"
#include "actors/dispatch.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "actors/node.hpp"
#include "actors/registry.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

// -- configuration ------------------------------------------------------------

/// Both nodes load the middleman and register every message type of a node.
struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    register_message_types(*this);
  }
};

// -- actors of the test -------------------------------------------------------

struct module_state {
  std::vector<caf::response_promise> held;
};

/// A module on mars: `GET /remote/:id` echoes the id, `GET /remote-hold` is
/// never answered (the promise is held until the module dies).
caf::behavior remote_module(caf::stateful_actor<module_state>* self,
                            module_context ctx) {
  return {
    [self, ctx](start_atom) {
      return register_endpoints(
        self, ctx,
        {make_endpoint("GET", "/remote/:id", "echo", ctx.name),
         make_endpoint("GET", "/remote-hold", "hold", ctx.name)});
    },
    [self](http_request& req) -> caf::result<http_response> {
      if (req.handler == "hold") {
        self->state.held.push_back(self->make_response_promise());
        return caf::delegated<http_response>{};
      }
      http_response res;
      res.body = "echo:" + *find_field(req.params, "id") + ":" + req.request_id;
      return res;
    },
  };
}

/// An owner that answers every request with the handler that matched.
caf::behavior handler_owner(caf::event_based_actor*) {
  return {
    [](http_request& req) {
      http_response res;
      res.body = req.handler;
      return res;
    },
  };
}

/// A door that accepts the handshake and never answers it.
caf::behavior silent_door(caf::stateful_actor<module_state>* self) {
  return {
    [self](join_atom, uint32_t, std::string&, caf::actor&) {
      self->state.held.push_back(self->make_response_promise());
    },
  };
}

/// A reply sink of a protocol handler on mars.
struct test_sink : reply_sink {
  std::optional<dispatch_result> result;

  void deliver(dispatch_result x) override { result = std::move(x); }
};

// -- helpers ------------------------------------------------------------------

http_request make_request(std::vector<std::string> path) {
  http_request req;
  req.method = "GET";
  req.path = std::move(path);
  req.request_id = "rid-1";
  return req;
}

/// Outcome of a request: the owner's body, or our error code with its detail.
struct outcome {
  errc code = errc::internal;
  std::string detail;
  std::string body;
};

using planet_fixture = test_coordinator_fixture<config>;

constexpr uint16_t door_port = 8080;

/// earth: registry, bus and door, published on port 8080. mars: a bus. The
/// link on mars is spawned by each test, since tests differ in its options.
struct fixture : point_to_point_fixture<planet_fixture> {
  /// The acceptor of earth's door: every connection that mars makes to port
  /// 8080, the first and each reconnection, must arrive there.
  caf::io::accept_handle door_acceptor;
  /// earth's and mars' ends of the current connection.
  caf::io::connection_handle earth_conn;
  caf::io::connection_handle mars_conn;
  caf::actor earth_bus;
  caf::actor registry;
  caf::actor door;
  caf::actor mars_bus;
  caf::actor link;
  std::vector<caf::actor> to_kill;

  fixture() {
    set_log_level("warn");
    door_acceptor = next_accept_handle();
    prepare_mars_connection();
    earth_bus = spawn_bus(earth.sys);
    registry_options opts;
    opts.request_timeout = 10s;
    registry = spawn_registry(earth.sys, opts, earth_bus);
    door = spawn_door(earth.sys, door_options{"earth", wire_version}, registry,
                      earth_bus);
    CAF_REQUIRE_EQUAL(earth.publish(door, door_port), door_port);
    mars_bus = spawn_bus(mars.sys);
    exhaust();
  }

  ~fixture() {
    // A live link retries for ever, each retry a timer that the destructors
    // of the base fixtures would fire; held promises keep actors alive.
    for (auto& x : to_kill)
      caf::anon_send_exit(x, caf::exit_reason::kill);
    for (auto& x : {link, door, registry, earth_bus, mars_bus})
      caf::anon_send_exit(x, caf::exit_reason::kill);
    exhaust();
  }

  // -- driving the two nodes --------------------------------------------------

  /// One step of `planet`. Pending runnables (BASP brokers woken by proxies)
  /// run *before* read_data(), which would run them itself and then report
  /// no progress, hiding the bytes they wrote for the other node.
  static bool step(planet_type& planet) {
    return planet.sched.try_run_once() || planet.mpx.try_exec_runnable() ||
           planet.mpx.read_data() || planet.mpx.try_accept_connection();
  }

  /// Runs both nodes until neither can move. Fires no timer and moves no
  /// clock.
  void exhaust() {
    while (step(earth) || step(mars))
      ; // repeat
  }

  /// Whether `dest` on `planet` has a message waiting (a timer that fired,
  /// say); puts it first in line for expect_on() if so.
  static bool has_message(planet_type& planet, const caf::actor& dest) {
    return planet.sched.prioritize(dest) &&
           caf::actor_cast<caf::abstract_actor*>(dest)
               ->peek_at_next_mailbox_element() != nullptr;
  }

  /// Runs both nodes one step at a time until `dest` on `planet` has a
  /// message waiting.
  void run_until_message_for(planet_type& planet, const caf::actor& dest) {
    while (!has_message(planet, dest))
      if (!step(earth) && !step(mars))
        CAF_FAIL("no message arrives for " << to_string(dest));
  }

  /// The first element of the next message of `dest`, which must be a `T`;
  /// requires run_until_message_for() first.
  template <class T>
  T peek(const caf::actor& dest) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(dest)
                 ->peek_at_next_mailbox_element();
    CAF_REQUIRE(ptr != nullptr);
    CAF_REQUIRE(ptr->content().match_element<T>(0));
    return ptr->content().get_as<T>(0);
  }

  /// Offers earth's door a new connection from mars: the next connect of
  /// mars to earth:8080 succeeds.
  void prepare_mars_connection() {
    std::tie(earth_conn, mars_conn) =
      prepare_connection(earth, mars, "earth", door_port, door_acceptor);
  }

  /// Loses the connection as the socket layer reports it: a read failure on
  /// each end makes the scribe detach and its BASP broker purge the peer
  /// node, killing every proxy of it (remote_link_unreachable).
  void disconnect() {
    using caf::io::network::operation;
    earth.mpx.impl_ptr(earth_conn)->io_failure(&earth.mpx, operation::read);
    mars.mpx.impl_ptr(mars_conn)->io_failure(&mars.mpx, operation::read);
  }

  // -- the link ---------------------------------------------------------------

  static link_options options() {
    link_options opts;
    opts.name = "mars";
    opts.host = "earth";
    opts.port = door_port;
    opts.version = wire_version;
    opts.handshake_timeout = 5s;
    opts.reconnect_min = 100ms;
    opts.reconnect_max = 1s;
    opts.request_timeout = 5s;
    return opts;
  }

  /// mars' middleman actor, which the link asks to connect.
  caf::actor connector() {
    return caf::actor_cast<caf::actor>(mars.mm.actor_handle());
  }

  /// Spawns the link on mars; it starts to connect at once.
  void start_link(link_options opts = options()) {
    link = spawn_link(mars.sys, std::move(opts), mars_bus, connector());
  }

  /// Spawns the link and runs both nodes until the handshake is done.
  void join() {
    start_link();
    exhaust();
    CAF_REQUIRE_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
  }

  // -- requests, each answered before the helper returns ----------------------

  /// Sends `xs...` from `planet`'s test actor to `dest`, runs both nodes and
  /// requires that the answer is there: a blocking receive on an empty
  /// mailbox would hang for ever in the deterministic scheduler.
  template <class... Ts>
  auto ask(planet_type& planet, const caf::actor& dest, Ts&&... xs) {
    auto rh =
      planet.self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    exhaust();
    CAF_REQUIRE(!planet.self->mailbox().empty());
    return rh;
  }

  std::vector<std::string> nodes(planet_type& planet, const caf::actor& dest) {
    std::vector<std::string> result;
    ask(planet, dest, nodes_atom::value)
      .receive([&](std::vector<std::string>& xs) { result = std::move(xs); },
               [&](caf::error& err) { CAF_FAIL(planet.sys.render(err)); });
    return result;
  }

  std::vector<endpoint> list(planet_type& planet, const caf::actor& dest) {
    std::vector<endpoint> result;
    ask(planet, dest, list_atom::value)
      .receive([&](std::vector<endpoint>& xs) { result = std::move(xs); },
               [&](caf::error& err) { CAF_FAIL(planet.sys.render(err)); });
    return result;
  }

  /// Registers `xs` for `owner` with `dest` (earth's registry or the link);
  /// returns the error, if any.
  caf::error add(planet_type& planet, const caf::actor& dest,
                 const caf::actor& owner, std::vector<endpoint> xs) {
    caf::error result;
    ask(planet, dest, register_atom::value, owner, std::move(xs))
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Our code of `err`; errc::none for no error, which to_errc() cannot
  /// take (caf::error::category() of an empty error dereferences null).
  static errc code_of(const caf::error& err, std::string& detail) {
    return err ? to_errc(err, detail) : errc::none;
  }

  /// Receives the answer to an earlier request of `planet`'s test actor.
  template <class Handle>
  outcome await(planet_type& planet, Handle& rh) {
    CAF_REQUIRE(!planet.self->mailbox().empty());
    outcome result;
    rh.receive(
      [&](http_response& res) {
        result.code = errc::none;
        result.body = std::move(res.body);
      },
      [&](caf::error& err) { result.code = to_errc(err, result.detail); });
    return result;
  }

  /// Sends `req` to `dest` (earth's registry, or the link on mars) and
  /// returns the outcome.
  outcome call(planet_type& planet, const caf::actor& dest, http_request req) {
    auto rh = ask(planet, dest, std::move(req));
    return await(planet, rh);
  }

  /// Spawns the module on mars with the link as its registry and asks it to
  /// start; returns the module and the answer to its registration.
  std::pair<caf::actor, caf::error> spawn_module() {
    module_context ctx;
    ctx.name = "remote";
    ctx.registry = link;
    auto hdl = mars.sys.spawn(remote_module, ctx);
    to_kill.push_back(hdl);
    caf::error err;
    ask(mars, hdl, start_atom::value)
      .receive([](caf::ok_atom) {}, [&](caf::error& x) { err = std::move(x); });
    return {hdl, err};
  }

  caf::actor start_module() {
    auto [hdl, err] = spawn_module();
    CAF_REQUIRE_EQUAL(mars.sys.render(err), mars.sys.render(caf::error{}));
    return hdl;
  }

  template <class Fun>
  caf::actor spawn_on(planet_type& planet, Fun fun) {
    auto hdl = planet.sys.spawn(fun);
    to_kill.push_back(hdl);
    return hdl;
  }

  /// Receives an event of `T` that `planet`'s test actor got from a bus.
  template <class T>
  T next_event(planet_type& planet) {
    CAF_REQUIRE(!planet.self->mailbox().empty());
    T result;
    planet.self->receive([&](T& x) { result = std::move(x); });
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_iodsl_tests, fixture)

CAF_TEST(a link joins the door and a module on mars serves earth) {
  start_link();
  // The link asks mars' middleman to connect to the door ...
  auto mm = connector();
  run_until_message_for(mars, mm);
  expect_on(mars, (caf::connect_atom, std::string, uint16_t),
            from(link).to(mm).with(caf::connect_atom::value,
                                   std::string{"earth"}, door_port));
  // ... shakes hands with the door ...
  run_until_message_for(earth, door);
  expect_on(earth, (join_atom, uint32_t, std::string, caf::actor),
            from(_).to(door).with(join_atom::value, wire_version,
                                  std::string{"mars"}, _));
  // ... which links earth's bus to mars' bus and answers with its registry;
  // the link links mars' bus to earth's.
  expect_on(earth, (peer_atom, caf::actor), from(door).to(earth_bus));
  run_until_message_for(mars, link);
  expect_on(mars, (uint32_t, std::string, caf::actor, caf::actor),
            from(_).to(link).with(wire_version, std::string{"earth"}, _, _));
  expect_on(mars, (peer_atom, caf::actor), from(link).to(mars_bus));
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
  CAF_CHECK_EQUAL(nodes(earth, door), std::vector<std::string>{"mars"});
  // A module on mars registers through the link, with earth's registry.
  start_module();
  auto xs = list(earth, registry);
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK_EQUAL(xs[0].pattern, "/remote-hold");
  CAF_CHECK_EQUAL(xs[1].pattern, "/remote/:id");
  CAF_CHECK_EQUAL(xs[1].module, "remote");
  // The link lists what earth's registry lists.
  CAF_CHECK_EQUAL(list(mars, link), xs);
  // earth's registry dispatches to the module on mars ...
  auto res = call(earth, registry, make_request({"remote", "42"}));
  CAF_CHECK_EQUAL(res.code, errc::none);
  CAF_CHECK_EQUAL(res.body, "echo:42:rid-1");
  // ... and so does mars, through the link, as its protocol handlers do.
  res = call(mars, link, make_request({"remote", "7"}));
  CAF_CHECK_EQUAL(res.code, errc::none);
  CAF_CHECK_EQUAL(res.body, "echo:7:rid-1");
}

CAF_TEST(an owner killed on mars fails its waiting requests at once) {
  join();
  auto module = start_module();
  auto earth_t0 = earth.sched.clock().now();
  auto mars_t0 = mars.sched.clock().now();
  auto on_earth =
    earth.self->request(registry, caf::infinite, make_request({"remote-hold"}));
  auto on_mars =
    mars.self->request(link, caf::infinite, make_request({"remote-hold"}));
  exhaust();
  CAF_REQUIRE(earth.self->mailbox().empty()); // the module holds both
  CAF_REQUIRE(mars.self->mailbox().empty());
  caf::anon_send_exit(module, caf::exit_reason::kill);
  exhaust();
  CAF_CHECK_EQUAL(await(earth, on_earth).code, errc::owner_down);
  CAF_CHECK_EQUAL(await(mars, on_mars).code, errc::owner_down);
  // The down message answered them: no timer fired, no clock moved.
  CAF_CHECK_EQUAL(earth.sched.clock().now(), earth_t0);
  CAF_CHECK_EQUAL(mars.sched.clock().now(), mars_t0);
  // Its endpoints are gone; the link stays joined.
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"remote", "1"})).code,
                  errc::no_route);
  CAF_CHECK_EQUAL(list(earth, registry).size(), 0u);
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
}

CAF_TEST(a lost connection fails waiting requests and the link joins again) {
  join();
  start_module();
  auto earth_t0 = earth.sched.clock().now();
  auto on_earth =
    earth.self->request(registry, caf::infinite, make_request({"remote-hold"}));
  exhaust();
  CAF_REQUIRE(earth.self->mailbox().empty());
  disconnect();
  exhaust();
  // earth: the request fails at once, the routes and the node are gone.
  CAF_CHECK_EQUAL(await(earth, on_earth).code, errc::owner_down);
  CAF_CHECK_EQUAL(earth.sched.clock().now(), earth_t0);
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"remote", "1"})).code,
                  errc::no_route);
  CAF_CHECK_EQUAL(list(earth, registry).size(), 0u);
  CAF_CHECK_EQUAL(nodes(earth, door), std::vector<std::string>{});
  // Nothing of the lost node stays behind in the registry.
  auto status_rh =
    earth.self->request(registry, caf::infinite, status_atom::value);
  exhaust();
  status_rh.receive(
    [](uint64_t endpoints, uint64_t owners, uint64_t pending) {
      CAF_CHECK_EQUAL(endpoints, 0u);
      CAF_CHECK_EQUAL(owners, 0u);
      CAF_CHECK_EQUAL(pending, 0u);
    },
    [](caf::error&) { CAF_FAIL("status failed"); });
  // mars: the link noticed, and refuses new requests until it joins again.
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  CAF_CHECK_EQUAL(call(mars, link, make_request({"remote", "1"})).code,
                  errc::unavailable);
  // It still knows what its modules registered.
  CAF_CHECK_EQUAL(list(mars, link).size(), 2u);
  // Nothing happens before the backoff (reconnect_min) has passed ...
  prepare_mars_connection();
  mars.advance_time(99ms);
  CAF_CHECK(!has_message(mars, link));
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  // ... then the link connects, joins and registers the module again.
  mars.advance_time(1ms);
  CAF_CHECK(has_message(mars, link));
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
  CAF_CHECK_EQUAL(nodes(earth, door), std::vector<std::string>{"mars"});
  CAF_CHECK_EQUAL(list(earth, registry).size(), 2u);
  auto res = call(earth, registry, make_request({"remote", "2"}));
  CAF_CHECK_EQUAL(res.code, errc::none);
  CAF_CHECK_EQUAL(res.body, "echo:2:rid-1");
}

// Requests that the link passed on to the front node's registry must not
// wait for their own request_timeout (5 s) when the front node goes away,
// just as the registry answers owner_down at once for a lost owner.
CAF_TEST(the link fails requests waiting on a lost front node at once) {
  join();
  start_module();
  auto mars_t0 = mars.sched.clock().now();
  // What mars' protocol handlers send (http_dispatch), and a plain request.
  auto sink = std::make_shared<test_sink>();
  caf::anon_send(link, http_dispatch{make_request({"remote-hold"}), sink});
  auto on_mars =
    mars.self->request(link, caf::infinite, make_request({"remote-hold"}));
  exhaust();
  CAF_REQUIRE(!sink->result);
  CAF_REQUIRE(mars.self->mailbox().empty());
  disconnect();
  exhaust();
  CAF_CHECK_EQUAL(mars.sched.clock().now(), mars_t0);
  auto failed_at_once = [](errc code) {
    return code == errc::owner_down || code == errc::unavailable;
  };
  // CAF_CHECK, not CAF_REQUIRE: a failed requirement ends the whole run.
  CAF_CHECK(sink->result);
  if (sink->result)
    CAF_CHECK(failed_at_once(sink->result->code));
  CAF_CHECK(!mars.self->mailbox().empty());
  if (!mars.self->mailbox().empty())
    CAF_CHECK(failed_at_once(await(mars, on_mars).code));
}

CAF_TEST(a link of another wire version is refused with version_mismatch) {
  auto opts = options();
  opts.version = wire_version + 1;
  start_link(opts);
  run_until_message_for(earth, door);
  expect_on(earth, (join_atom, uint32_t, std::string, caf::actor),
            from(_).to(door).with(join_atom::value, wire_version + 1,
                                  std::string{"mars"}, _));
  // The refusal crosses to mars as an error of our category.
  run_until_message_for(mars, link);
  auto err = peek<caf::error>(link);
  CAF_CHECK_EQUAL(err.category(), error_category);
  std::string detail;
  CAF_CHECK_EQUAL(code_of(err, detail), errc::version_mismatch);
  CAF_CHECK_EQUAL(detail, "node 'earth' speaks wire version " +
                            std::to_string(wire_version) +
                            " and the joining node speaks " +
                            std::to_string(wire_version + 1));
  expect_on(mars, (caf::error), from(_).to(link));
  exhaust();
  // Neither side counts the other as joined, and the buses stay apart.
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  CAF_CHECK_EQUAL(nodes(earth, door), std::vector<std::string>{});
  mars.self->send(mars_bus, subscribe_atom::value, std::string{"news"});
  caf::anon_send(earth_bus, publish_atom::value, std::string{"news"},
                 caf::make_message(std::string{"from earth"}));
  exhaust();
  CAF_CHECK(mars.self->mailbox().empty());
  // The link tries again after its backoff, and is refused again.
  mars.advance_time(100ms);
  run_until_message_for(earth, door);
  expect_on(earth, (join_atom, uint32_t, std::string, caf::actor),
            from(_).to(door).with(join_atom::value, wire_version + 1,
                                  std::string{"mars"}, _));
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
}

CAF_TEST(mars cannot make an actor of earth the owner of an endpoint) {
  join();
  // earth's bus as owner: it would never go down with mars, and requests
  // to it would fail for good.
  auto err = add(mars, link, earth_bus,
                 {make_endpoint("GET", "/borrowed", "x", "remote")});
  std::string detail;
  CAF_CHECK_EQUAL(code_of(err, detail), errc::invalid_endpoint);
  CAF_CHECK_NOT_EQUAL(detail.find("must live on the node"), std::string::npos);
  CAF_CHECK_EQUAL(list(earth, registry).size(), 0u);
}

CAF_TEST(a registration from mars that clashes with earth is refused) {
  join();
  auto owner = spawn_on(earth, handler_owner);
  CAF_REQUIRE(!add(earth, registry, owner,
                   {make_endpoint("GET", "/remote/:name", "mine", "earthly")}));
  // The module on mars gets the registry's conflict as its start answer.
  auto [module, err] = spawn_module();
  std::string detail;
  CAF_CHECK_EQUAL(code_of(err, detail), errc::conflict);
  CAF_CHECK_NOT_EQUAL(detail.find("module 'earthly'"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(detail.find("module 'remote'"), std::string::npos);
  // earth keeps its own endpoint, and nothing of mars' batch.
  auto xs = list(earth, registry);
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK_EQUAL(xs[0].module, "earthly");
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"remote", "1"})).body,
                  "mine");
  // The link forgot the refused batch: it would not register it again on
  // the next join.
  disconnect();
  exhaust();
  CAF_CHECK_EQUAL(list(mars, link).size(), 0u);
}

// On a conflict the link must keep what the front node accepted before and
// still holds: forgetting the whole refused batch would lose those
// endpoints at the next join.
CAF_TEST(a refused batch does not make the link forget earlier endpoints) {
  join();
  auto earthly = spawn_on(earth, handler_owner);
  CAF_REQUIRE(!add(earth, registry, earthly,
                   {make_endpoint("GET", "/taken", "mine", "earthly")}));
  auto owner = spawn_on(mars, handler_owner);
  CAF_REQUIRE(
    !add(mars, link, owner, {make_endpoint("GET", "/a", "first", "remote")}));
  // The same endpoint again, with one that clashes.
  auto err = add(mars, link, owner,
                 {make_endpoint("GET", "/a", "first", "remote"),
                  make_endpoint("GET", "/taken", "other", "remote")});
  std::string detail;
  CAF_REQUIRE_EQUAL(code_of(err, detail), errc::conflict);
  // earth still routes GET /a to the owner on mars.
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"a"})).body, "first");
  // After a reconnection, it still does.
  disconnect();
  exhaust();
  CAF_CHECK_EQUAL(list(mars, link).size(), 1u);
  prepare_mars_connection();
  mars.advance_time(100ms);
  exhaust();
  CAF_REQUIRE_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"a"})).body, "first");
}

// "Adds all endpoints or none" (registry.hpp) holds for an endpoint that its
// owner registers again, too: a later clash in the batch leaves it as it
// was.
CAF_TEST(a refused batch leaves an endpoint it repeats unchanged) {
  join();
  auto earthly = spawn_on(earth, handler_owner);
  CAF_REQUIRE(!add(earth, registry, earthly,
                   {make_endpoint("GET", "/taken", "mine", "earthly")}));
  auto owner = spawn_on(mars, handler_owner);
  CAF_REQUIRE(
    !add(mars, link, owner, {make_endpoint("GET", "/a", "first", "remote")}));
  auto err = add(mars, link, owner,
                 {make_endpoint("GET", "/a", "second", "remote"),
                  make_endpoint("GET", "/taken", "other", "remote")});
  std::string detail;
  CAF_REQUIRE_EQUAL(code_of(err, detail), errc::conflict);
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"a"})).body, "first");
}

CAF_TEST(events cross between the buses of joined nodes both ways) {
  join();
  earth.self->send(earth_bus, subscribe_atom::value, std::string{"news"});
  mars.self->send(mars_bus, subscribe_atom::value, std::string{"news"});
  mars.self->send(mars_bus, subscribe_atom::value, std::string{"routes"});
  exhaust();
  // mars -> earth.
  caf::anon_send(mars_bus, publish_atom::value, std::string{"news"},
                 caf::make_message(std::string{"from mars"}));
  exhaust();
  CAF_CHECK_EQUAL(next_event<std::string>(earth), "from mars");
  CAF_CHECK_EQUAL(next_event<std::string>(mars), "from mars");
  // earth -> mars, exactly once each: nothing comes back.
  caf::anon_send(earth_bus, publish_atom::value, std::string{"news"},
                 caf::make_message(std::string{"from earth"}));
  exhaust();
  CAF_CHECK_EQUAL(next_event<std::string>(earth), "from earth");
  CAF_CHECK_EQUAL(next_event<std::string>(mars), "from earth");
  CAF_CHECK(earth.self->mailbox().empty());
  CAF_CHECK(mars.self->mailbox().empty());
  // earth's registry announces the routes of mars' module on mars' bus.
  start_module();
  CAF_CHECK_EQUAL(next_event<routes_changed>(mars).count, 2u);
  CAF_CHECK(mars.self->mailbox().empty());
}

CAF_TEST(a link started before its front node retries with capped backoff) {
  // Nothing accepts mars on port 8081 yet.
  constexpr uint16_t late_port = 8081;
  auto opts = options();
  opts.port = late_port;
  opts.reconnect_min = 100ms;
  opts.reconnect_max = 700ms;
  start_link(opts);
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  // A module registers at once: the registration waits for the front node.
  auto mars_t0 = mars.sched.clock().now();
  start_module();
  CAF_CHECK_EQUAL(mars.sched.clock().now(), mars_t0);
  CAF_CHECK_EQUAL(list(mars, link).size(), 2u);
  // Each attempt fails (cannot_connect_to_node); the next one comes after a
  // backoff that doubles from reconnect_min up to reconnect_max.
  for (auto backoff : {100ms, 200ms, 400ms, 700ms, 700ms}) {
    mars.advance_time(backoff - 1ms);
    CAF_CHECK(!has_message(mars, link));
    mars.advance_time(1ms);
    CAF_CHECK(has_message(mars, link));
    exhaust();
  }
  // The front node starts accepting there; the link joins at the next tick.
  prepare_connection(earth, mars, "earth", late_port);
  CAF_REQUIRE_EQUAL(earth.publish(door, late_port), late_port);
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  mars.advance_time(700ms);
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{"earth"});
  auto xs = list(earth, registry);
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK_EQUAL(xs[1].module, "remote");
  CAF_CHECK_EQUAL(call(earth, registry, make_request({"remote", "5"})).body,
                  "echo:5:rid-1");
}

CAF_TEST(a handshake that gets no answer ends after handshake_timeout) {
  constexpr uint16_t silent_port = 8082;
  prepare_connection(earth, mars, "earth", silent_port);
  auto silent = spawn_on(earth, silent_door);
  CAF_REQUIRE_EQUAL(earth.publish(silent, silent_port), silent_port);
  auto opts = options();
  opts.port = silent_port;
  opts.handshake_timeout = 2s;
  opts.reconnect_min = 300ms;
  start_link(opts);
  run_until_message_for(earth, silent);
  expect_on(earth, (join_atom, uint32_t, std::string, caf::actor),
            from(_).to(silent).with(join_atom::value, wire_version,
                                    std::string{"mars"}, _));
  exhaust();
  // The link gives up after exactly handshake_timeout ...
  mars.advance_time(1999ms);
  CAF_CHECK(!has_message(mars, link));
  mars.advance_time(1ms);
  CAF_REQUIRE(has_message(mars, link));
  CAF_CHECK_EQUAL(peek<caf::error>(link), caf::sec::request_timeout);
  exhaust();
  CAF_CHECK_EQUAL(nodes(mars, link), std::vector<std::string>{});
  // ... and shakes hands again after reconnect_min.
  mars.advance_time(300ms);
  run_until_message_for(earth, silent);
  expect_on(earth, (join_atom, uint32_t, std::string, caf::actor),
            from(_).to(silent).with(join_atom::value, wire_version,
                                    std::string{"mars"}, _));
}

CAF_TEST_FIXTURE_SCOPE_END()
