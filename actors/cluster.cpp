#include "actors/cluster.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/completion.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/registry.hpp"

namespace sb {

namespace {

/// A name from another node, made safe for one log line: at most 128
/// characters, anything but visible ASCII replaced by `?`.
std::string loggable(std::string str) {
  if (str.size() > 128)
    str.resize(128);
  for (auto& c : str)
    if (c <= 0x20 || c >= 0x7f)
      c = '?';
  if (str.empty())
    str = "?";
  return str;
}

std::string node_of(const caf::strong_actor_ptr& x) {
  return x ? caf::to_string(x->node()) : std::string{"unknown"};
}

// -- door ---------------------------------------------------------------------

class door_state {
public:
  static inline const char* name = "sb.door";

  explicit door_state(caf::stateful_actor<door_state>* self)
      : self_(self)
      , log_(logger("cluster")) {
    // nop
  }

  caf::behavior make_behavior(door_options opts, caf::actor registry,
                              caf::actor bus) {
    opts_ = std::move(opts);
    registry_ = std::move(registry);
    bus_ = std::move(bus);
    drop_stray_errors(self_, "cluster");
    self_->set_down_handler([this](caf::down_msg& msg) {
      auto i = joined_.find(msg.source);
      if (i == joined_.end())
        return;
      // A node that stops cleanly says goodbye; anything else is a loss.
      auto clean = msg.reason == caf::exit_reason::user_shutdown ||
                   msg.reason == caf::exit_reason::normal;
      log_->log(clean ? spdlog::level::info : spdlog::level::warn,
                "node left name={} reason={}", i->second,
                self_->system().render(msg.reason));
      joined_.erase(i);
    });
    return {
      [this](join_atom, uint32_t version, std::string& name, caf::actor& bus)
        -> caf::result<uint32_t, std::string, caf::actor, caf::actor> {
        return join(version, std::move(name), std::move(bus));
      },
      [this](nodes_atom) {
        std::vector<std::string> names;
        for (auto& kvp : joined_)
          names.push_back(kvp.second);
        std::sort(names.begin(), names.end());
        return names;
      },
    };
  }

private:
  caf::result<uint32_t, std::string, caf::actor, caf::actor>
  join(uint32_t version, std::string name, caf::actor bus) {
    auto sender = self_->current_sender();
    auto node = node_of(sender);
    name = loggable(std::move(name));
    if (version != opts_.version) {
      log_->error("node refused name={} node={} reason=it speaks wire version "
                  "{} and this node speaks {}",
                  name, node, version, opts_.version);
      return make_error(errc::version_mismatch,
                        "node '" + opts_.name + "' speaks wire version " +
                          std::to_string(opts_.version) +
                          " and the joining node speaks " +
                          std::to_string(version));
    }
    if (sender) {
      joined_[sender->address()] = name;
      self_->monitor(sender);
    }
    if (bus && bus_)
      self_->send(bus_, peer_atom::value, bus);
    log_->info("node joined name={} node={}", name, node);
    return {opts_.version, opts_.name, registry_, bus_};
  }

  caf::stateful_actor<door_state>* self_;
  logger_ptr log_;
  door_options opts_;
  caf::actor registry_;
  caf::actor bus_;
  /// Link actors of the joined nodes, with their names.
  std::unordered_map<caf::actor_addr, std::string> joined_;
};

caf::behavior door_actor(caf::stateful_actor<door_state>* self,
                         door_options opts, caf::actor registry,
                         caf::actor bus) {
  return self->state.make_behavior(std::move(opts), std::move(registry),
                                   std::move(bus));
}

// -- link ---------------------------------------------------------------------

/// The endpoints one owner on this node registered.
struct owner_record {
  caf::actor owner;
  std::vector<endpoint> endpoints;
};

class link_state {
public:
  static inline const char* name = "sb.link";

  explicit link_state(caf::stateful_actor<link_state>* self)
      : self_(self)
      , log_(logger("cluster")) {
    // nop
  }

