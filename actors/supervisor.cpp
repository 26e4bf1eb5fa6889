#include "actors/supervisor.hpp"

#include <chrono>
#include <deque>
#include <memory>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"

namespace sb {

namespace {

using namespace std::chrono_literals;

using time_point = caf::actor_clock::time_point;

/// Time a module or protocol handler has to start.
constexpr auto start_timeout = 15s;

/// Restarts within `restart_window` that a module may use up before the
/// supervisor gives up on it.
constexpr size_t max_restarts = 5;
constexpr auto restart_window = 60s;

struct module_slot {
  const module_factory* factory = nullptr;
  module_context ctx;
  caf::actor handle;
  module_info info;
  std::deque<time_point> recent_restarts;
};

struct protocol_slot {
  const protocol_factory* factory = nullptr;
  caf::actor handle;
  std::string address;
};

class supervisor_state {
public:
  static inline const char* name = "sb.supervisor";

  explicit supervisor_state(caf::stateful_actor<supervisor_state>* self)
      : self_(self)
      , log_(logger("node")) {
    // nop
  }

  caf::behavior make_behavior(const node_config& cfg,
                              const factory_table& table, caf::actor registry,
                              caf::actor bus, caf::actor cluster) {
    cfg_ = cfg;
    table_ = &table;
    registry_ = std::move(registry);
    bus_ = std::move(bus);
    cluster_ = std::move(cluster);
    started_ = std::chrono::steady_clock::now();
    drop_stray_errors(self_, "node");
    self_->set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    return {
      [this](start_atom) { return start(); },
      [this](stop_atom) { return stop(); },
      [this](status_atom) { return status(); },
      [this](module_atom, const std::string& name) -> caf::result<module_info> {
        for (auto& slot : modules_)
          if (slot.info.name == name)
            return slot.info;
        return make_error(errc::unknown_module,
                          "no module named '" + name + "' runs on this node");
      },
      [this](nodes_atom) { return nodes(); },
      [this](restart_atom, const std::string& name) {
        if (auto slot = find(name);
            slot && state_ == node_state::running &&
            slot->info.state == module_state::restarting)
          start_module(*slot, nullptr);
      },
    };
  }

private:
  // -- start-up ---------------------------------------------------------------

  caf::response_promise start() {
    auto rp = self_->make_response_promise();
    if (started_once_) {
      rp.deliver(make_error(errc::unavailable, "the node started already"));
      return rp;
    }
    started_once_ = true;
    for (auto& name : cfg_.modules) {
      module_slot slot;
      slot.factory = table_->find_module(name);
      slot.ctx.name = name;
      slot.ctx.registry = registry_;
      slot.ctx.bus = bus_;
      slot.ctx.node = caf::actor_cast<caf::actor>(self_);
      slot.ctx.settings = cfg_.settings_of(name);
      slot.ctx.public_url = cfg_.effective_public_url();
      slot.info.name = name;
      modules_.push_back(std::move(slot));
    }
    start_modules_from(0, rp);
    return rp;
  }

  /// Starts the modules one after the other, in config order, so that the
  /// outcome of a clash between two of them never depends on timing; then
  /// the protocol handlers.
  void start_modules_from(size_t index, caf::response_promise rp) {
    if (index == modules_.size()) {
      start_protocols(rp);
      return;
    }
    start_module(modules_[index],
                 [this, index, rp](const caf::error& err) mutable {
                   if (!rp.pending())
                     return;
                   if (err)
                     rp.deliver(err);
                   else
                     start_modules_from(index + 1, rp);
                 });
  }

