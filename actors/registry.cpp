#include "actors/registry.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/completion.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/route_trie.hpp"

namespace sb {

namespace {

using clock_type = caf::actor_clock::clock_type;
using time_point = caf::actor_clock::time_point;

/// One registered endpoint.
struct entry {
  endpoint spec;
  path_pattern pattern;
  std::vector<std::string> param_names;
  caf::actor owner;
};

/// One request that waits for its owner.
struct pending_request {
  completion done;
  caf::actor_addr owner;
  /// Response ID of our request to the owner, for cancelling its handler.
  caf::message_id mid;
  std::multimap<time_point, uint64_t>::iterator deadline;
};

/// What the registry tracks per owner. Its waiting requests are found by a
/// scan of all pending requests when it goes down: that is rare, while
/// keeping a per-owner index would cost every request.
struct owner_record {
  std::vector<uint64_t> endpoints;
};

bool valid_token(const std::string& str, size_t max_len, bool upper) {
  if (str.empty() || str.size() > max_len)
    return false;
  return std::all_of(str.begin(), str.end(), [&](char c) {
    return upper ? ((c >= 'A' && c <= 'Z') || c == '-' || c == '_')
                 : ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_');
  });
}

/// Whether `str` has 1 to `max_len` visible ASCII characters or spaces: the
/// fields that end up in logs and listings.
bool printable(const std::string& str, size_t max_len) {
  return !str.empty() && str.size() <= max_len &&
         std::all_of(str.begin(), str.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string describe(const endpoint& x) {
  return x.method + " " + x.pattern + " (module '" + x.module + "')";
}

/// Size of an endpoint's `detail` at most.
constexpr size_t max_detail_bytes = 64 * 1024;

/// Longest time an MCP call may ask for.
constexpr auto max_call_timeout = std::chrono::minutes{10};

/// Time the auth service has to judge a token.
constexpr auto auth_timeout = std::chrono::seconds{5};

/// Bytes of a streamed response that a promise collects at most.
constexpr size_t max_collected_bytes = 16 * 1024 * 1024;

/// Key of an endpoint that is looked up by name rather than by path: the
/// order of the keys is the listing order (pattern, then method).
std::string key_of(const std::string& protocol, const std::string& pattern,
                   const std::string& method) {
  std::string result;
  result.reserve(protocol.size() + pattern.size() + method.size() + 2);
  result += protocol;
  result += '\0';
  result += pattern;
  result += '\0';
  result += method;
  return result;
}

bool is_kind(const std::string& x) {
  return x == "TOOL" || x == "RESOURCE" || x == "TEMPLATE" || x == "PROMPT";
}

/// Checks an MCP entry: the kind is its method, its pattern is
/// `<context>/<name>`. Returns an error message or an empty string.
std::string check_mcp(const endpoint& x) {
  if (!is_kind(x.method))
    return "invalid MCP kind '" + x.method +
           "': TOOL, RESOURCE, TEMPLATE or PROMPT";
  auto slash = x.pattern.find('/');
  if (slash == std::string::npos || slash == 0 || slash > 64 ||
      !valid_token(x.pattern.substr(0, slash), 64, false))
    return "invalid MCP entry '" + x.pattern +
           "': a context of 1 to 64 characters a-z, 0-9, '-' or '_', then "
           "'/' and a name";
  auto name = x.pattern.substr(slash + 1);
  if (x.method == "TOOL") {
    // The characters that the MCP specification allows in tool names.
    auto ok = !name.empty() && name.size() <= 128 &&
              std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                       c == '.';
              });
    if (!ok)
      return "invalid tool name '" + name +
             "': 1 to 128 characters A-Z, a-z, 0-9, '_', '-' or '.'";
  } else if (!printable(name, 2048)) {
    return "invalid MCP entry name: 1 to 2048 visible characters";
  }
  return {};
}

/// Collects a streamed response for an actor that asked with a response
/// promise. The promise belongs to the registry, so the outcome goes back to
/// the registry as a message rather than being delivered from the owner's
/// thread.
class collecting_sink final : public reply_sink {
public:
  collecting_sink(caf::actor registry, uint64_t seq)
      : registry_(std::move(registry))
      , seq_(seq) {
    // nop
  }