  caf::behavior make_behavior(link_options opts, caf::actor bus,
                              caf::actor connector) {
    opts_ = std::move(opts);
    bus_ = std::move(bus);
    connector_ = std::move(connector);
    backoff_ = opts_.reconnect_min;
    drop_stray_errors(self_, "cluster");
    self_->set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    connect();
    return {
      [this](register_atom, caf::actor& owner, std::vector<endpoint>& xs) {
        return add(std::move(owner), std::move(xs));
      },
      [this](withdraw_atom, const caf::actor& owner,
             const std::vector<endpoint>& xs) {
        forget(owner.address(), &xs);
        if (registry_)
          self_->send(registry_, withdraw_atom::value, owner, xs);
        return caf::ok_atom::value;
      },
      [this](withdraw_atom, const caf::actor& owner) {
        forget(owner.address(), nullptr);
        if (registry_)
          self_->send(registry_, withdraw_atom::value, owner);
        return caf::ok_atom::value;
      },
      [this](list_atom) { return list(); },
      [this](list_atom, std::string& protocol, std::string& prefix) {
        auto rp = self_->make_response_promise();
        send_to_front<std::vector<endpoint>>(
          caf::make_message(list_atom::value, std::move(protocol),
                            std::move(prefix)),
          completion{nullptr, rp});
        return rp;
      },
      [this](http_request& req) { return forward(std::move(req)); },
      [this](mcp_request& req) {
        auto rp = self_->make_response_promise();
        // The front's registry keeps the call's own time; ours ends later.
        auto timeout = opts_.request_timeout;
        if (req.timeout_ms > 0)
          timeout = std::max<decltype(timeout)>(
            timeout, std::chrono::milliseconds{req.timeout_ms});
        send_to_front<mcp_result>(caf::make_message(std::move(req)),
                                  completion{nullptr, rp}, timeout);
        return rp;
      },
      [this](http_dispatch& x) { dispatch(std::move(x)); },
      [this](nodes_atom) {
        std::vector<std::string> names;
        if (registry_)
          names.push_back(front_name_);
        return names;
      },
      [this](tick_atom, uint64_t generation) {
        if (generation == generation_ && !registry_)
          connect();
      },
    };
  }

private:
  // -- joining ----------------------------------------------------------------

  std::string where() const {
    return opts_.host + ":" + std::to_string(opts_.port);
  }

  void connect() {
    auto gen = ++generation_;
    self_
      ->request(connector_, opts_.handshake_timeout, caf::connect_atom::value,
                opts_.host, opts_.port)
      .then(
        [this, gen](caf::node_id&, caf::strong_actor_ptr& door,
                    std::set<std::string>&) {
          if (gen != generation_)
            return;
          if (!door)
            return retry("no node accepts other nodes there");
          handshake(caf::actor_cast<caf::actor>(door));
        },
        [this, gen](caf::error& err) {
          if (gen == generation_)
            retry(self_->system().render(err));
        });
  }

  void handshake(caf::actor door) {
    auto gen = generation_;
    self_
      ->request(door, opts_.handshake_timeout, join_atom::value, opts_.version,
                opts_.name, bus_)
      .then(
        [this, gen, door](uint32_t version, std::string& name,
                          caf::actor& registry, caf::actor& front_bus) {
          if (gen != generation_)
            return;
          name = loggable(std::move(name));
          if (version != opts_.version || !registry) {
            log_->error("front node refused name={} at={} reason=it speaks "
                        "wire version {} and this node speaks {}",
                        name, where(), version, opts_.version);
            return retry("wire version mismatch");
          }
          joined(door, std::move(name), std::move(registry),
                 std::move(front_bus));
        },
        [this, gen](caf::error& err) {
          if (gen != generation_)
            return;
          std::string detail;
          if (to_errc(err, detail) == errc::version_mismatch) {
            log_->error("front node refused this node at={} reason={}", where(),
                        detail);
            return retry("wire version mismatch");
          }
          retry(self_->system().render(err));
        });
  }

  /// Logs why an attempt failed, the first time for each reason, and tries
  /// again after the backoff.
  void retry(std::string reason) {
    if (reason != last_failure_) {
      log_->warn("cannot join at={} reason={} retry_in_ms={}", where(), reason,
                 backoff_.count());
      last_failure_ = std::move(reason);
    } else {
      log_->debug("cannot join at={} reason={} retry_in_ms={}", where(), reason,
                  backoff_.count());
    }
    schedule_retry();
  }

  void schedule_retry() {
    self_->delayed_send(self_, backoff_, tick_atom::value, generation_);
    backoff_ = std::min(backoff_ * 2, opts_.reconnect_max);
  }

