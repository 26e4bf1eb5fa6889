#define CAF_SUITE cluster
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/cluster.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "actors/node.hpp"
#include "actors/registry.hpp"

// Front and joining nodes as separate actor systems in one process, joined
// by the cluster actors over loopback TCP: the front node restarts on the
// same port, nodes of two wire versions refuse each other, a link starts
// before any front node, and the link's timing options hold. Every wait is
// a poll with a deadline.

using namespace sb;
using namespace std::chrono_literals;

using std::chrono::steady_clock;

namespace {

// -- actors of the test -------------------------------------------------------

struct silent_state {
  std::vector<caf::response_promise> held;
};

/// A module of the joining node: `GET /remote/:id` and `PUT /remote/:id`
/// echo the id.
caf::behavior remote_module(caf::event_based_actor* self, module_context ctx) {
  return {
    [self, ctx](start_atom) {
      return register_endpoints(
        self, ctx,
        {make_endpoint("GET", "/remote/:id", "echo", ctx.name),
         make_endpoint("PUT", "/remote/:id", "echo", ctx.name)});
    },
    [](http_request& req) {
      http_response res;
      res.body = "echo:" + *find_field(req.params, "id");
      return res;
    },
  };
}

/// When a silent door got each handshake.
struct join_log {
  std::mutex mtx;
  std::vector<steady_clock::time_point> times;

  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return times.size();
  }

  steady_clock::duration gap(size_t i) {
    std::lock_guard<std::mutex> guard{mtx};
    return times[i + 1] - times[i];
  }
};

/// A door that accepts the handshake and never answers it.
caf::behavior silent_door(caf::stateful_actor<silent_state>* self,
                          std::shared_ptr<join_log> joins) {
  return {
    [self, joins](join_atom, uint32_t, std::string&, caf::actor&) {
      {
        std::lock_guard<std::mutex> guard{joins->mtx};
        joins->times.push_back(steady_clock::now());
      }
      self->state.held.push_back(self->make_response_promise());
    },
  };
}

// -- nodes --------------------------------------------------------------------

struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    register_message_types(*this);
    set("scheduler.max-threads", 2);
  }
};

/// A front node named "front": registry, bus and door, the door published on
/// `port` of 127.0.0.1 (0 picks a free one). With `joins`, the door never
/// answers and records when each handshake arrived.
struct front_node {
  config cfg;
  caf::actor_system sys{cfg};
  caf::actor bus;
  caf::actor registry;
  caf::actor door;
  uint16_t port = 0;

  explicit front_node(uint16_t want, uint32_t version = wire_version,
                      std::shared_ptr<join_log> joins = nullptr) {
    bus = spawn_bus(sys);
    registry = spawn_registry(sys, registry_options{}, bus);
    door = joins
             ? sys.spawn(silent_door, joins)
             : spawn_door(sys, door_options{"front", version}, registry, bus);
    auto p = sys.middleman().publish(door, want, "127.0.0.1", true);
    CAF_REQUIRE(p);
    port = *p;
  }

  ~front_node() {
    sys.middleman().unpublish(door, port);
    for (auto& x : {door, registry, bus})
      caf::anon_send_exit(x, caf::exit_reason::kill);
  }
};

/// A joining node named "back": a bus, the link, and modules that register
/// through it.
struct joining_node {
  config cfg;
  caf::actor_system sys{cfg};
  caf::actor bus;
  caf::actor link;
  std::vector<caf::actor> modules;

  explicit joining_node(link_options opts) {
    bus = spawn_bus(sys);
    auto connector =
      caf::actor_cast<caf::actor>(sys.middleman().actor_handle());
    link = spawn_link(sys, std::move(opts), bus, connector);
  }

  ~joining_node() {
    for (auto& x : modules)
      caf::anon_send_exit(x, caf::exit_reason::kill);
    for (auto& x : {link, bus})
      caf::anon_send_exit(x, caf::exit_reason::kill);
  }