  ~collecting_sink() override {
    if (done_)
      return;
    if (started_) {
      finish();
      return;
    }
    dispatch_result result;
    result.code = errc::owner_down;
    result.message = "the owner of this endpoint dropped the request";
    send(std::move(result));
  }

  void deliver(dispatch_result result) override {
    if (started_ || done_)
      return;
    send(std::move(result));
  }

  bool start_stream(http_response head) override {
    if (started_ || done_)
      return false;
    started_ = true;
    head_ = std::move(head);
    return true;
  }

  bool write(std::string data) override {
    if (!started_ || done_)
      return false;
    if (head_.body.size() + data.size() > max_collected_bytes) {
      dispatch_result result;
      result.code = errc::internal;
      result.message = "the streamed response is too large to pass on";
      send(std::move(result));
      return false;
    }
    head_.body += data;
    return true;
  }

  void end_stream() override {
    if (started_ && !done_)
      finish();
  }

private:
  void finish() {
    dispatch_result result;
    result.response = std::move(head_);
    send(std::move(result));
  }

  void send(dispatch_result&& result) {
    done_ = true;
    caf::anon_send(registry_, collected{seq_, std::move(result)});
  }

  // The owner calls a sink from its own thread only, one call at a time.
  caf::actor registry_;
  uint64_t seq_;
  http_response head_;
  bool started_ = false;
  bool done_ = false;
};

class registry_state {
public:
  static inline const char* name = "sb.registry";

  explicit registry_state(caf::stateful_actor<registry_state>* self)
      : self_(self)
      , log_(logger("registry")) {
    // nop
  }

  caf::behavior make_behavior(registry_options opts, caf::actor bus) {
    opts_ = opts;
    bus_ = std::move(bus);
    drop_stray_errors(self_, "registry");
    self_->set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    return {
      [this](register_atom, caf::actor& owner,
             std::vector<endpoint>& xs) -> caf::result<caf::ok_atom> {
        if (auto err = add(owner, xs))
          return err;
        return caf::ok_atom::value;
      },
      [this](withdraw_atom, const caf::actor& owner,
             const std::vector<endpoint>& xs) {
        withdraw(owner.address(), &xs);
        return caf::ok_atom::value;
      },
      [this](withdraw_atom, const caf::actor& owner) {
        withdraw(owner.address(), nullptr);
        return caf::ok_atom::value;
      },
      [this](auth_service_atom,
             caf::actor& service) -> caf::result<caf::ok_atom> {
        return set_auth_service(std::move(service));
      },
      [this](auth_service_atom) { return auth_; },
      [this](mcp_access& x) {
        auto rp = self_->make_response_promise<auth_verdict>();
        check_mcp_access(std::move(x), rp);
        return rp;
      },
      [this](list_atom) { return list(); },
      [this](list_atom, const std::string& protocol,
             const std::string& prefix) { return list(protocol, prefix); },
      [this](status_atom) {
        // Every table that grows with requests is in step with `pending_`.
        return caf::make_message(static_cast<uint64_t>(entries_.size()),
                                 static_cast<uint64_t>(owners_.size()),
                                 static_cast<uint64_t>(pending_.size()));
      },
      [this](http_request& req) {
        auto rp = self_->make_response_promise();
        dispatch(std::move(req), completion{nullptr, rp});
        return rp;
      },
      [this](http_dispatch& x) {
        dispatch(std::move(x.request), completion{std::move(x.sink), {}});
      },
      [this](mcp_request& req) {
        auto rp = self_->make_response_promise();
        dispatch(std::move(req), completion{nullptr, rp});
        return rp;
      },
      [this](collected& x) {
        auto i = collecting_.find(x.seq);
        if (i == collecting_.end())
          return;
        auto rp = std::move(i->second);
        collecting_.erase(i);
        if (x.result.code == errc::none)
          rp.deliver(std::move(x.result.response));
        else
          rp.deliver(make_error(x.result.code, std::move(x.result.message)));
      },
      [this](tick_atom) {
        timer_armed_ = false;
        expire();
      },
    };
  }

private:
  // -- registration -----------------------------------------------------------

