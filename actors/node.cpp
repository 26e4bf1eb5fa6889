#include "actors/node.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/cluster.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "actors/supervisor.hpp"
#include "actors/tls_error_queue.hpp"

namespace sb {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<endpoint>("sb.endpoint");
  cfg.add_message_type<std::vector<endpoint>>("sb.endpoint_list");
  cfg.add_message_type<http_request>("sb.http_request");
  cfg.add_message_type<http_response>("sb.http_response");
  cfg.add_message_type<module_info>("sb.module_info");
  cfg.add_message_type<node_status>("sb.node_status");
  cfg.add_message_type<routes_changed>("sb.routes_changed");
  cfg.add_message_type<module_changed>("sb.module_changed");
  cfg.add_message_type<principal>("sb.principal");
  cfg.add_message_type<auth_check>("sb.auth_check");
  cfg.add_message_type<auth_verdict>("sb.auth_verdict");
  cfg.add_message_type<mcp_access>("sb.mcp_access");
  cfg.add_message_type<mcp_request>("sb.mcp_request");
  cfg.add_message_type<mcp_result>("sb.mcp_result");
  cfg.add_message_type<mcp_notice>("sb.mcp_notice");
  cfg.add_message_type<mcp_ask>("sb.mcp_ask");
  cfg.add_message_type<mcp_changed>("sb.mcp_changed");
  cfg.add_message_type<mcp_updated>("sb.mcp_updated");
  add_error_category(cfg);
}

namespace {

/// Actor system settings derived from our config; CAF's own config file
/// and command line are not used.
class system_config : public caf::actor_system_config {
public:
  explicit system_config(const node_config& cfg) {
    sb::register_message_types(*this);
    set("scheduler.max-threads", cfg.effective_actor_threads());
    // An idle worker polls briefly, then waits on its condition variable,
    // which an enqueue signals. CAF's middle phase of 50 us sleeps between
    // polls woke too late for a call that arrived meanwhile: with it, one
    // call in flight ran at 6.4k/s, without it at 10.9k/s (tools/bench),
    // and an idle node spends less CPU.
    set("work-stealing.moderate-poll-attempts", size_t{0});
    set("logger.console", caf::atom("none"));
    auto& c = cfg.cluster;
    if (!c.publish && !c.joins())
      return;
    load<caf::io::middleman>();
    using ms = std::chrono::milliseconds;
    set("middleman.heartbeat-interval",
        caf::timespan{ms{c.heartbeat_interval_ms}});
    set("middleman.connection-timeout",
        caf::timespan{ms{c.connection_timeout_ms}});
    // CAF refuses nodes of other applications before our handshake runs.
    set("middleman.app-identifiers", std::vector<std::string>{"switchboard"});
    if (c.tls.enabled()) {
      load<caf::openssl::manager>();
      openssl_certificate = c.tls.certificate;
      openssl_key = c.tls.key;
      openssl_cafile = c.tls.ca;
    }
  }
};

} // namespace

struct node::impl {
  node_config cfg;
  factory_table table;
  std::unique_ptr<system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor bus;
  caf::actor registry;
  caf::actor supervisor;
  /// Front nodes: the door and the address other nodes join.
  caf::actor door;
  uint16_t door_port = 0;
  std::string cluster_address;
  std::string address;
  uint64_t routes = 0;
  bool running = false;
  logger_ptr log = logger("node");
};

node::node(node_config cfg, factory_table table)
    : impl_(new impl) {
  impl_->cfg = std::move(cfg);
  impl_->table = std::move(table);
}

node::~node() {
  stop();
}