  void joined(caf::actor door, std::string name, caf::actor registry,
              caf::actor front_bus) {
    door_ = std::move(door);
    registry_ = std::move(registry);
    front_name_ = std::move(name);
    self_->monitor(door_);
    self_->monitor(registry_);
    if (bus_ && front_bus)
      self_->send(bus_, peer_atom::value, front_bus);
    backoff_ = opts_.reconnect_min;
    last_failure_.clear();
    size_t count = 0;
    for (auto& kvp : records_)
      count += kvp.second.endpoints.size();
    log_->info("joined front node name={} at={} endpoints={}", front_name_,
               where(), count);
    // Register again what this node registered before: with a restarted
    // front node, or with the first one when the modules came up first.
    for (auto& kvp : records_) {
      auto& rec = kvp.second;
      auto owner = rec.owner;
      self_
        ->request(registry_, opts_.handshake_timeout, register_atom::value,
                  owner, rec.endpoints)
        .then([](caf::ok_atom) {},
              [this, owner](caf::error& err) { refused(owner, err); });
    }
  }

  /// A registration made on joining was refused. Refused endpoints must not
  /// come back with the next front node, where they might win a race
  /// against their rightful owner: the link forgets them and stops their
  /// owner, as a local module whose endpoints clash fails to start. The
  /// supervisor restarts it, and it is refused again, until it gives up.
  void refused(const caf::actor& owner, const caf::error& err) {
    std::string detail;
    auto code = to_errc(err, detail);
    if (code != errc::conflict && code != errc::invalid_endpoint) {
      // The front node is gone again; joining again registers anew.
      log_->warn("registration not confirmed by the front node: {}",
                 self_->system().render(err));
      return;
    }
    log_->error("registration refused by the front node, stopping its owner: "
                "{}",
                self_->system().render(err));
    records_.erase(owner.address());
    self_->send_exit(owner, make_error(code, detail));
  }

  void on_down(const caf::down_msg& msg) {
    if (msg.source == door_.address() || msg.source == registry_.address()) {
      if (!registry_)
        return;
      log_->warn("lost front node name={} at={} reason={}", front_name_,
                 where(), self_->system().render(msg.reason));
      door_ = nullptr;
      registry_ = nullptr;
      fail_waiting();
      backoff_ = opts_.reconnect_min;
      last_failure_.clear();
      ++generation_;
      schedule_retry();
      return;
    }
    records_.erase(msg.source);
  }

  // -- registrations ----------------------------------------------------------

  caf::response_promise add(caf::actor owner, std::vector<endpoint> xs) {
    auto rp = self_->make_response_promise();
    if (!owner) {
      rp.deliver(
        make_error(errc::invalid_endpoint, "registration without owner"));
      return rp;
    }
    // Remember first: should the front node go away while it answers, the
    // registration is made again once this node joins again. A refusal
    // restores what was remembered before.
    std::optional<std::vector<endpoint>> before;
    if (auto i = records_.find(owner.address()); i != records_.end())
      before = i->second.endpoints;
    remember(owner, xs);
    if (!registry_) {
      log_->debug("registration waits for the front node endpoints={}",
                  xs.size());
      rp.deliver(caf::ok_atom::value);
      return rp;
    }
    self_
      ->request(registry_, opts_.handshake_timeout, register_atom::value, owner,
                xs)
      .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
            [this, rp, owner, before](caf::error& err) mutable {
              std::string detail;
              auto code = to_errc(err, detail);
              if (code == errc::conflict || code == errc::invalid_endpoint) {
                if (auto i = records_.find(owner.address());
                    i != records_.end()) {
                  if (before)
                    i->second.endpoints = std::move(*before);
                  else
                    i->second.endpoints.clear();
                }
                rp.deliver(err);
                return;
              }
              // The front node is unreachable; the registration waits.
              rp.deliver(caf::ok_atom::value);
            });
    return rp;
  }

  void remember(const caf::actor& owner, const std::vector<endpoint>& xs) {
    auto [i, added] = records_.try_emplace(owner.address());
    auto& rec = i->second;
    if (added) {
      rec.owner = owner;
      self_->monitor(owner);
    }
    for (auto& x : xs) {
      auto j =
        std::find_if(rec.endpoints.begin(), rec.endpoints.end(),
                     [&](const endpoint& y) { return same_route(x, y); });
      if (j != rec.endpoints.end())
        *j = x;
      else
        rec.endpoints.push_back(x);
    }
  }