  /// Spawns the module of `slot` and asks it to start; `done` (may be empty)
  /// learns the outcome.
  void start_module(module_slot& slot,
                    std::function<void(const caf::error&)> done) {
    auto name = slot.info.name;
    set_module_state(slot, slot.info.state == module_state::restarting
                             ? module_state::restarting
                             : module_state::starting);
    slot.handle = slot.factory->spawn(self_->system(), slot.ctx);
    self_->monitor(slot.handle);
    self_->request(slot.handle, start_timeout, start_atom::value)
      .then(
        [this, name, done](caf::ok_atom) {
          if (auto s = find(name)) {
            set_module_state(*s, module_state::running);
            log_->info("module running name={}", name);
          }
          if (done)
            done(caf::error{});
        },
        [this, name, done](caf::error& err) {
          log_->error("module failed to start name={} error={}", name,
                      self_->system().render(err));
          if (auto s = find(name)) {
            set_module_state(*s, module_state::failed);
            self_->send_exit(s->handle, caf::exit_reason::user_shutdown);
          }
          if (done) {
            std::string detail;
            to_errc(err, detail);
            done(make_error(errc::unavailable, "module '" + name +
                                                 "' failed to start: " +
                                                 self_->system().render(err)));
          }
        });
  }

  void start_protocols(caf::response_promise rp) {
    if (cfg_.protocols.empty()) {
      finish_start(rp);
      return;
    }
    auto remaining = std::make_shared<size_t>(cfg_.protocols.size());
    for (auto& name : cfg_.protocols) {
      protocol_context ctx;
      ctx.name = name;
      ctx.registry = registry_;
      ctx.bus = bus_;
      ctx.node = caf::actor_cast<caf::actor>(self_);
      ctx.settings = cfg_.settings_of(name);
      ctx.bind = cfg_.bind;
      ctx.port = cfg_.port;
      ctx.io_threads = cfg_.effective_io_threads();
      ctx.joining = cfg_.cluster.joins();
      protocol_slot slot;
      slot.factory = table_->find_protocol(name);
      slot.handle = slot.factory->spawn(self_->system(), ctx);
      auto index = protocols_.size();
      protocols_.push_back(slot);
      self_->request(slot.handle, start_timeout, start_atom::value)
        .then(
          [this, rp, remaining, index](std::string& addr) mutable {
            protocols_[index].address = addr;
            if (--*remaining == 0 && rp.pending())
              finish_start(rp);
          },
          [this, rp, name](caf::error& err) mutable {
            if (rp.pending())
              rp.deliver(make_error(
                errc::unavailable, "protocol '" + name + "' failed to start: " +
                                     self_->system().render(err)));
          });
    }
  }

  void finish_start(caf::response_promise rp) {
    self_->request(registry_, start_timeout, list_atom::value)
      .then(
        [this, rp](const std::vector<endpoint>& xs) mutable {
          state_ = node_state::running;
          std::string addresses;
          // Handlers that share another's port report no address.
          for (auto& p : protocols_)
            if (!p.address.empty())
              addresses += (addresses.empty() ? "" : ",") + p.address;
          log_->info("node running address={} routes={}", addresses, xs.size());
          rp.deliver(addresses, static_cast<uint64_t>(xs.size()));
        },
        [rp](caf::error& err) mutable { rp.deliver(err); });
  }

  // -- shutdown ---------------------------------------------------------------

  caf::response_promise stop() {
    auto rp = self_->make_response_promise();
    state_ = node_state::stopping;
    log_->info("node stopping");
    auto stop_modules = [this, rp]() mutable {
      // Protocol handlers have drained; a timer of theirs must not keep
      // them, and with them the process, alive.
      for (auto& p : protocols_)
        if (p.handle)
          self_->send_exit(p.handle, caf::exit_reason::user_shutdown);
      for (auto& slot : modules_) {
        if (slot.handle)
          self_->send_exit(slot.handle, caf::exit_reason::user_shutdown);
        slot.info.state = module_state::stopped;
      }
      if (rp.pending())
        rp.deliver(caf::ok_atom::value);
    };
    if (protocols_.empty()) {
      stop_modules();
      return rp;
    }
    auto remaining = std::make_shared<size_t>(protocols_.size());
    for (auto& p : protocols_) {
      auto once = [remaining, stop_modules]() mutable {
        if (--*remaining == 0)
          stop_modules();
      };
      self_->request(p.handle, std::chrono::seconds{30}, stop_atom::value)
        .then([once](caf::ok_atom) mutable { once(); },
              [once](caf::error&) mutable { once(); });
    }
    return rp;
  }