  caf::error add(caf::actor& owner, std::vector<endpoint>& xs) {
    if (!owner)
      return make_error(errc::invalid_endpoint, "registration without owner");
    // An owner lives on the node that registers it: another node must not
    // hand out actors of this one (the registry or the bus, say), which
    // would never go down with it.
    if (auto sender = self_->current_sender();
        sender && sender->node() != owner.node())
      return make_error(errc::invalid_endpoint,
                        "an endpoint owner must live on the node that "
                        "registers it");
    // Requests to the registry itself would come back to it without end.
    if (owner == caf::actor_cast<caf::actor>(self_))
      return make_error(errc::invalid_endpoint,
                        "the registry cannot own endpoints");
    // A full table is a passing condition, not a fault of the endpoints.
    if (entries_.size() + xs.size() > opts_.max_endpoints)
      return make_error(errc::overloaded,
                        "too many endpoints (limit " +
                          std::to_string(opts_.max_endpoints) + ")");
    // Validate everything before touching the tables.
    std::vector<entry> fresh;
    fresh.reserve(xs.size());
    for (auto& x : xs) {
      if (!valid_token(x.protocol, 16, false))
        return make_error(errc::invalid_endpoint,
                          "invalid protocol '" + x.protocol + "'");
      if (!valid_token(x.method, 16, true))
        return make_error(errc::invalid_endpoint,
                          "invalid method '" + x.method + "'");
      if (!printable(x.pattern, 4096))
        return make_error(errc::invalid_endpoint,
                          "invalid pattern: visible characters only");
      if (x.protocol == "mcp")
        if (auto msg = check_mcp(x); !msg.empty())
          return make_error(errc::invalid_endpoint, std::move(msg));
      if (x.detail.size() > max_detail_bytes)
        return make_error(errc::invalid_endpoint,
                          "endpoint detail too large: up to " +
                            std::to_string(max_detail_bytes) + " bytes");
      if (x.streaming && x.protocol != "http")
        return make_error(errc::invalid_endpoint,
                          "only HTTP endpoints can stream");
      // A stream needs the reply sink, which never leaves this process.
      if (x.streaming && owner.node() != self_->node())
        return make_error(errc::invalid_endpoint,
                          "the owner of a streaming endpoint must live on "
                          "the node of the registry");
      if (!printable(x.module, 128))
        return make_error(errc::invalid_endpoint,
                          "invalid module name: 1 to 128 visible characters");
      if (x.handler.size() > 256 || x.pattern.size() > 4096 ||
          x.scopes.size() > 64 ||
          std::any_of(x.scopes.begin(), x.scopes.end(),
                      [](const std::string& y) { return !printable(y, 128); }))
        return make_error(errc::invalid_endpoint,
                          "endpoint too large: handler up to 256 bytes, "
                          "pattern up to 4096, up to 64 scopes of 128");
      if (x.auth != auth_requirement::none &&
          x.auth != auth_requirement::required)
        return make_error(errc::invalid_endpoint,
                          "invalid auth requirement " +
                            std::to_string(static_cast<int>(x.auth)));
      entry e;
      if (x.protocol == "http") {
        if (auto msg = parse_pattern(x.pattern, e.pattern); !msg.empty())
          return make_error(errc::invalid_endpoint, msg);
        e.param_names = e.pattern.param_names();
      }
      e.spec = std::move(x);
      e.owner = owner;
      fresh.push_back(std::move(e));
    }
    // Insert one by one; on a clash undo what this call inserted. Endpoints
    // the owner registers again change only once the whole batch is in.
    std::vector<uint64_t> added;
    std::vector<std::pair<uint64_t, endpoint>> updates;
    auto& rec = owners_[owner.address()];
    for (auto& e : fresh) {
      auto id = next_endpoint_id_++;
      if (auto other = insert(e, id)) {
        auto& prev = entries_[other];
        if (prev.owner == owner && prev.spec.pattern == e.spec.pattern) {
          // Registering the same endpoint again updates it in place.
          updates.emplace_back(other, std::move(e.spec));
          continue;
        }
        auto msg = describe(e.spec) + " clashes with " + describe(prev.spec);
        for (auto x : added)
          remove_entry(x);
        // This call appended `added` to the owner's list; take them off.
        rec.endpoints.resize(rec.endpoints.size() - added.size());
        if (rec.endpoints.empty())
          owners_.erase(owner.address());
        log_->info("registration refused: {}", msg);
        return make_error(errc::conflict, std::move(msg));
      }
      added.push_back(id);
      rec.endpoints.push_back(id);
      touch(e.spec);
      entries_.emplace(id, std::move(e));
    }
    for (auto& [id, spec] : updates) {
      touch(spec);
      entries_[id].spec = std::move(spec);
    }
    if (!monitored_.count(owner.address())) {
      self_->monitor(owner);
      monitored_.insert(owner.address());
    }
    log_->debug("registered endpoints={} total={}", added.size(),
                entries_.size());
    publish_routes();
    return {};
  }