  void forget(const caf::actor_addr& owner, const std::vector<endpoint>* xs) {
    auto i = records_.find(owner);
    if (i == records_.end())
      return;
    auto& eps = i->second.endpoints;
    if (xs == nullptr) {
      eps.clear();
    } else {
      eps.erase(std::remove_if(eps.begin(), eps.end(),
                               [&](const endpoint& x) {
                                 return std::any_of(xs->begin(), xs->end(),
                                                    [&](const endpoint& y) {
                                                      return same_route(x, y);
                                                    });
                               }),
                eps.end());
    }
  }

  caf::response_promise list() {
    auto rp = self_->make_response_promise();
    if (registry_) {
      self_->request(registry_, opts_.handshake_timeout, list_atom::value)
        .then(
          [rp](std::vector<endpoint>& xs) mutable {
            rp.deliver(std::move(xs));
          },
          [this, rp](caf::error&) mutable { rp.deliver(local_endpoints()); });
      return rp;
    }
    rp.deliver(local_endpoints());
    return rp;
  }

  /// What this node's modules registered, sorted like the registry's list.
  std::vector<endpoint> local_endpoints() const {
    std::vector<endpoint> result;
    for (auto& kvp : records_)
      result.insert(result.end(), kvp.second.endpoints.begin(),
                    kvp.second.endpoints.end());
    sort_for_listing(result);
    return result;
  }

  // -- requests from protocol handlers on this node ---------------------------

  static constexpr const char* lost_front =
    "this node has not joined its front node; try again later";

  caf::response_promise forward(http_request req) {
    auto rp = self_->make_response_promise();
    send_to_front<http_response>(caf::make_message(std::move(req)),
                                 completion{nullptr, rp});
    return rp;
  }

  void dispatch(http_dispatch x) {
    send_to_front<http_response>(caf::make_message(std::move(x.request)),
                                 completion{std::move(x.sink), {}});
  }

  /// Sends a request of this node's actors to the front node's registry.
  /// Until the answer comes it waits in `waiting_`, so that a lost front
  /// node fails it at once rather than at its timeout.
  template <class Response>
  void send_to_front(caf::message msg, completion w,
                     std::chrono::milliseconds timeout = {}) {
    if (!registry_)
      return w.fail(errc::unavailable, lost_front);
    if (timeout.count() == 0)
      timeout = opts_.request_timeout;
    auto seq = next_seq_++;
    waiting_.emplace(seq, std::move(w));
    self_->request(registry_, timeout, std::move(msg))
      .then(
        [this, seq](Response& res) {
          if (auto i = waiting_.find(seq); i != waiting_.end()) {
            i->second.succeed(std::move(res));
            waiting_.erase(i);
          }
        },
        [this, seq](caf::error& err) {
          if (auto i = waiting_.find(seq); i != waiting_.end()) {
            std::string detail;
            auto code = to_errc(err, detail);
            i->second.fail(code, std::move(detail));
            waiting_.erase(i);
          }
        });
  }

  void fail_waiting() {
    auto xs = std::move(waiting_);
    waiting_.clear();
    for (auto& kvp : xs)
      kvp.second.fail(errc::unavailable,
                      "this node lost its front node while the request "
                      "waited; try again");
  }

  caf::stateful_actor<link_state>* self_;
  logger_ptr log_;
  link_options opts_;
  caf::actor bus_;
  caf::actor connector_;
  /// Valid while joined.
  caf::actor door_;
  caf::actor registry_;
  std::string front_name_;
  /// Tells answers and timer ticks of earlier attempts from current ones.
  uint64_t generation_ = 0;
  std::chrono::milliseconds backoff_;
  std::string last_failure_;
  std::unordered_map<caf::actor_addr, owner_record> records_;
  std::unordered_map<uint64_t, completion> waiting_;
  uint64_t next_seq_ = 1;
};

caf::behavior link_actor(caf::stateful_actor<link_state>* self,
                         link_options opts, caf::actor bus,
                         caf::actor connector) {
  return self->state.make_behavior(std::move(opts), std::move(bus),
                                   std::move(connector));
}

} // namespace

caf::actor spawn_door(caf::actor_system& sys, door_options opts,
                      caf::actor registry, caf::actor bus) {
  return sys.spawn(door_actor, std::move(opts), std::move(registry),
                   std::move(bus));
}

caf::actor spawn_link(caf::actor_system& sys, link_options opts, caf::actor bus,
                      caf::actor connector) {
  return sys.spawn(link_actor, std::move(opts), std::move(bus),
                   std::move(connector));
}

} // namespace sb