  // -- status -----------------------------------------------------------------

  node_status status() const {
    node_status result;
    result.state = state_;
    result.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started_)
                         .count();
    for (auto& slot : modules_)
      result.modules.push_back(slot.info);
    for (auto& p : protocols_)
      if (!p.address.empty())
        result.address += (result.address.empty() ? "" : ",") + p.address;
    return result;
  }

  caf::response_promise nodes() {
    auto rp = self_->make_response_promise();
    using names = std::vector<std::string>;
    if (!cluster_) {
      rp.deliver(std::string{"single"}, names{});
      return rp;
    }
    auto front = cfg_.cluster.publish;
    self_->request(cluster_, std::chrono::seconds{5}, nodes_atom::value)
      .then(
        [rp, front](names& xs) mutable {
          std::string role = front        ? "front"
                             : xs.empty() ? "joining"
                                          : "joined";
          rp.deliver(std::move(role), std::move(xs));
        },
        [rp](caf::error& err) mutable { rp.deliver(err); });
    return rp;
  }

  // -- supervision ------------------------------------------------------------

  void on_down(const caf::down_msg& msg) {
    for (auto& slot : modules_) {
      if (slot.handle.address() != msg.source)
        continue;
      slot.handle = nullptr;
      // Failures during start-up fail the start; only a running node
      // restarts modules.
      if (state_ != node_state::running ||
          slot.info.state == module_state::failed)
        return;
      auto reason = self_->system().render(msg.reason);
      auto now = self_->clock().now();
      auto& recent = slot.recent_restarts;
      while (!recent.empty() && now - recent.front() > restart_window)
        recent.pop_front();
      if (recent.size() >= max_restarts) {
        log_->error("module failed name={} reason={} restarts={}",
                    slot.info.name, reason, recent.size());
        set_module_state(slot, module_state::failed);
        return;
      }
      recent.push_back(now);
      ++slot.info.restarts;
      // Back off 100 ms, 200 ms, 400 ms, ... per recent restart.
      auto delay = std::chrono::milliseconds{100} * (1 << (recent.size() - 1));
      log_->warn("module down name={} reason={} restart_in_ms={}",
                 slot.info.name, reason, delay.count());
      set_module_state(slot, module_state::restarting);
      self_->delayed_send(self_, delay, restart_atom::value, slot.info.name);
      return;
    }
    for (auto& p : protocols_)
      if (p.handle.address() == msg.source)
        log_->error("protocol handler down name={}", p.factory->name);
  }

  module_slot* find(const std::string& name) {
    for (auto& slot : modules_)
      if (slot.info.name == name)
        return &slot;
    return nullptr;
  }

  void set_module_state(module_slot& slot, module_state x) {
    if (slot.info.state == x)
      return;
    slot.info.state = x;
    if (bus_)
      self_->send(bus_, publish_atom::value, std::string{"modules"},
                  caf::make_message(module_changed{slot.info}));
  }

  caf::stateful_actor<supervisor_state>* self_;
  logger_ptr log_;
  node_config cfg_;
  const factory_table* table_ = nullptr;
  caf::actor registry_;
  caf::actor bus_;
  caf::actor cluster_;
  node_state state_ = node_state::starting;
  bool started_once_ = false;
  std::chrono::steady_clock::time_point started_;
  std::vector<module_slot> modules_;
  std::vector<protocol_slot> protocols_;
};

caf::behavior supervisor_actor(caf::stateful_actor<supervisor_state>* self,
                               const node_config& cfg,
                               const factory_table* table, caf::actor registry,
                               caf::actor bus, caf::actor cluster) {
  return self->state.make_behavior(cfg, *table, std::move(registry),
                                   std::move(bus), std::move(cluster));
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, const node_config& cfg,
                            const factory_table& table, caf::actor registry,
                            caf::actor bus, caf::actor cluster) {
  return sys.spawn(supervisor_actor, cfg, &table, std::move(registry),
                   std::move(bus), std::move(cluster));
}

} // namespace sb