  void withdraw(const caf::actor_addr& owner, const std::vector<endpoint>* xs) {
    auto i = owners_.find(owner);
    if (i == owners_.end())
      return;
    auto& ids = i->second.endpoints;
    auto selected = [&](uint64_t id) {
      if (xs == nullptr)
        return true;
      auto& spec = entries_[id].spec;
      return std::any_of(xs->begin(), xs->end(), [&](const endpoint& x) {
        return same_route(x, spec);
      });
    };
    auto keep = std::stable_partition(
      ids.begin(), ids.end(), [&](uint64_t id) { return !selected(id); });
    for (auto j = keep; j != ids.end(); ++j)
      remove_entry(*j);
    ids.erase(keep, ids.end());
    publish_routes();
  }

  /// Adds `e` to the lookup tables under `id`. Returns the ID of the
  /// endpoint that holds the same place already, or 0.
  uint64_t insert(const entry& e, uint64_t id) {
    if (e.spec.protocol == "http")
      return http_.insert(e.pattern, e.spec.method, id);
    auto [i, added] = keyed_.emplace(
      key_of(e.spec.protocol, e.spec.pattern, e.spec.method), id);
    return added ? 0 : i->second;
  }

  void remove_entry(uint64_t id) {
    auto i = entries_.find(id);
    if (i == entries_.end())
      return;
    auto& e = i->second;
    if (e.spec.protocol == "http") {
      http_.erase(e.pattern, e.spec.method, id);
    } else {
      auto j =
        keyed_.find(key_of(e.spec.protocol, e.spec.pattern, e.spec.method));
      if (j != keyed_.end() && j->second == id)
        keyed_.erase(j);
    }
    touch(e.spec);
    entries_.erase(i);
  }

  /// Remembers that the entries of an MCP context changed.
  void touch(const endpoint& x) {
    if (x.protocol == "mcp")
      touched_.emplace(x.pattern.substr(0, x.pattern.find('/')), x.method);
  }

  std::vector<endpoint> list() const {
    std::vector<endpoint> result;
    result.reserve(entries_.size());
    for (auto& kvp : entries_)
      result.push_back(kvp.second.spec);
    sort_for_listing(result);
    return result;
  }

  std::vector<endpoint> list(const std::string& protocol,
                             const std::string& prefix) const {
    std::vector<endpoint> result;
    auto starts = [&](const std::string& x, const std::string& y) {
      return x.compare(0, y.size(), y) == 0;
    };
    if (protocol == "http") {
      for (auto& kvp : entries_)
        if (kvp.second.spec.protocol == protocol &&
            starts(kvp.second.spec.pattern, prefix))
          result.push_back(kvp.second.spec);
      sort_for_listing(result);
      return result;
    }
    // Keys sort by protocol, pattern and method: the listing order.
    auto first = protocol + '\0' + prefix;
    for (auto i = keyed_.lower_bound(first);
         i != keyed_.end() && starts(i->first, first); ++i)
      result.push_back(entries_.at(i->second).spec);
    return result;
  }

  void publish_routes() {
    if (!bus_) {
      touched_.clear();
      return;
    }
    self_->send(bus_, publish_atom::value, std::string{"routes"},
                caf::make_message(routes_changed{entries_.size()}));
    for (auto& [context, kind] : touched_)
      self_->send(bus_, publish_atom::value, std::string{"mcp"},
                  caf::make_message(mcp_changed{context, kind}));
    touched_.clear();
  }

  // -- dispatching ------------------------------------------------------------