  /// Starts a module with the link as its registry; returns the answer to
  /// its registration.
  caf::error start_module() {
    module_context ctx;
    ctx.name = "remote";
    ctx.registry = link;
    auto hdl = sys.spawn(remote_module, ctx);
    modules.push_back(hdl);
    caf::error result = make_error(errc::internal, "no answer");
    caf::scoped_actor self{sys};
    self->request(hdl, 5s, start_atom::value)
      .receive([&](caf::ok_atom) { result = caf::error{}; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

// -- helpers ------------------------------------------------------------------

/// A loopback port that nothing listens on (at the time of the call).
uint16_t free_port() {
  auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
  CAF_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  CAF_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
              0);
  socklen_t len = sizeof(addr);
  CAF_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Polls `pred` every 10 ms until it holds or `limit` has passed.
template <class Predicate>
bool eventually(Predicate pred, steady_clock::duration limit = 5s) {
  auto deadline = steady_clock::now() + limit;
  while (!pred()) {
    if (steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// The answer of `dest` to `nodes_atom`; `{"<error>"}` if none came.
std::vector<std::string> nodes(caf::actor_system& sys, const caf::actor& dest) {
  std::vector<std::string> result{"<error>"};
  caf::scoped_actor self{sys};
  self->request(dest, 2s, nodes_atom::value)
    .receive([&](std::vector<std::string>& xs) { result = std::move(xs); },
             [](caf::error&) {});
  return result;
}

/// The answer of `dest` (a registry or a link) to `list_atom`.
std::vector<endpoint> list(caf::actor_system& sys, const caf::actor& dest) {
  std::vector<endpoint> result;
  caf::scoped_actor self{sys};
  self->request(dest, 2s, list_atom::value)
    .receive([&](std::vector<endpoint>& xs) { result = std::move(xs); },
             [](caf::error&) {});
  return result;
}

/// Sends `GET /remote/<id>` to `registry`; returns the body or the error.
std::string call(caf::actor_system& sys, const caf::actor& registry,
                 const std::string& id) {
  http_request req;
  req.method = "GET";
  req.path = {"remote", id};
  std::string result;
  caf::scoped_actor self{sys};
  self->request(registry, 5s, std::move(req))
    .receive([&](http_response& res) { result = res.body; },
             [&](caf::error& err) { result = sys.render(err); });
  return result;
}

link_options options(uint16_t port) {
  link_options opts;
  opts.name = "back";
  opts.host = "127.0.0.1";
  opts.port = port;
  opts.handshake_timeout = 2s;
  opts.reconnect_min = 50ms;
  opts.reconnect_max = 200ms;
  opts.request_timeout = 2s;
  return opts;
}

const std::vector<std::string> front_only{"front"};
const std::vector<std::string> nobody{};

/// Captures the lines of the `cluster` logger. The sink joins the logger
/// before any actor system of the test exists and leaves it after the last
/// one is gone: spdlog does not guard a logger's sink list.
struct fixture {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink =
    std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1024);
  logger_ptr log = logger("cluster");
  std::unique_ptr<front_node> front;
  std::unique_ptr<joining_node> back;

  fixture() {
    set_log_level("info");
    log->sinks().push_back(sink);
  }

  ~fixture() {
    back.reset();
    front.reset();
    auto& sinks = log->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
    set_log_level("info");
  }

  /// Captured lines that contain `needle`.
  std::vector<std::string> lines_with(const std::string& needle) {
    std::vector<std::string> result;
    for (auto& line : sink->last_formatted())
      if (line.find(needle) != std::string::npos)
        result.push_back(line);
    return result;
  }

  /// The backoff of each failed attempt to join at `port`, as the link
  /// logged it (`retry_in_ms=...`).
  std::vector<int> retry_delays(uint16_t port) {
    std::vector<int> result;
    std::string key = "retry_in_ms=";
    for (auto& line :
         lines_with("cannot join at=127.0.0.1:" + std::to_string(port) + " ")) {
      auto i = line.find(key);
      if (i != std::string::npos)
        result.push_back(std::stoi(line.substr(i + key.size())));
    }
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_tests, fixture)

CAF_TEST(a link registers again with a front node restarted on its port) {
  front = std::make_unique<front_node>(0);
  auto port = front->port;
  back = std::make_unique<joining_node>(options(port));
  CAF_REQUIRE(
    eventually([&] { return nodes(back->sys, back->link) == front_only; }));
  CAF_REQUIRE_EQUAL(back->sys.render(back->start_module()),
                    back->sys.render(caf::error{}));
  CAF_CHECK_EQUAL(call(front->sys, front->registry, "1"), "echo:1");
  CAF_CHECK_EQUAL(nodes(front->sys, front->door),
                  std::vector<std::string>{"back"});
  // The whole front node goes away; the link notices.
  front.reset();
  CAF_CHECK(eventually([&] { return nodes(back->sys, back->link) == nobody; }));
  // A new front node on the same port gets the module back.
  auto t0 = steady_clock::now();
  front = std::make_unique<front_node>(port);
  CAF_REQUIRE_EQUAL(front->port, port);
  CAF_CHECK(
    eventually([&] { return list(front->sys, front->registry).size() == 2; }));
  CAF_MESSAGE("registered again after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                   steady_clock::now() - t0)
                   .count()
              << " ms");
  CAF_CHECK_EQUAL(call(front->sys, front->registry, "2"), "echo:2");
  CAF_CHECK_EQUAL(nodes(back->sys, back->link), front_only);
  CAF_CHECK_EQUAL(nodes(front->sys, front->door),
                  std::vector<std::string>{"back"});
}

CAF_TEST(nodes of two wire versions both log why they refuse each other) {
  front = std::make_unique<front_node>(0, wire_version);
  auto port = front->port;
  auto opts = options(port);
  opts.version = wire_version + 1;
  opts.reconnect_min = 1s;
  opts.reconnect_max = 1s;
  back = std::make_unique<joining_node>(opts);
  std::string door_says = "node refused name=back node=";
  std::string link_says =
    "front node refused this node at=127.0.0.1:" + std::to_string(port) +
    " reason=";
  CAF_REQUIRE(eventually([&] {
    return !lines_with(door_says).empty() && !lines_with(link_says).empty();
  }));
  // The front node's line names the joining node and both versions ...
  auto line = lines_with(door_says).front();
  CAF_CHECK_NOT_EQUAL(line.find("error"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(line.find("reason=it speaks wire version " +
                                std::to_string(wire_version + 1) +
                                " and this node speaks " +
                                std::to_string(wire_version)),
                      std::string::npos);
  // ... and so does the joining node's, with the front node's words.
  line = lines_with(link_says).front();
  CAF_CHECK_NOT_EQUAL(line.find("error"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(
    line.find(link_says + "node 'front' speaks wire version " +
              std::to_string(wire_version) + " and the joining node speaks " +
              std::to_string(wire_version + 1)),
    std::string::npos);
  // Neither counts the other as joined.
  CAF_CHECK_EQUAL(nodes(back->sys, back->link), nobody);
  CAF_CHECK_EQUAL(nodes(front->sys, front->door), nobody);
}

CAF_TEST(a link started before any front node registers once one starts) {
  auto port = free_port();
  back = std::make_unique<joining_node>(options(port));
  // The registration is answered at once: it waits in the link.
  auto t0 = steady_clock::now();
  CAF_CHECK_EQUAL(back->sys.render(back->start_module()),
                  back->sys.render(caf::error{}));
  CAF_CHECK_LESS(steady_clock::now() - t0, 1s);
  CAF_CHECK_EQUAL(nodes(back->sys, back->link), nobody);
  CAF_CHECK_EQUAL(list(back->sys, back->link).size(), 2u);
  // The link keeps trying; a front node starts on the port.
  CAF_REQUIRE(eventually([&] { return !retry_delays(port).empty(); }));
  front = std::make_unique<front_node>(port);
  CAF_REQUIRE_EQUAL(front->port, port);
  CAF_CHECK(
    eventually([&] { return list(front->sys, front->registry).size() == 2; }));
  CAF_CHECK_EQUAL(call(front->sys, front->registry, "3"), "echo:3");
  CAF_CHECK_EQUAL(nodes(back->sys, back->link), front_only);
}

CAF_TEST(the link gives up a handshake after handshake_timeout) {
  auto joins = std::make_shared<join_log>();
  front = std::make_unique<front_node>(0, wire_version, joins);
  auto opts = options(front->port);
  opts.handshake_timeout = 300ms;
  opts.reconnect_min = 100ms;
  opts.reconnect_max = 100ms;
  back = std::make_unique<joining_node>(opts);
  // With the default of 5 s, the second handshake would come after 5.1 s.
  CAF_REQUIRE(eventually([&] { return joins->size() >= 2; }, 3s));
  auto gap = joins->gap(0);
  CAF_MESSAGE(
    "second handshake after "
    << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count()
    << " ms");
  CAF_CHECK_GREATER_OR_EQUAL(gap, 350ms);
  CAF_CHECK_LESS(gap, 2s);
  CAF_CHECK(!lines_with("reason=system_error(request_timeout)").empty());
  CAF_CHECK_EQUAL(nodes(back->sys, back->link), nobody);
}

CAF_TEST(the link backs off up to reconnect_max and no further) {
  auto port = free_port();
  auto opts = options(port);
  opts.reconnect_min = 20ms;
  opts.reconnect_max = 80ms;
  // The link logs each repeated failure at debug level.
  log->set_level(spdlog::level::debug);
  back = std::make_unique<joining_node>(opts);
  CAF_REQUIRE(eventually([&] { return retry_delays(port).size() >= 6; }, 3s));
  auto delays = retry_delays(port);
  delays.resize(6);
  CAF_CHECK_EQUAL(delays, (std::vector<int>{20, 40, 80, 80, 80, 80}));
  log->set_level(spdlog::level::info);
  // A front node that starts now is joined within about reconnect_max.
  auto t0 = steady_clock::now();
  front = std::make_unique<front_node>(port);
  CAF_REQUIRE_EQUAL(front->port, port);
  CAF_CHECK(
    eventually([&] { return nodes(back->sys, back->link) == front_only; }, 2s));
  auto elapsed = steady_clock::now() - t0;
  CAF_MESSAGE(
    "joined after "
    << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
    << " ms");
  CAF_CHECK_LESS(elapsed, 1s);
}

CAF_TEST_FIXTURE_SCOPE_END()
