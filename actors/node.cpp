#include "actors/node.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "actors/supervisor.hpp"

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
    set("logger.console", caf::atom("none"));
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
  set_log_level(d.cfg.log_level);
  d.sys_cfg = std::make_unique<system_config>(d.cfg);
  d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
  d.bus = spawn_bus(*d.sys);
  registry_options opts;
  opts.request_timeout = std::chrono::milliseconds{d.cfg.request_timeout_ms};
  opts.max_pending = d.cfg.max_pending_requests;
  d.registry = spawn_registry(*d.sys, opts, d.bus);
  d.supervisor = spawn_supervisor(*d.sys, d.cfg, d.table, d.registry, d.bus);
  d.running = true;
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
    self->request(d.supervisor, std::chrono::seconds{60}, stop_atom::value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& e) {
                 d.log->warn("stop incomplete error={}", d.sys->render(e));
               });
    for (auto& x : {d.supervisor, d.registry, d.bus})
      self->send_exit(x, caf::exit_reason::user_shutdown);
  }
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