  void dispatch(http_request&& req, completion&& done) {
    if (!admitted(done))
      return;
    auto match = http_.lookup(req.method, req.path);
    switch (match.status) {
    case lookup_status::no_route:
      return done.fail(errc::no_route, "no endpoint matches this path");
    case lookup_status::method_not_allowed:
      return done.fail(errc::method_not_allowed,
                       "method " + req.method +
                         " is not allowed here; allowed: " + match.allow,
                       match.allow);
    case lookup_status::found:
      break;
    }
    auto& e = entries_[match.id];
    req.handler = e.spec.handler;
    req.params.clear();
    for (size_t i = 0; i < e.param_names.size(); ++i)
      req.params.emplace_back(e.param_names[i], std::move(match.values[i]));
    req.who = principal{};
    if (e.spec.auth == auth_requirement::none)
      return deliver(e.owner, e.spec.streaming, std::move(req),
                     std::move(done));
    // The token decides, by the word of the auth service. Two tokens leave
    // open which one counts.
    auth_check check;
    if (std::count_if(
          req.headers.begin(), req.headers.end(),
          [](const field& x) { return x.first == "authorization"; }) > 1)
      return done.fail(errc::bad_request,
                       "more than one Authorization header field");
    if (auto value = find_field(req.headers, "authorization"))
      check.token = bearer_token(*value);
    check.resource = "/";
    check.scopes = e.spec.scopes;
    ask_auth(
      std::move(check),
      [this, owner = e.owner, streaming = e.spec.streaming,
       req = std::move(req), done = std::move(done)](auth_verdict& v) mutable {
        if (v.status != 200)
          return done.succeed(refusal(v));
        req.who = std::move(v.who);
        deliver(owner, streaming, std::move(req), std::move(done));
      },
      [done](caf::error& err) mutable {
        std::string detail;
        to_errc(err, detail);
        done.fail(errc::auth_unavailable,
                  "this endpoint requires a token and the auth "
                  "service did not answer: " +
                    detail);
      });
  }

  /// Sends `req` on to `owner`, the owner of its endpoint.
  void deliver(const caf::actor& owner, bool streaming, http_request&& req,
               completion&& done) {
    if (streaming) {
      // The owner answers through the sink and keeps its own time.
      auto sink = std::move(done.sink);
      if (!sink) {
        auto seq = next_seq_++;
        collecting_.emplace(seq, std::move(done.promise));
        sink = std::make_shared<collecting_sink>(
          caf::actor_cast<caf::actor>(self_), seq);
      }
      self_->send(owner, http_dispatch{std::move(req), std::move(sink)});
      return;
    }
    forward<http_response>(owner, std::move(req), std::move(done),
                           opts_.request_timeout);
  }

  void dispatch(mcp_request&& req, completion&& done) {
    if (!admitted(done))
      return;
    auto i = keyed_.find(key_of("mcp", req.context + "/" + req.name, req.kind));
    if (i == keyed_.end())
      return done.fail(errc::no_route, "no entry '" + req.name + "' of kind " +
                                         req.kind + " in context '" +
                                         req.context + "'");
    auto& e = entries_[i->second];
    if (!authorized(e, req, done))
      return;
    req.handler = e.spec.handler;
    auto timeout = opts_.request_timeout;
    if (req.timeout_ms > 0)
      timeout = std::min<decltype(timeout)>(
        std::chrono::milliseconds{req.timeout_ms}, max_call_timeout);
    forward<mcp_result>(e.owner, std::move(req), std::move(done), timeout);
  }

  /// Whether a request may wait for an owner; answers `overloaded` if not.
  bool admitted(completion& done) {
    if (pending_.size() < opts_.max_pending || drop_abandoned())
      return true;
    done.fail(errc::overloaded,
              "too many requests are waiting; try again later");
    return false;
  }

  /// Whether the caller of MCP entry `e` may reach its owner: the MCP
  /// handler has had the client's token checked for the context, and the
  /// principal it found must hold the scopes of the context and the entry.
  /// Answers `unauthorized` or `forbidden` if not.
  bool authorized(const entry& e, const mcp_request& req, completion& done) {
    if (e.spec.auth == auth_requirement::none)
      return true;
    if (req.who.subject.empty()) {
      done.fail(errc::unauthorized,
                "this entry requires a token, and the request has none");
      return false;
    }
    auto held = [&](const std::string& scope) {
      return std::find(req.who.scopes.begin(), req.who.scopes.end(), scope) !=
             req.who.scopes.end();
    };
    std::string missing;
    auto check = [&](const std::string& scope) {
      if (!held(scope))
        missing += (missing.empty() ? "" : " ") + scope;
    };
    check(mcp_scope(req.context));
    for (auto& scope : e.spec.scopes)
      check(scope);
    if (missing.empty())
      return true;
    done.fail(errc::forbidden, "the token lacks the scope " + missing);
    return false;
  }