std::string node::start() {
  auto& d = *impl_;
  if (d.sys)
    return "the node started already";
  if (d.cfg.cluster.tls.enabled() && !tls_error_queue_guard_active())
    return "cluster.tls: this program does not guard OpenSSL's error queue "
           "(see actors/tls_error_queue.hpp), so one failed TLS connection "
           "would drop the others";
  set_log_level(d.cfg.log_level);
  d.sys_cfg = std::make_unique<system_config>(d.cfg);
  d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
  d.running = true;
  d.bus = spawn_bus(*d.sys);
  auto& c = d.cfg.cluster;
  auto name = d.cfg.effective_name();
  auto tls = c.tls.enabled();
  if (c.joins()) {
    // The link stands in for the registry: it registers this node's modules
    // with the front node's registry.
    link_options opts;
    opts.name = name;
    opts.host = c.join_host;
    opts.port = c.join_port;
    opts.handshake_timeout = std::chrono::milliseconds{c.handshake_timeout_ms};
    opts.reconnect_max = std::chrono::milliseconds{c.reconnect_max_ms};
    opts.request_timeout = std::chrono::milliseconds{d.cfg.request_timeout_ms};
    auto connector =
      tls ? caf::actor_cast<caf::actor>(d.sys->openssl_manager().actor_handle())
          : caf::actor_cast<caf::actor>(d.sys->middleman().actor_handle());
    d.registry = spawn_link(*d.sys, opts, d.bus, connector);
    d.cluster_address =
      (c.join_host.find(':') == std::string::npos ? c.join_host
                                                  : "[" + c.join_host + "]") +
      ":" + std::to_string(c.join_port);
  } else {
    registry_options opts;
    opts.request_timeout = std::chrono::milliseconds{d.cfg.request_timeout_ms};
    opts.max_pending = d.cfg.max_pending_requests;
    d.registry = spawn_registry(*d.sys, opts, d.bus);
  }
  if (c.publish) {
    d.door =
      spawn_door(*d.sys, door_options{name, wire_version}, d.registry, d.bus);
    auto bind = c.publish_bind.c_str();
    auto port =
      tls ? caf::openssl::publish(d.door, c.publish_port, bind, true)
          : d.sys->middleman().publish(d.door, c.publish_port, bind, true);
    if (!port)
      return "cannot accept nodes on " + c.publish_bind + ":" +
             std::to_string(c.publish_port) + ": " +
             d.sys->render(port.error());
    d.door_port = *port;
    d.cluster_address = c.publish_bind.find(':') == std::string::npos
                          ? c.publish_bind + ":" + std::to_string(*port)
                          : "[" + c.publish_bind + "]:" + std::to_string(*port);
    d.log->info("accepting nodes name={} address={} tls={}", name,
                d.cluster_address, tls);
  }
  auto cluster = d.door ? d.door : c.joins() ? d.registry : caf::actor{};
  d.supervisor =
    spawn_supervisor(*d.sys, d.cfg, d.table, d.registry, d.bus, cluster);
  // Block this (non-I/O, non-scheduler) thread until the node serves.
  std::string err;
  caf::scoped_actor self{*d.sys};
  self->request(d.supervisor, std::chrono::seconds{60}, start_atom::value)
    .receive(
      [&](std::string& addr, uint64_t routes) {
        d.address = std::move(addr);
        d.routes = routes;
      },
      [&](caf::error& e) { err = d.sys->render(e); });
  return err;
}

void node::stop() {
  auto& d = *impl_;
  if (!d.running)
    return;
  d.running = false;
  {
    caf::scoped_actor self{*d.sys};
    // A start that failed early (the node port was taken, say) leaves no
    // supervisor to ask.
    if (d.supervisor)
      self->request(d.supervisor, std::chrono::seconds{60}, stop_atom::value)
        .receive([](caf::ok_atom) {},
                 [&](caf::error& e) {
                   d.log->warn("stop incomplete error={}", d.sys->render(e));
                 });
    if (d.door) {
      // One BASP broker serves plain and TLS ports alike.
      self
        ->request(d.sys->middleman().actor_handle(), std::chrono::seconds{5},
                  caf::unpublish_atom::value, d.door.address(), d.door_port)
        .receive([] {}, [](caf::error&) {});
    }
    for (auto& x : {d.supervisor, d.door, d.registry, d.bus})
      if (x)
        self->send_exit(x, caf::exit_reason::user_shutdown);
  }
  d.door = nullptr;
  d.supervisor = nullptr;
  d.registry = nullptr;
  d.bus = nullptr;
  d.sys->await_all_actors_done();
  d.sys.reset();
  d.sys_cfg.reset();
  d.log->info("node stopped");
}

const std::string& node::address() const noexcept {
  return impl_->address;
}

uint64_t node::routes() const noexcept {
  return impl_->routes;
}

const std::string& node::cluster_address() const noexcept {
  return impl_->cluster_address;
}

const node_config& node::config() const noexcept {
  return impl_->cfg;
}

caf::actor_system& node::system() {
  return *impl_->sys;
}

caf::actor node::registry() const {
  return impl_->registry;
}

caf::actor node::bus() const {
  return impl_->bus;
}

caf::actor node::supervisor() const {
  return impl_->supervisor;
}

} // namespace sb