  // -- the auth service -------------------------------------------------------

  caf::result<caf::ok_atom> set_auth_service(caf::actor service) {
    if (!service)
      return make_error(errc::invalid_endpoint,
                        "an auth service without actor");
    if (auth_ && auth_ != service)
      return make_error(errc::conflict,
                        "another auth service runs on this node already");
    if (!auth_) {
      auth_ = std::move(service);
      if (monitored_.insert(auth_.address()).second)
        self_->monitor(auth_);
      log_->info("auth service registered");
    }
    return caf::ok_atom::value;
  }

  /// Asks the auth service about `check`; without one, `on_error` gets
  /// `auth_unavailable` at once: protected endpoints stay closed.
  template <class OnVerdict, class OnError>
  void ask_auth(auth_check check, OnVerdict on_verdict, OnError on_error) {
    if (!auth_) {
      auto err =
        make_error(errc::auth_unavailable, "no auth service runs on this node");
      return on_error(err);
    }
    self_->request(auth_, auth_timeout, std::move(check))
      .then(std::move(on_verdict), std::move(on_error));
  }

  /// The answer to a request that the auth service refused.
  static http_response refusal(const auth_verdict& v) {
    http_response res;
    res.status = v.status == 403 ? 403 : 401;
    if (!v.challenge.empty())
      res.headers.emplace_back("WWW-Authenticate", v.challenge);
    res.body =
      error_body(res.status == 403 ? "insufficient_scope" : "unauthorized",
                 v.message.empty() ? std::string{"a valid token is "
                                                 "required"}
                                   : v.message);
    return res;
  }

  /// Whether any entry of MCP context `context` requires a token.
  bool context_protected(const std::string& context) const {
    auto first = std::string{"mcp"} + '\0' + context + '/';
    for (auto i = keyed_.lower_bound(first);
         i != keyed_.end() && i->first.compare(0, first.size(), first) == 0;
         ++i)
      if (entries_.at(i->second).spec.auth == auth_requirement::required)
        return true;
    return false;
  }

  void check_mcp_access(mcp_access x,
                        caf::typed_response_promise<auth_verdict> rp) {
    if (!context_protected(x.context)) {
      auth_verdict open;
      open.status = 200;
      rp.deliver(std::move(open));
      return;
    }
    auth_check check;
    check.token = bearer_token(x.authorization);
    check.resource = std::move(x.resource);
    check.scopes.push_back(mcp_scope(x.context));
    ask_auth(
      std::move(check), [rp](auth_verdict& v) mutable { rp.deliver(v); },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  }

  /// Sends `req` to `owner` and answers `done` with the owner's answer, or
  /// with an error when the owner goes down or `timeout` passes. Our own
  /// deadline replaces a per-request timer: one timer serves all requests.
  template <class Response, class Request>
  void forward(const caf::actor& owner, Request&& req, completion&& done,
               caf::timespan timeout) {
    auto seq = next_seq_++;
    auto h = self_->request(owner, caf::infinite, std::forward<Request>(req));
    auto deadline = deadlines_.emplace(self_->clock().now() + timeout, seq);
    pending_.emplace(
      seq, pending_request{std::move(done), owner.address(), h.id(), deadline});
    h.then(
      [this, seq](Response& res) {
        if (auto p = take(seq))
          p->done.succeed(std::move(res));
      },
      [this, seq](caf::error& err) {
        if (auto p = take(seq)) {
          std::string detail;
          auto code = to_errc(err, detail);
          p->done.fail(code, std::move(detail));
        }
      });
    arm_timer();
  }

  /// Removes a pending request from every table; empty if it is gone.
  std::optional<pending_request> take(uint64_t seq) {
    auto i = pending_.find(seq);
    if (i == pending_.end())
      return std::nullopt;
    auto result = std::move(i->second);
    pending_.erase(i);
    deadlines_.erase(result.deadline);
    return result;
  }

  /// Frees the slots of requests whose client went away. Runs only when the
  /// table is full, and at most every 100 ms while it finds nothing, so that
  /// a node under honest load does not scan on every request. Returns
  /// whether a slot is free now.
  bool drop_abandoned() {
    auto now = self_->clock().now();
    if (now < next_abandoned_scan_)
      return false;
    std::vector<uint64_t> gone;
    for (auto& [seq, p] : pending_)
      if (p.done.sink && p.done.sink->abandoned())
        gone.push_back(seq);
    for (auto seq : gone)
      abort(seq, errc::overloaded,
            "dropped: too many requests wait and the client closed its "
            "side of the connection");
    if (gone.empty())
      next_abandoned_scan_ = now + std::chrono::milliseconds{100};
    else
      log_->debug("dropped requests of gone clients count={}", gone.size());
    return pending_.size() < opts_.max_pending;
  }

  /// Answers a pending request with an error of ours and drops CAF's handler
  /// for the response that will never come.
  void abort(uint64_t seq, errc code, const char* message) {
    auto p = take(seq);
    if (!p)
      return;
    p->done.fail(code, message);
    // A request with an infinite timeout keeps its response handler until a
    // response arrives; hand it one so that the handler goes away.
    self_->eq_impl(p->mid, nullptr, self_->context(), make_error(code));
  }

  /// Makes sure a tick comes no later than the first deadline. Requests have
  /// timeouts of their own, so a new one may end before the armed tick.
  void arm_timer() {
    if (deadlines_.empty())
      return;
    auto first = deadlines_.begin()->first;
    if (timer_armed_ && armed_for_ <= first)
      return;
    auto delay = first - self_->clock().now();
    if (delay < clock_type::duration::zero())
      delay = clock_type::duration::zero();
    timer_armed_ = true;
    armed_for_ = first;
    self_->delayed_send(self_, delay, tick_atom::value);
  }

  void expire() {
    auto now = self_->clock().now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now)
      abort(deadlines_.begin()->second, errc::timeout,
            "the owner of this endpoint did not answer in time");
    arm_timer();
  }

  // -- owners going down ------------------------------------------------------

  void on_down(const caf::down_msg& msg) {
    monitored_.erase(msg.source);
    if (auth_ && msg.source == auth_.address()) {
      auth_ = nullptr;
      log_->warn("auth service down: protected endpoints are closed until "
                 "one registers again");
    }
    owner_record rec;
    if (auto i = owners_.find(msg.source); i != owners_.end()) {
      rec = std::move(i->second);
      owners_.erase(i);
    }
    for (auto id : rec.endpoints)
      remove_entry(id);
    // Requests may wait on an owner that has withdrawn all its endpoints.
    std::vector<uint64_t> waiting;
    for (auto& [seq, p] : pending_)
      if (p.owner == msg.source)
        waiting.push_back(seq);
    for (auto seq : waiting)
      abort(seq, errc::owner_down, "the owner of this endpoint is down");
    log_->info("owner down endpoints={} failed_requests={}",
               rec.endpoints.size(), waiting.size());
    if (!rec.endpoints.empty())
      publish_routes();
  }

  caf::stateful_actor<registry_state>* self_;
  registry_options opts_;
  caf::actor bus_;
  /// The auth service, if one registered.
  caf::actor auth_;
  logger_ptr log_;
  /// HTTP endpoints by path.
  route_trie http_;
  /// Endpoints of every other protocol by `key_of`.
  std::map<std::string, uint64_t> keyed_;
  /// MCP contexts and kinds whose entries changed since the last event.
  std::set<std::pair<std::string, std::string>> touched_;
  /// Promises waiting for a streamed response to be collected.
  std::unordered_map<uint64_t, caf::response_promise> collecting_;
  std::unordered_map<uint64_t, entry> entries_;
  std::unordered_map<caf::actor_addr, owner_record> owners_;
  std::unordered_set<caf::actor_addr> monitored_;
  std::unordered_map<uint64_t, pending_request> pending_;
  std::multimap<time_point, uint64_t> deadlines_;
  uint64_t next_endpoint_id_ = 1;
  uint64_t next_seq_ = 1;
  bool timer_armed_ = false;
  time_point armed_for_;
  time_point next_abandoned_scan_;
};

caf::behavior registry_actor(caf::stateful_actor<registry_state>* self,
                             registry_options opts, caf::actor bus) {
  return self->state.make_behavior(opts, std::move(bus));
}

} // namespace

caf::actor spawn_registry(caf::actor_system& sys, registry_options opts,
                          caf::actor bus) {
  return sys.spawn(registry_actor, opts, std::move(bus));
}

} // namespace sb
