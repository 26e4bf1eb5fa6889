#include "protocols/mcp/handler.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "caf/actor_clock.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/ascii.hpp"
#include "actors/atoms.hpp"
#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/registry.hpp"
#include "modules/common/json_text.hpp"
#include "modules/common/uri_template.hpp"
#include "protocols/mcp/schema.hpp"
#include "protocols/mcp/settings.hpp"
#include "protocols/mcp/wire.hpp"

namespace sb::mcp {

namespace {

// Time comes from the actor clock, never from `steady_clock` directly: it is
// the clock of the ticks, and the one that tests move.
using time_point = caf::actor_clock::time_point;
using std::chrono::milliseconds;

/// Time the registry has to list a context.
constexpr auto list_timeout = std::chrono::seconds{5};
/// Time the registry has to say whether a request may enter a context; a
/// little more than it gives the auth service.
constexpr auto access_timeout = std::chrono::seconds{6};

/// Requests to the client of one session that may wait at once.
constexpr size_t max_asks_per_session = 16;

/// Messages of one batch at most.
constexpr size_t max_batch_messages = 100;

/// Resource subscriptions of one session at most, and the longest URI.
constexpr size_t max_subscriptions = 64;
constexpr size_t max_uri_bytes = 2048;

/// Names that error messages repeat are cut to this many bytes.
constexpr size_t max_echo_bytes = 128;

/// `x`, cut to `max_echo_bytes` at a character boundary, with "..." then.
std::string shorten(const std::string& x) {
  if (x.size() <= max_echo_bytes)
    return x;
  auto n = max_echo_bytes;
  // Do not cut a UTF-8 sequence: back up over continuation bytes.
  while (n > 0 && (static_cast<unsigned char>(x[n]) & 0xC0) == 0x80)
    --n;
  return x.substr(0, n) + "...";
}

/// Contexts whose entries the handler keeps at most.
constexpr size_t max_cached_contexts = 4096;

constexpr const char* keep_alive_comment = ": keep-alive\n\n";

/// JSON-RPC code of transport errors that the specification leaves to the
/// server, as other implementations use it.
constexpr int transport_error = -32000;
constexpr int session_not_found = -32001;

/// The version in `version_string()`, without the program's name.
std::string server_version() {
  std::string x = version_string();
  auto space = x.rfind(' ');
  return space == std::string::npos ? x : x.substr(space + 1);
}

uint64_t seed() {
  uint64_t result = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&result), sizeof(result)) !=
      1)
    result = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  return result;
}

std::string to_hex(const std::string& x) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string result;
  result.reserve(x.size() * 2);
  for (auto c : x) {
    auto b = static_cast<unsigned char>(c);
    result += hex[b >> 4];
    result += hex[b & 0xf];
  }
  return result;
}

std::string random_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return {};
  return to_hex(
    std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::optional<std::string> from_hex(const std::string& x) {
  if (x.size() % 2 != 0)
    return std::nullopt;
  auto digit = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
  };
  std::string result;
  for (size_t i = 0; i < x.size(); i += 2) {
    auto hi = digit(x[i]);
    auto lo = digit(x[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    result += static_cast<char>(hi * 16 + lo);
  }
  return result;
}

/// A cursor of a `*/list` call: the name of the last item of the previous
/// page, opaque to the client.
std::string make_cursor(const std::string& name) {
  return "c" + to_hex(name);
}

std::optional<std::string> read_cursor(const std::string& cursor) {
  if (cursor.empty() || cursor.front() != 'c')
    return std::nullopt;
  return from_hex(cursor.substr(1));
}

const char* list_changed_method(const std::string& kind) {
  if (kind == "TOOL")
    return "notifications/tools/list_changed";
  if (kind == "PROMPT")
    return "notifications/prompts/list_changed";
  return "notifications/resources/list_changed";
}

json notification(const std::string& method, json params) {
  json x = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null())
    x["params"] = std::move(params);
  return x;
}

// -- state --------------------------------------------------------------------

struct session {
  std::string id;
  std::string context;
  std::string version;
  json client_capabilities = json::object();
  /// Log messages below this level do not reach the client.
  int log_level = 0;
  time_point last_used;
  /// The stream that a GET opened, for messages outside any call.
  reply_sink_ptr stream;
  std::set<std::string> subscriptions;
  /// Whom the token of the request that started the session spoke for;
  /// empty in a context that needs no token. Only requests whose token
  /// speaks for the same subject find the session.
  std::string subject;
  /// Whom the token of the session's latest request spoke for; calls carry
  /// it to the registry.
  principal who;
  /// Requests of this session that wait for an answer.
  size_t in_flight = 0;
  size_t asks = 0;
};

/// One POST and what it waits for.
struct exchange {
  reply_sink_ptr sink;
  std::string session;
  /// Header fields of the answer: CORS and the session ID.
  field_list headers;
  accepted accept;
  bool batch = false;
  bool streaming = false;
  /// Requests (and refused messages) whose response is still to come.
  size_t outstanding = 0;
  /// Answers serialized, in the order they came.
  std::vector<std::string> responses;
  /// HTTP status of a JSON answer.
  uint16_t status = 200;
};

/// A request of a client that waits for an answer of ours.
struct pending_call {
  uint64_t exchange = 0;
  std::string session;
  json id;
  /// Progress token of the client; null when it wants no progress.
  json progress_token;
};

/// A request of ours that waits for the client's answer.
struct pending_ask {
  caf::response_promise promise;
  std::string session;
  time_point deadline;
};

/// An entry of a context as the registry listed it.
struct entry_view {
  endpoint spec;
  /// The entry's definition as the client sees it.
  json definition;
  /// Input schema of a tool; empty with `schema_error` set if it does not
  /// compile.
  std::optional<schema> input;
  std::string schema_error;
};

struct context_view {
  bool valid = false;
  bool fetching = false;
  /// Grows with each change of the context; a listing fetched before a
  /// change serves the callers waiting for it but is not kept.
  uint64_t generation = 0;
  std::map<std::string, entry_view> tools;
  std::map<std::string, entry_view> resources;
  std::map<std::string, entry_view> templates;
  std::map<std::string, entry_view> prompts;
  /// Some entry requires a token: every request to the context is checked.
  bool guarded = false;
  std::vector<std::function<void(const context_view*, const std::string&)>>
    waiting;

  bool empty() const {
    return tools.empty() && resources.empty() && templates.empty() &&
           prompts.empty();
  }
};

// -- the handler --------------------------------------------------------------

class handler_state {
public:
  static inline const char* name = "sb.mcp";

  explicit handler_state(caf::stateful_actor<handler_state>* self)
      : self_(self)
      , log_(logger("mcp")) {
    // nop
  }

  caf::behavior make_behavior(protocol_context ctx) {
    ctx_ = std::move(ctx);
    drop_stray_errors(self_, "mcp");
    return {
      [this](start_atom) { return start(); },
      [this](stop_atom) {
        stop();
        return caf::ok_atom::value;
      },
      [this](http_dispatch& x) {
        guarded(x.sink, [&] { on_http(std::move(x.request), x.sink); });
      },
      [this](mcp_notice& x) { guarded(nullptr, [&] { on_notice(x); }); },
      [this](mcp_ask& x) {
        auto rp = self_->make_response_promise();
        guarded(nullptr, [&] { on_ask(x, rp); });
        if (rp.pending() && asks_waiting_ == 0)
          rp.deliver(error_result(internal_error, "the request failed"));
        asks_waiting_ = 0;
        return rp;
      },
      [this](mcp_changed& x) { guarded(nullptr, [&] { on_changed(x); }); },
      [this](mcp_updated& x) { guarded(nullptr, [&] { on_updated(x); }); },
      [this](tick_atom) {
        guarded(nullptr, [&] { on_tick(); });
        schedule_tick();
      },
    };
  }

private:
  // -- lifecycle --------------------------------------------------------------

  caf::response_promise start() {
    auto rp = self_->make_response_promise();
    if (auto err = parse_settings(ctx_.settings, cfg_); !err.empty()) {
      rp.deliver(make_error(errc::bad_request, "settings.mcp." + err));
      return rp;
    }
    if (ctx_.joining) {
      // The front node serves /mcp; requests to it on this node's port go
      // there like any other.
      log_->info("this node joins a front node, whose MCP handler serves "
                 "/mcp");
      rp.deliver(std::string{});
      return rp;
    }
    if (ctx_.bus)
      self_->send(ctx_.bus, subscribe_atom::value, std::string{"mcp"});
    // Calls wait on the registry without timers of their own; should it go
    // down, they fail at once.
    self_->monitor(ctx_.registry);
    self_->set_down_handler([this](caf::down_msg& msg) {
      if (msg.source != ctx_.registry.address())
        return;
      log_->error("the registry is down; MCP calls fail until the node "
                  "restarts");
      std::vector<uint64_t> numbers;
      for (auto& [no, c] : calls_)
        numbers.push_back(no);
      for (auto no : numbers)
        if (auto call = take_call(no))
          complete(call->exchange, error_response(call->id, internal_error,
                                                  "the registry is down",
                                                  {{"reason", "unavailable"}}));
    });
    std::vector<endpoint> xs;
    for (auto method : {"POST", "GET", "DELETE", "OPTIONS"}) {
      for (auto pattern : {"/mcp", "/mcp/:context"}) {
        auto x = make_endpoint(
          method, pattern, pattern[4] == '\0' ? "mcp" : "mcp_context", "mcp");
        x.streaming = true;
        xs.push_back(std::move(x));
      }
    }
    self_
      ->request(ctx_.registry, list_timeout, register_atom::value,
                caf::actor_cast<caf::actor>(self_), std::move(xs))
      .then(
        [this, rp](caf::ok_atom) mutable {
          log_->info("serving MCP default_context={} sessions={}",
                     cfg_.default_context, cfg_.max_sessions);
          // The first keep-alive comes one interval after the start, not
          // with the first tick.
          next_keep_alive_ = now() + milliseconds{cfg_.keepalive_interval_ms};
          schedule_tick();
          // The HTTP handler reports the address; this one adds none.
          rp.deliver(std::string{});
        },
        [rp](caf::error& err) mutable { rp.deliver(err); });
    return rp;
  }

  void stop() {
    // Every request that waits for an owner gets an error now, as its JSON
    // answer or as the last event of its stream; a stream that just ended
    // would leave the client waiting for its own timeout.
    std::vector<uint64_t> waiting;
    for (auto& [no, c] : calls_)
      waiting.push_back(no);
    std::sort(waiting.begin(), waiting.end());
    for (auto no : waiting)
      if (auto call = take_call(no))
        complete(call->exchange,
                 error_response(call->id, internal_error,
                                "the node is stopping; the call was not "
                                "completed",
                                {{"reason", "stopping"}}));
    for (auto& [id, s] : sessions_)
      if (s.stream)
        s.stream->end_stream();
    for (auto& [id, x] : exchanges_)
      if (x.streaming)
        x.sink->end_stream();
    for (auto& [id, a] : asks_)
      a.promise.deliver(error_result(internal_error, "the node is stopping"));
    sessions_.clear();
    exchanges_.clear();
    calls_.clear();
    asks_.clear();
    stopped_ = true;
  }

  void schedule_tick() {
    if (stopped_)
      return;
    auto period = std::min<uint32_t>(cfg_.keepalive_interval_ms, 1000);
    self_->delayed_send(self_, milliseconds{period}, tick_atom::value);
  }

  /// Runs `f`; an exception ends in a 500 through `sink` (if any) instead of
  /// killing the actor.
  template <class F>
  void guarded(const reply_sink_ptr& sink, F&& f) {
    try {
      f();
    } catch (const std::exception& ex) {
      log_->error("unexpected failure: {}", ex.what());
      if (sink) {
        dispatch_result res;
        res.code = errc::internal;
        res.message = "the MCP handler failed to process the request";
        sink->deliver(std::move(res));
      }
    }
  }

  /// Runs `f`, a step of request `id` of exchange `xid`. The step may run in
  /// a response handler, where `guarded` does not reach and an exception
  /// would end the actor with every session; a failure answers the request
  /// with an internal error instead.
  template <class F>
  void guarded_step(uint64_t xid, const json& id, F&& f) {
    try {
      f();
    } catch (const std::exception& ex) {
      log_->error("unexpected failure: {}", ex.what());
      complete(xid, error_response(id, internal_error,
                                   "the MCP handler failed to process the "
                                   "request"));
    }
  }

  // -- HTTP -------------------------------------------------------------------

  /// Answers a request outside JSON-RPC processing.
  void reply(const reply_sink_ptr& sink, uint16_t status, const json& body,
             field_list headers = {}) {
    reply_text(sink, status, body.is_null() ? std::string{} : dump(body),
               std::move(headers));
  }

  /// Answers with a JSON text that is serialized already; an empty body
  /// goes without a content type.
  void reply_text(const reply_sink_ptr& sink, uint16_t status, std::string body,
                  field_list headers) {
    http_response res;
    res.status = status;
    res.headers = std::move(headers);
    res.body = std::move(body);
    if (res.body.empty())
      res.content_type.clear();
    dispatch_result result;
    result.response = std::move(res);
    sink->deliver(std::move(result));
  }

  void reply_error(const reply_sink_ptr& sink, uint16_t status, int code,
                   const std::string& message, field_list headers = {}) {
    reply(sink, status, error_response(nullptr, code, message),
          std::move(headers));
  }

  bool host_allowed(const std::string* host) const {
    // Browsers always send Host; a request without it is no rebinding.
    if (host == nullptr)
      return true;
    auto name = host_of(*host);
    for (auto& x : cfg_.allowed_hosts)
      if (x == "*" || x == name)
        return true;
    return false;
  }

  bool origin_allowed(const std::string& origin) const {
    auto lower = ascii_lowered(origin);
    for (auto& x : cfg_.allowed_origins)
      if (x == "*" || x == lower)
        return true;
    return loopback_host(origin_host(origin));
  }

  void on_http(http_request req, const reply_sink_ptr& sink) {
    // Two Host or Origin fields leave open which one counts.
    size_t hosts = 0;
    size_t origins = 0;
    size_t authorizations = 0;
    for (auto& [name, value] : req.headers) {
      hosts += name == "host";
      origins += name == "origin";
      authorizations += name == "authorization";
    }
    if (hosts > 1 || origins > 1 || authorizations > 1)
      return reply_error(sink, 400, transport_error,
                         "Bad Request: more than one Host, Origin or "
                         "Authorization field");
    auto origin = find_field(req.headers, "origin");
    if (!host_allowed(find_field(req.headers, "host")))
      return reply_error(sink, 403, transport_error,
                         "Forbidden: the Host header names a host that this "
                         "server does not serve (see settings.mcp."
                         "allowed_hosts)");
    field_list headers;
    if (origin != nullptr) {
      if (!origin_allowed(*origin))
        return reply_error(sink, 403, transport_error,
                           "Forbidden: origin '" + *origin +
                             "' is not allowed (see settings.mcp."
                             "allowed_origins)");
      headers.emplace_back("Access-Control-Allow-Origin", *origin);
      headers.emplace_back("Access-Control-Expose-Headers",
                           "Mcp-Session-Id, MCP-Protocol-Version");
      headers.emplace_back("Vary", "Origin");
    }
    // A stopped handler has no sessions and no ticks: a session or stream
    // started now would never end.
    if (stopped_)
      return reply_error(sink, 503, transport_error,
                         "Service Unavailable: the node is stopping", headers);
    // The context the client names, by path or header.
    std::string named;
    auto by_path = find_field(req.params, "context");
    auto by_header = find_field(req.headers, "x-mcp-context");
    if (by_path != nullptr && by_header != nullptr && *by_path != *by_header)
      return reply_error(sink, 400, transport_error,
                         "Bad Request: the path names context '" + *by_path +
                           "' and X-MCP-Context names '" + *by_header + "'",
                         headers);
    if (by_path != nullptr)
      named = *by_path;
    else if (by_header != nullptr)
      named = *by_header;
    if (!named.empty() && !valid_context_name(named))
      return reply_error(sink, 404, transport_error,
                         "Not Found: no context may be named '" + named +
                           "'; names have 1 to 64 characters a-z, 0-9, '-' "
                           "or '_'",
                         headers);
    if (req.method == "OPTIONS")
      return preflight(sink, origin != nullptr, std::move(headers));
    if (req.method != "POST" && req.method != "GET" && req.method != "DELETE") {
      headers.emplace_back("Allow", "GET, POST, DELETE, OPTIONS");
      return reply_error(sink, 405, transport_error, "Method Not Allowed",
                         headers);
    }
    // A context whose entries need a token lets nothing through without
    // one; which token passes is for the registry and the auth service.
    auto context = context_of(req, named);
    auto cached = contexts_.find(context);
    if (cached != contexts_.end() && cached->second.valid &&
        !cached->second.guarded)
      return on_admitted(std::move(req), sink, std::move(named),
                         std::move(headers), principal{});
    mcp_access access;
    access.context = context;
    access.resource = find_field(req.params, "context") != nullptr
                        ? "/mcp/" + named
                        : std::string{"/mcp"};
    if (auto value = find_field(req.headers, "authorization"))
      access.authorization = *value;
    self_->request(ctx_.registry, access_timeout, std::move(access))
      .then(
        [this, req = std::move(req), sink, named = std::move(named),
         headers](auth_verdict& v) mutable {
          if (v.status == 200)
            return on_admitted(std::move(req), sink, std::move(named),
                               std::move(headers), std::move(v.who));
          if (!v.challenge.empty())
            headers.emplace_back("WWW-Authenticate", v.challenge);
          reply_error(sink, v.status == 403 ? 403 : 401, transport_error,
                      (v.status == 403 ? "Forbidden: " : "Unauthorized: ") +
                        (v.message.empty() ? std::string{"a valid token is "
                                                         "required"}
                                           : v.message),
                      headers);
        },
        [this, sink, headers](caf::error& err) {
          std::string detail;
          to_errc(err, detail);
          reply_error(sink, 503, transport_error,
                      "Service Unavailable: this context requires a token "
                      "and it cannot be checked now: " +
                        detail,
                      headers);
        });
  }

  /// The context that a request is for: the one it names, else the one of
  /// the session it names, else the default.
  std::string context_of(const http_request& req,
                         const std::string& named) const {
    if (!named.empty())
      return named;
    if (auto id = find_field(req.headers, "mcp-session-id"))
      if (auto i = sessions_.find(*id); i != sessions_.end())
        return i->second.context;
    return cfg_.default_context;
  }

  /// Goes on with a request that may pass, from `who`.
  void on_admitted(http_request req, const reply_sink_ptr& sink,
                   std::string named, field_list headers, principal who) {
    if (stopped_)
      return reply_error(sink, 503, transport_error,
                         "Service Unavailable: the node is stopping", headers);
    if (req.method == "POST")
      return on_post(std::move(req), sink, std::move(named), std::move(headers),
                     std::move(who));
    if (req.method == "GET")
      return on_get(req, sink, named, std::move(headers), who);
    on_delete(req, sink, named, std::move(headers), who);
  }

  void preflight(const reply_sink_ptr& sink, bool cors, field_list headers) {
    headers.emplace_back("Allow", "GET, POST, DELETE, OPTIONS");
    if (cors) {
      headers.emplace_back("Access-Control-Allow-Methods",
                           "GET, POST, DELETE, OPTIONS");
      headers.emplace_back("Access-Control-Allow-Headers",
                           "Content-Type, Accept, Authorization, "
                           "Mcp-Session-Id, MCP-Protocol-Version, "
                           "Last-Event-ID, X-MCP-Context");
      headers.emplace_back("Access-Control-Max-Age", "86400");
    }
    reply_text(sink, 204, {}, std::move(headers));
  }

  /// Finds the session that a request names; answers 400 or 404 and
  /// returns null when it has none. Also checks the protocol version and
  /// the context.
  session* find_session(const http_request& req, const reply_sink_ptr& sink,
                        const std::string& named, const field_list& headers,
                        const principal& who) {
    auto id = find_field(req.headers, "mcp-session-id");
    if (id == nullptr) {
      reply_error(sink, 400, transport_error,
                  "Bad Request: the Mcp-Session-Id header is required; "
                  "send initialize first",
                  headers);
      return nullptr;
    }
    auto i = sessions_.find(*id);
    // A session answers only to the subject that started it, and looks
    // like no session to anyone else.
    if (i != sessions_.end() && !i->second.subject.empty() &&
        i->second.subject != who.subject)
      i = sessions_.end();
    if (i == sessions_.end()) {
      reply_error(sink, 404, session_not_found,
                  "Session not found: it ended or never existed; send "
                  "initialize to start a new one",
                  headers);
      return nullptr;
    }
    if (auto v = find_field(req.headers, "mcp-protocol-version");
        v != nullptr && !supported_version(*v)) {
      std::string list;
      for (auto& x : supported_versions())
        list += (list.empty() ? "" : ", ") + x;
      reply_error(sink, 400, transport_error,
                  "Bad Request: unsupported MCP-Protocol-Version '" + *v +
                    "'; supported: " + list,
                  headers);
      return nullptr;
    }
    auto& s = i->second;
    if (!named.empty() && named != s.context) {
      reply_error(sink, 400, transport_error,
                  "Bad Request: this session belongs to context '" + s.context +
                    "', not '" + named + "'",
                  headers);
      return nullptr;
    }
    s.last_used = now();
    s.who = who;
    return &s;
  }

  void on_get(const http_request& req, const reply_sink_ptr& sink,
              const std::string& named, field_list headers,
              const principal& who) {
    auto accept = parse_accept(find_field(req.headers, "accept"));
    if (!accept.event_stream)
      return reply_error(sink, 406, transport_error,
                         "Not Acceptable: a GET opens an event stream and "
                         "needs Accept: text/event-stream",
                         headers);
    auto s = find_session(req, sink, named, headers, who);
    if (s == nullptr)
      return;
    // A port that passes requests on to this node (a joining node's) would
    // hold the stream until it ends, which a GET stream never does.
    if (!sink->streams_live()) {
      headers.emplace_back("Allow", "POST, DELETE, OPTIONS");
      return reply_error(sink, 405, transport_error,
                         "Method Not Allowed: this port passes requests on "
                         "and cannot hold an event stream; open it on the "
                         "front node's port",
                         headers);
    }
    if (s->stream) {
      if (!s->stream->abandoned())
        return reply_error(sink, 409, transport_error,
                           "Conflict: this session has an open stream "
                           "already",
                           headers);
      s->stream->end_stream();
      s->stream.reset();
    }
    headers.emplace_back("Cache-Control", "no-cache");
    headers.emplace_back("Mcp-Session-Id", s->id);
    http_response head;
    head.status = 200;
    head.content_type = "text/event-stream";
    head.headers = std::move(headers);
    if (sink->start_stream(std::move(head)))
      s->stream = sink;
  }

  void on_delete(const http_request& req, const reply_sink_ptr& sink,
                 const std::string& named, field_list headers,
                 const principal& who) {
    auto s = find_session(req, sink, named, headers, who);
    if (s == nullptr)
      return;
    log_->debug("session ended by client id={}", s->id);
    end_session(s->id);
    reply(sink, 200, nullptr, std::move(headers));
  }

  void end_session(const std::string& id) {
    auto i = sessions_.find(id);
    if (i == sessions_.end())
      return;
    if (i->second.stream)
      i->second.stream->end_stream();
    for (auto j = asks_.begin(); j != asks_.end();) {
      if (j->second.session == id) {
        j->second.promise.deliver(
          error_result(internal_error, "the client's session ended"));
        j = asks_.erase(j);
      } else {
        ++j;
      }
    }
    sessions_.erase(i);
  }

  // -- POST: JSON-RPC ---------------------------------------------------------

  void on_post(http_request req, const reply_sink_ptr& sink, std::string named,
               field_list headers, principal who) {
    auto type = find_field(req.headers, "content-type");
    if (type == nullptr || !is_json_type(*type))
      return reply_error(sink, 415, transport_error,
                         "Unsupported Media Type: the body must be "
                         "application/json",
                         headers);
    auto accept = parse_accept(find_field(req.headers, "accept"));
    if (!accept.json && !accept.event_stream)
      return reply_error(sink, 406, transport_error,
                         "Not Acceptable: the client must accept "
                         "application/json or text/event-stream",
                         headers);
    json doc;
    if (auto problem = modules::read_json(req.body, doc, cfg_.max_json_depth);
        !problem.empty())
      return reply(
        sink, 400,
        error_response(nullptr, parse_error, "Parse error: " + problem),
        headers);
    bool batch = doc.is_array();
    if (batch && doc.empty())
      return reply(sink, 400,
                   error_response(nullptr, invalid_request,
                                  "Invalid Request: an empty batch"),
                   headers);
    std::vector<json> messages;
    if (batch)
      for (auto& x : doc)
        messages.push_back(std::move(x));
    else
      messages.push_back(std::move(doc));

    // Initialization stands alone and creates the session.
    for (auto& x : messages) {
      auto method = x.is_object() ? x.find("method") : x.end();
      if (!x.is_object() || method == x.end() || *method != "initialize")
        continue;
      if (batch)
        return reply(sink, 400,
                     error_response(nullptr, invalid_request,
                                    "Invalid Request: initialize must not be "
                                    "part of a batch"),
                     headers);
      if (find_field(req.headers, "mcp-session-id") != nullptr)
        return reply(sink, 400,
                     error_response(x.contains("id") ? x["id"] : json{},
                                    invalid_request,
                                    "Invalid Request: this session is "
                                    "initialized already; to start a new one, "
                                    "send initialize without Mcp-Session-Id"),
                     headers);
      return on_initialize(std::move(x), sink, std::move(named),
                           std::move(headers), accept, std::move(who));
    }

    auto s = find_session(req, sink, named, headers, who);
    if (s == nullptr)
      return;
    if (batch && messages.size() > max_batch_messages)
      return reply(sink, 400,
                   error_response(nullptr, invalid_request,
                                  "Invalid Request: a batch of more than " +
                                    std::to_string(max_batch_messages) +
                                    " messages"),
                   headers);
    if (batch && !batches_allowed(s->version))
      return reply(sink, 400,
                   error_response(nullptr, invalid_request,
                                  "Invalid Request: protocol version " +
                                    s->version +
                                    " has no batches; send one message per "
                                    "request"),
                   headers);
    headers.emplace_back("Mcp-Session-Id", s->id);

    // Sort the messages; count what will be answered before anything runs,
    // so that a quick answer cannot end the exchange early.
    std::vector<std::pair<message_kind, std::string>> kinds;
    size_t answers = 0;
    for (auto& x : messages) {
      std::string why;
      auto kind = classify(x, why);
      if (kind == message_kind::request || kind == message_kind::invalid)
        ++answers;
      kinds.emplace_back(kind, std::move(why));
    }
    // A lone message that is no JSON-RPC at all gets a plain 400.
    if (!batch && kinds[0].first == message_kind::invalid) {
      auto& x = messages[0];
      auto id = x.is_object() && x.contains("id") && valid_id(x["id"]) ? x["id"]
                                                                       : json{};
      return reply(sink, 400,
                   error_response(id, invalid_request,
                                  "Invalid Request: " + kinds[0].second),
                   headers);
    }
    auto xid = next_exchange_++;
    auto& ex = exchanges_[xid];
    ex.sink = sink;
    ex.session = s->id;
    ex.headers = std::move(headers);
    ex.accept = accept;
    ex.batch = batch;
    ex.outstanding = answers;
    // A client that takes only event streams gets one right away, if there
    // is anything to answer: notifications and responses alone get a 202.
    if (!accept.json && answers > 0)
      open_stream(ex);
    auto session_id = s->id;
    for (size_t i = 0; i < messages.size(); ++i) {
      auto& x = messages[i];
      switch (kinds[i].first) {
      case message_kind::request:
        on_request(xid, session_id, std::move(x));
        break;
      case message_kind::notification:
        on_client_notification(session_id, x);
        break;
      case message_kind::response:
        on_client_response(session_id, x);
        break;
      case message_kind::invalid: {
        auto id = x.is_object() && x.contains("id") && valid_id(x["id"])
                    ? x["id"]
                    : json{};
        complete(xid, error_response(id, invalid_request,
                                     "Invalid Request: " + kinds[i].second));
        break;
      }
      }
    }
    if (answers == 0)
      finish(xid);
  }

  void on_initialize(json msg, const reply_sink_ptr& sink, std::string named,
                     field_list headers, accepted accept, principal who) {
    std::string why;
    if (classify(msg, why) != message_kind::request)
      return reply(
        sink, 400,
        error_response(nullptr, invalid_request,
                       "Invalid Request: " +
                         (why.empty() ? std::string{"initialize must be a "
                                                    "request with an id"}
                                      : why)),
        headers);
    auto id = msg["id"];
    auto params = msg.value("params", json::object());
    if (!params.is_object() || !params.contains("protocolVersion") ||
        !params["protocolVersion"].is_string())
      return reply(sink, 400,
                   error_response(id, invalid_params,
                                  "Invalid params: initialize needs "
                                  "params.protocolVersion"),
                   headers);
    if (sessions_.size() >= cfg_.max_sessions)
      return reply(sink, 503,
                   error_response(id, transport_error,
                                  "Service Unavailable: too many sessions (" +
                                    std::to_string(cfg_.max_sessions) +
                                    "); try again later"),
                   headers);
    auto requested = params["protocolVersion"].get<std::string>();
    auto version =
      supported_version(requested) ? requested : supported_versions().front();
    auto context = named.empty() ? cfg_.default_context : named;
    auto caps = params.value("capabilities", json::object());
    if (!caps.is_object())
      caps = json::object();
    // A context exists while it has entries; a misspelt one fails here
    // rather than with empty lists later.
    with_context(context, [this, sink, id, version, context, caps,
                           headers = std::move(headers), accept,
                           who =
                             std::move(who)](const context_view* view,
                                             const std::string& err) mutable {
      if (!err.empty())
        return reply(sink, 503,
                     error_response(id, internal_error,
                                    "the registry did not list context '" +
                                      context + "': " + err),
                     headers);
      if (view == nullptr || view->empty())
        return reply(sink, 404,
                     error_response(id, invalid_params,
                                    "Not Found: no context '" + context +
                                      "' on this node"),
                     headers);
      if (sessions_.size() >= cfg_.max_sessions)
        return reply(sink, 503,
                     error_response(id, transport_error,
                                    "Service Unavailable: too many sessions"),
                     headers);
      auto sid = random_id();
      if (sid.empty() || sessions_.count(sid) > 0)
        return reply(
          sink, 503,
          error_response(id, internal_error, "no random session ID available"),
          headers);
      auto& s = sessions_[sid];
      s.id = sid;
      s.context = context;
      s.version = version;
      s.subject = who.subject;
      s.who = who;
      // Only what the handler looks at is kept: a client's capabilities may
      // be large, and sessions are many.
      for (auto key : {"sampling", "elicitation", "roots"})
        if (caps.contains(key))
          s.client_capabilities[key] = json::object();
      s.last_used = now();
      log_->debug("session started id={} context={} version={}", sid, context,
                  version);
      json result = {
        {"protocolVersion", version},
        {"capabilities",
         {{"tools", {{"listChanged", true}}},
          {"resources", {{"subscribe", true}, {"listChanged", true}}},
          {"prompts", {{"listChanged", true}}},
          {"logging", json::object()},
          {"completions", json::object()}}},
        {"serverInfo",
         {{"name", "switchboard"}, {"version", server_version()}}},
        {"instructions", "Context '" + context +
                           "' of a Switchboard node: its tools, resources "
                           "and prompts come from the modules that serve it."},
      };
      headers.emplace_back("Mcp-Session-Id", sid);
      auto xid = next_exchange_++;
      auto& ex = exchanges_[xid];
      ex.sink = sink;
      ex.session = sid;
      ex.headers = std::move(headers);
      ex.accept = accept;
      ex.outstanding = 1;
      if (!accept.json)
        open_stream(ex);
      complete(xid, result_response(id, std::move(result)));
    });
  }

  // -- exchanges --------------------------------------------------------------

  /// Turns the answer of `ex` into an event stream; false if the client
  /// takes none.
  bool open_stream(exchange& ex) {
    if (ex.streaming)
      return true;
    if (!ex.accept.event_stream)
      return false;
    http_response head;
    head.status = 200;
    head.content_type = "text/event-stream";
    head.headers = ex.headers;
    head.headers.emplace_back("Cache-Control", "no-cache");
    // Answers that are ready already go first.
    for (auto& x : ex.responses)
      head.body += sse_event_text(x);
    ex.responses.clear();
    if (!ex.sink->start_stream(std::move(head)))
      return false;
    ex.streaming = true;
    return true;
  }

  /// Hands one response to its exchange; the exchange ends with the last.
  void complete(uint64_t xid, const json& response) {
    complete_text(xid, dump(response));
  }

  /// Hands one serialized response to its exchange.
  void complete_text(uint64_t xid, std::string response) {
    auto i = exchanges_.find(xid);
    if (i == exchanges_.end())
      return;
    auto& ex = i->second;
    if (ex.streaming)
      ex.sink->write(sse_event_text(response));
    else
      ex.responses.push_back(std::move(response));
    if (ex.outstanding > 0 && --ex.outstanding == 0)
      finish(xid);
  }

  /// A response no longer expected (the client cancelled its request).
  void forgo(uint64_t xid) {
    auto i = exchanges_.find(xid);
    if (i == exchanges_.end())
      return;
    if (i->second.outstanding > 0 && --i->second.outstanding == 0)
      finish(xid);
  }

  void finish(uint64_t xid) {
    auto i = exchanges_.find(xid);
    if (i == exchanges_.end())
      return;
    auto ex = std::move(i->second);
    exchanges_.erase(i);
    if (ex.streaming) {
      ex.sink->end_stream();
      return;
    }
    if (ex.responses.empty())
      return reply(ex.sink, 202, nullptr, std::move(ex.headers));
    if (!ex.batch)
      return reply_text(ex.sink, ex.status, std::move(ex.responses[0]),
                        std::move(ex.headers));
    std::string body = "[";
    for (auto& x : ex.responses) {
      if (body.size() > 1)
        body += ',';
      body += x;
    }
    body += ']';
    reply_text(ex.sink, ex.status, std::move(body), std::move(ex.headers));
  }

  /// Sends a message outside any response: on the stream of `xid` if it has
  /// one or may open one, else (with `or_get`) on the session's GET stream.
  /// Returns whether the message went out.
  bool emit(uint64_t xid, session& s, const json& msg, bool or_get = true) {
    if (auto i = exchanges_.find(xid);
        i != exchanges_.end() && open_stream(i->second))
      return i->second.sink->write(sse_event(msg));
    if (or_get && s.stream)
      return s.stream->write(sse_event(msg));
    return false;
  }

  // -- client messages --------------------------------------------------------

  void on_client_notification(const std::string& sid, const json& msg) {
    auto& method = msg["method"];
    if (method == "notifications/cancelled") {
      auto params = msg.value("params", json::object());
      if (!params.is_object() || !params.contains("requestId"))
        return;
      // Cancellations are rare: a scan spares every call a lookup key.
      auto& target = params["requestId"];
      for (auto& [no, c] : calls_) {
        if (c.session == sid && c.id == target) {
          if (auto call = take_call(no))
            forgo(call->exchange);
          return;
        }
      }
      return;
    }
    // `notifications/initialized`, `notifications/roots/list_changed` and
    // others need no action.
  }

  void on_client_response(const std::string& sid, const json& msg) {
    auto& id = msg["id"];
    if (!id.is_string())
      return;
    auto i = asks_.find(id.get<std::string>());
    if (i == asks_.end() || i->second.session != sid)
      return;
    auto a = std::move(i->second);
    asks_.erase(i);
    if (auto s = sessions_.find(sid); s != sessions_.end() && s->second.asks)
      --s->second.asks;
    if (msg.contains("error")) {
      auto& err = msg["error"];
      mcp_result res;
      // A code outside the range of JSON-RPC codes is no code at all.
      res.error_code = internal_error;
      if (err.is_object() && err.contains("code") &&
          err["code"].is_number_integer()) {
        auto code = err["code"].get<int64_t>();
        if (code >= INT32_MIN && code <= INT32_MAX && code != 0)
          res.error_code = static_cast<int32_t>(code);
      }
      res.error_message =
        err.is_object() && err.contains("message") && err["message"].is_string()
          ? err["message"].get<std::string>()
          : "the client answered with an error";
      if (err.is_object() && err.contains("data"))
        res.error_data = dump(err["data"]);
      a.promise.deliver(std::move(res));
      return;
    }
    mcp_result res;
    res.result = dump(msg["result"]);
    a.promise.deliver(std::move(res));
  }

  // -- client requests --------------------------------------------------------

  void on_request(uint64_t xid, const std::string& sid, json msg) {
    auto id = std::move(msg["id"]);
    auto method = msg["method"].get<std::string>();
    json params = json::object();
    if (auto i = msg.find("params"); i != msg.end())
      params = std::move(*i);
    if (!params.is_object())
      return complete(xid, error_response(id, invalid_params,
                                          "Invalid params: params must be an "
                                          "object"));
    auto& s = sessions_.at(sid);
    if (method == "ping")
      return complete(xid, result_response(id, json::object()));
    if (method == "logging/setLevel") {
      auto level = params.value("level", json{});
      auto n = level.is_string() ? log_level(level.get<std::string>()) : -1;
      if (n < 0)
        return complete(xid,
                        error_response(id, invalid_params,
                                       "Invalid params: level must be one of "
                                       "debug, info, notice, warning, error, "
                                       "critical, alert, emergency"));
      s.log_level = n;
      return complete(xid, result_response(id, json::object()));
    }
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      auto uri = params.value("uri", json{});
      if (!uri.is_string() || uri.get<std::string>().empty())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: uri must be a "
                                            "non-empty string"));
      if (uri.get<std::string>().size() > max_uri_bytes)
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: uri is longer "
                                            "than " +
                                              std::to_string(max_uri_bytes) +
                                              " bytes"));
      if (method == "resources/subscribe") {
        if (s.subscriptions.size() >= max_subscriptions &&
            s.subscriptions.count(uri.get<std::string>()) == 0)
          return complete(
            xid, error_response(id, invalid_params,
                                "too many subscriptions in this session (" +
                                  std::to_string(max_subscriptions) + ")"));
        s.subscriptions.insert(uri.get<std::string>());
      } else {
        s.subscriptions.erase(uri.get<std::string>());
      }
      return complete(xid, result_response(id, json::object()));
    }
    static const std::map<std::string, std::pair<const char*, int>> lists{
      {"tools/list", {"tools", 0}},
      {"resources/list", {"resources", 1}},
      {"resources/templates/list", {"resourceTemplates", 2}},
      {"prompts/list", {"prompts", 3}},
    };
    if (auto l = lists.find(method); l != lists.end())
      return with_context(
        s.context, [this, xid, id, params, key = l->second.first,
                    which = l->second.second](const context_view* view,
                                              const std::string& err) {
          guarded_step(xid, id, [&] {
            if (!err.empty())
              return complete(xid, error_response(id, internal_error, err));
            complete(xid, list_page(view, which, key, id, params));
          });
        });
    if (method == "tools/call" || method == "resources/read" ||
        method == "prompts/get" || method == "completion/complete") {
      if (s.in_flight >= cfg_.max_calls_per_session)
        return complete(
          xid,
          error_response(id, internal_error,
                         "too many requests of this session wait (" +
                           std::to_string(cfg_.max_calls_per_session) + ")"));
      // A context in the cache needs no detour through a callback.
      if (auto i = contexts_.find(s.context);
          i != contexts_.end() && i->second.valid)
        return call_entry(xid, sid, id, method, std::move(params), &i->second);
      return with_context(
        s.context, [this, xid, sid, id, method, params = std::move(params)](
                     const context_view* view, const std::string& err) mutable {
          guarded_step(xid, id, [&] {
            if (!err.empty())
              return complete(xid, error_response(id, internal_error, err));
            call_entry(xid, sid, id, method, std::move(params), view);
          });
        });
    }
    complete(xid, error_response(id, method_not_found,
                                 "Method not found: " + shorten(method)));
  }

  json list_page(const context_view* view, int which, const char* key,
                 const json& id, const json& params) {
    static const std::map<std::string, entry_view> none;
    auto& entries = view == nullptr ? none
                    : which == 0    ? view->tools
                    : which == 1    ? view->resources
                    : which == 2    ? view->templates
                                    : view->prompts;
    auto first = entries.begin();
    if (params.contains("cursor") && !params["cursor"].is_null()) {
      auto& c = params["cursor"];
      auto after =
        c.is_string() ? read_cursor(c.get<std::string>()) : std::nullopt;
      if (!after)
        return error_response(id, invalid_params,
                              "Invalid params: unknown cursor");
      first = entries.upper_bound(*after);
    }
    auto items = json::array();
    auto i = first;
    for (; i != entries.end() && items.size() < cfg_.page_size; ++i)
      items.push_back(i->second.definition);
    json result = {{key, std::move(items)}};
    if (i != entries.end())
      result["nextCursor"] = make_cursor(std::prev(i)->first);
    return result_response(id, std::move(result));
  }

  /// Calls the owner of a tool, resource, template or prompt.
  void call_entry(uint64_t xid, const std::string& sid, const json& id,
                  const std::string& method, json params,
                  const context_view* view) {
    auto sit = sessions_.find(sid);
    if (sit == sessions_.end())
      return complete(xid,
                      error_response(id, internal_error, "the session ended"));
    auto& s = sit->second;
    mcp_request req;
    req.context = s.context;
    req.method = method;
    req.session = sid;
    req.who = s.who;
    req.timeout_ms = cfg_.call_timeout_ms;
    auto find = [&](const std::map<std::string, entry_view>& xs,
                    const std::string& name) -> const entry_view* {
      if (view == nullptr)
        return nullptr;
      auto i = xs.find(name);
      return i == xs.end() ? nullptr : &i->second;
    };
    auto string_param = [&](const json& x, const char* key) -> std::string {
      auto i = x.find(key);
      return i != x.end() && i->is_string() ? i->get<std::string>()
                                            : std::string{};
    };
    if (method == "tools/call") {
      auto name = string_param(params, "name");
      if (name.empty())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: name must be "
                                            "the name of a tool"));
      auto e = find(view ? view->tools : empty_, name);
      if (e == nullptr)
        return complete(xid, error_response(id, invalid_params,
                                            "Unknown tool: " + shorten(name),
                                            {{"name", shorten(name)}}));
      if (!params.contains("arguments") || params["arguments"].is_null())
        params["arguments"] = json::object();
      if (!params["arguments"].is_object())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: arguments must "
                                            "be an object"));
      if (!e->input)
        return complete(
          xid, tool_failure(id, "the input schema of tool '" + name +
                                  "' cannot be checked: " + e->schema_error));
      if (auto problem = e->input->validate(params["arguments"]);
          !problem.empty())
        return complete(xid, tool_failure(id, "Invalid arguments for tool '" +
                                                name + "': " + problem));
      req.kind = "TOOL";
      req.name = name;
    } else if (method == "resources/read") {
      auto uri = string_param(params, "uri");
      if (uri.empty())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: uri must be a "
                                            "non-empty string"));
      if (find(view ? view->resources : empty_, uri) != nullptr) {
        req.kind = "RESOURCE";
        req.name = uri;
      } else if (auto t = match_template(view, uri); !t.empty()) {
        req.kind = "TEMPLATE";
        req.name = t;
      } else {
        return complete(xid, error_response(id, resource_not_found,
                                            "Resource not found: " + uri,
                                            {{"uri", uri}}));
      }
    } else if (method == "prompts/get") {
      auto name = string_param(params, "name");
      auto e = find(view ? view->prompts : empty_, name);
      if (e == nullptr)
        return complete(xid, error_response(id, invalid_params,
                                            "Unknown prompt: " + name,
                                            {{"name", name}}));
      if (auto problem = check_prompt_arguments(*e, params); !problem.empty())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: " + problem));
      req.kind = "PROMPT";
      req.name = name;
    } else {
      // completion/complete
      auto ref = params.value("ref", json{});
      auto arg = params.value("argument", json{});
      if (!ref.is_object() || !arg.is_object() ||
          !arg.value("name", json{}).is_string() ||
          !arg.value("value", json{}).is_string())
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: completion needs "
                                            "ref and argument {name, value}"));
      auto type = string_param(ref, "type");
      if (type == "ref/prompt") {
        auto name = string_param(ref, "name");
        if (find(view ? view->prompts : empty_, name) == nullptr)
          return complete(
            xid, error_response(id, invalid_params, "Unknown prompt: " + name));
        req.kind = "PROMPT";
        req.name = name;
      } else if (type == "ref/resource") {
        auto uri = string_param(ref, "uri");
        if (find(view ? view->templates : empty_, uri) != nullptr) {
          req.kind = "TEMPLATE";
        } else if (find(view ? view->resources : empty_, uri) != nullptr) {
          req.kind = "RESOURCE";
        } else {
          return complete(xid,
                          error_response(id, invalid_params,
                                         "Unknown resource template: " + uri));
        }
        req.name = uri;
      } else {
        return complete(xid, error_response(id, invalid_params,
                                            "Invalid params: ref.type must be "
                                            "ref/prompt or ref/resource"));
      }
    }
    req.params = dump(params);
    auto call_no = new_call_number();
    req.peer = caf::actor_cast<caf::actor>(self_);
    req.call = call_no;
    pending_call pc;
    pc.exchange = xid;
    pc.session = sid;
    pc.id = id;
    if (auto meta = params.find("_meta"); meta != params.end() &&
                                          meta->is_object() &&
                                          meta->contains("progressToken")) {
      auto& token = (*meta)["progressToken"];
      // The specification allows a string or any number.
      if (token.is_string() || token.is_number())
        pc.progress_token = token;
    }
    calls_.emplace(call_no, std::move(pc));
    ++s.in_flight;
    // The registry answers every call by its deadline, and the handler
    // watches the registry: no timer of our own per call.
    self_->request(ctx_.registry, caf::infinite, std::move(req))
      .then(
        [this, call_no, method](mcp_result& res) {
          auto call = take_call(call_no);
          if (!call)
            return;
          complete_text(call->exchange, to_response(call->id, method, res));
        },
        [this, call_no, method](caf::error& err) {
          auto call = take_call(call_no);
          if (!call)
            return;
          complete(call->exchange, failure(call->id, method, err));
        });
  }

  json tool_failure(const json& id, const std::string& text) {
    return result_response(
      id, {{"content", json::array({{{"type", "text"}, {"text", text}}})},
           {"isError", true}});
  }

  std::string check_prompt_arguments(const entry_view& e, const json& params) {
    auto args = params.value("arguments", json::object());
    if (args.is_null())
      args = json::object();
    if (!args.is_object())
      return "arguments must be an object of strings";
    for (auto& [name, value] : args.items())
      if (!value.is_string())
        return "argument '" + name + "' must be a string";
    // The definition is the owner's JSON, checked by nobody: only an
    // object with a string `name` and `required: true` declares a required
    // argument, and nothing in it may throw.
    auto declared = e.definition.find("arguments");
    if (declared == e.definition.end() || !declared->is_array())
      return {};
    for (auto& x : *declared) {
      if (!x.is_object())
        continue;
      auto required = x.find("required");
      auto name = x.find("name");
      if (required == x.end() || *required != true || name == x.end() ||
          !name->is_string())
        continue;
      auto& str = name->get_ref<const std::string&>();
      if (!str.empty() && !args.contains(str))
        return "missing required argument '" + str + "'";
    }
    return {};
  }

  /// The first template of the context that `uri` matches, or empty.
  std::string match_template(const context_view* view, const std::string& uri) {
    if (view == nullptr)
      return {};
    for (auto& [tmpl, e] : view->templates)
      if (match_uri_template(tmpl, uri))
        return tmpl;
    return {};
  }

  /// The serialized response to a call that `res` answers.
  std::string to_response(const json& id, const std::string& method,
                          const mcp_result& res) {
    if (res.error_code != 0) {
      if (method == "completion/complete" && res.error_code == method_not_found)
        return dump(result_response(id, empty_completion()));
      json data;
      if (!res.error_data.empty()) {
        data = json::parse(res.error_data, nullptr, false);
        if (data.is_discarded())
          data = nullptr;
      }
      auto message =
        res.error_message.empty() ? std::string{"error"} : res.error_message;
      return dump(error_response(id, res.error_code, message, data));
    }
    // A result passed on as it is: checked, not parsed into a tree and
    // written again. Completions are looked into below, and text on several
    // lines is written again, since an event's data is one line.
    if (method != "completion/complete" &&
        res.result.find_first_of("\r\n") == std::string::npos) {
      auto first = res.result.find_first_not_of(" \t");
      if (first != std::string::npos && res.result[first] == '{' &&
          modules::is_json(res.result))
        return splice_result(id, res.result);
    }
    auto result = json::parse(res.result, nullptr, false);
    if (result.is_discarded() || !result.is_object())
      return dump(error_response(id, internal_error,
                                 "the owner answered with a result that is "
                                 "not a JSON object",
                                 {{"reason", "invalid_result"}}));
    if (method == "completion/complete" &&
        !result.value("completion", json{}).is_object())
      return dump(result_response(id, empty_completion()));
    return dump(result_response(id, std::move(result)));
  }

  /// A result response around `result`, a JSON object text that is valid.
  static std::string splice_result(const json& id, const std::string& result) {
    std::string out = R"({"jsonrpc":"2.0","id":)";
    out += dump(id);
    out += R"(,"result":)";
    out += result;
    out += '}';
    return out;
  }

  static json empty_completion() {
    return {{"completion",
             {{"values", json::array()}, {"total", 0}, {"hasMore", false}}}};
  }

  json failure(const json& id, const std::string& method,
               const caf::error& err) {
    std::string detail;
    auto code = to_errc(err, detail);
    switch (code) {
    case errc::no_route:
      return error_response(id, invalid_params,
                            method == "tools/call"
                              ? "Unknown tool: it is gone"
                              : "the entry is gone: " + detail);
    case errc::owner_down:
      return error_response(id, internal_error,
                            "the owner of this entry went down during the "
                            "call",
                            {{"reason", "owner_down"}});
    case errc::timeout:
      return error_response(id, internal_error,
                            "the owner of this entry did not answer in time",
                            {{"reason", "timeout"}});
    default:
      return error_response(id, internal_error,
                            detail.empty() ? std::string{to_code(code)}
                                           : detail,
                            {{"reason", to_code(code)}});
    }
  }

  uint64_t new_call_number() {
    for (;;) {
      auto x = call_numbers_();
      if (x != 0 && calls_.count(x) == 0)
        return x;
    }
  }

  std::optional<pending_call> take_call(uint64_t call_no) {
    auto i = calls_.find(call_no);
    if (i == calls_.end())
      return std::nullopt;
    auto result = std::move(i->second);
    calls_.erase(i);
    // A session is busy while its calls run: its idle time starts when the
    // last one ends, not when it was sent.
    if (auto s = sessions_.find(result.session); s != sessions_.end()) {
      if (s->second.in_flight > 0)
        --s->second.in_flight;
      s->second.last_used = now();
    }
    return result;
  }

  // -- owners talking to the client -------------------------------------------

  void on_notice(const mcp_notice& x) {
    auto i = calls_.find(x.call);
    if (i == calls_.end())
      return;
    auto& call = i->second;
    auto s = sessions_.find(call.session);
    if (s == sessions_.end())
      return;
    auto params = json::parse(x.params, nullptr, false);
    if (params.is_discarded() || !params.is_object())
      return;
    if (x.method == "notifications/progress") {
      if (call.progress_token.is_null() ||
          !params.value("progress", json{}).is_number())
        return;
      params["progressToken"] = call.progress_token;
    } else if (x.method == "notifications/message") {
      auto level = params.value("level", json{});
      auto n = level.is_string() ? log_level(level.get<std::string>()) : -1;
      if (n < 0 || n < s->second.log_level)
        return;
    } else {
      return;
    }
    // Progress is about its request alone: a client that takes no stream
    // for the request gets none, not even on its GET stream.
    auto progress = x.method == "notifications/progress";
    emit(call.exchange, s->second, notification(x.method, std::move(params)),
         !progress);
  }

  /// Sends the request of an owner to the client. Sets `asks_waiting_` when
  /// the promise waits for the client; else `rp` is answered here.
  void on_ask(const mcp_ask& x, caf::response_promise& rp) {
    auto i = calls_.find(x.call);
    if (i == calls_.end())
      return rp.deliver(
        error_result(internal_error, "the call is over; no client to ask"));
    auto& call = i->second;
    auto s = sessions_.find(call.session);
    if (s == sessions_.end())
      return rp.deliver(error_result(internal_error, "the session ended"));
    auto& caps = s->second.client_capabilities;
    const char* needed = x.method == "sampling/createMessage" ? "sampling"
                         : x.method == "elicitation/create"   ? "elicitation"
                         : x.method == "roots/list"           ? "roots"
                                                              : nullptr;
    if (needed == nullptr)
      return rp.deliver(error_result(
        method_not_found, "clients take no request '" + x.method + "'"));
    if (!caps.contains(needed))
      return rp.deliver(
        error_result(method_not_found, std::string{"the client does not "
                                                   "support "} +
                                         needed));
    auto params = json::parse(x.params, nullptr, false);
    if (params.is_discarded() || !params.is_object())
      return rp.deliver(
        error_result(invalid_params, "params must be a JSON object"));
    if (s->second.asks >= max_asks_per_session)
      return rp.deliver(
        error_result(internal_error, "too many requests to this client wait"));
    auto ask_id = "sb-" + std::to_string(next_ask_++);
    json msg = {{"jsonrpc", "2.0"},
                {"id", ask_id},
                {"method", x.method},
                {"params", std::move(params)}};
    if (!emit(call.exchange, s->second, msg))
      return rp.deliver(error_result(internal_error,
                                     "the client takes no event stream, so "
                                     "no request can reach it"));
    ++s->second.asks;
    asks_waiting_ = 1;
    pending_ask a;
    a.promise = rp;
    a.session = s->first;
    a.deadline = now() + milliseconds{cfg_.call_timeout_ms};
    asks_.emplace(ask_id, std::move(a));
  }

  static mcp_result error_result(int32_t code, std::string message) {
    mcp_result res;
    res.error_code = code;
    res.error_message = std::move(message);
    return res;
  }

  // -- changes ----------------------------------------------------------------

  void on_changed(const mcp_changed& x) {
    if (auto i = contexts_.find(x.context); i != contexts_.end()) {
      i->second.valid = false;
      ++i->second.generation;
    }
    auto msg = sse_event(notification(list_changed_method(x.kind), nullptr));
    for (auto& [id, s] : sessions_)
      if (s.context == x.context && s.stream)
        s.stream->write(msg);
  }

  void on_updated(const mcp_updated& x) {
    auto msg = sse_event(
      notification("notifications/resources/updated", {{"uri", x.uri}}));
    for (auto& [id, s] : sessions_)
      if (s.context == x.context && s.stream && s.subscriptions.count(x.uri))
        s.stream->write(msg);
  }

  // -- contexts ---------------------------------------------------------------

  using view_callback =
    std::function<void(const context_view*, const std::string&)>;

  /// Calls `k` with the entries of `name`, from the cache or fresh from the
  /// registry.
  void with_context(const std::string& name, view_callback k) {
    auto i = contexts_.find(name);
    if (i != contexts_.end() && i->second.valid)
      return k(&i->second, {});
    if (i == contexts_.end()) {
      if (contexts_.size() >= max_cached_contexts)
        drop_idle_contexts();
      i = contexts_.emplace(name, context_view{}).first;
    }
    auto& v = i->second;
    v.waiting.push_back(std::move(k));
    if (v.fetching)
      return;
    v.fetching = true;
    auto generation = v.generation;
    self_
      ->request(ctx_.registry, list_timeout, list_atom::value,
                std::string{"mcp"}, name + "/")
      .then(
        [this, name, generation](std::vector<endpoint>& xs) {
          auto i = contexts_.find(name);
          if (i == contexts_.end())
            return;
          auto& v = i->second;
          fill(v, xs);
          v.fetching = false;
          // Empty contexts are not kept: clients may name any context.
          v.valid = generation == v.generation && !v.empty();
          auto waiting = std::move(v.waiting);
          v.waiting.clear();
          // Each waiter answers its own request; none may end the actor.
          for (auto& k : waiting)
            guarded(nullptr, [&] { k(&v, {}); });
          if (auto j = contexts_.find(name);
              j != contexts_.end() && j->second.empty() &&
              j->second.waiting.empty() && !j->second.fetching)
            contexts_.erase(j);
        },
        [this, name](caf::error& err) {
          auto i = contexts_.find(name);
          if (i == contexts_.end())
            return;
          auto waiting = std::move(i->second.waiting);
          contexts_.erase(i);
          std::string detail;
          to_errc(err, detail);
          if (detail.empty())
            detail = "the registry did not answer";
          for (auto& k : waiting)
            guarded(nullptr, [&] { k(nullptr, detail); });
        });
  }

  void drop_idle_contexts() {
    for (auto i = contexts_.begin(); i != contexts_.end();) {
      if (!i->second.fetching && i->second.waiting.empty())
        i = contexts_.erase(i);
      else
        ++i;
    }
  }

  void fill(context_view& v, const std::vector<endpoint>& xs) {
    v.guarded = false;
    for (auto& x : xs)
      v.guarded |= x.auth != auth_requirement::none;
    v.tools.clear();
    v.resources.clear();
    v.templates.clear();
    v.prompts.clear();
    for (auto& x : xs) {
      auto slash = x.pattern.find('/');
      if (slash == std::string::npos)
        continue;
      auto name = x.pattern.substr(slash + 1);
      entry_view e;
      e.spec = x;
      e.definition = json::parse(x.detail, nullptr, false);
      if (e.definition.is_discarded() || !e.definition.is_object())
        e.definition = json::object();
      if (x.method == "TOOL") {
        e.definition["name"] = name;
        auto input = e.definition.value("inputSchema", json{});
        if (input.is_null())
          e.definition["inputSchema"] = input = {{"type", "object"}};
        schema compiled;
        e.schema_error = schema::compile(input, compiled);
        if (e.schema_error.empty())
          e.input = std::move(compiled);
        else
          log_->warn("tool with a schema we cannot check context={} tool={} "
                     "problem={}",
                     x.pattern.substr(0, slash), name, e.schema_error);
        v.tools.emplace(name, std::move(e));
      } else if (x.method == "RESOURCE") {
        e.definition["uri"] = name;
        if (!e.definition.contains("name"))
          e.definition["name"] = name;
        v.resources.emplace(name, std::move(e));
      } else if (x.method == "TEMPLATE") {
        if (!valid_uri_template(name)) {
          log_->warn("resource template we cannot match context={} "
                     "template={}",
                     x.pattern.substr(0, slash), name);
          continue;
        }
        e.definition["uriTemplate"] = name;
        if (!e.definition.contains("name"))
          e.definition["name"] = name;
        v.templates.emplace(name, std::move(e));
      } else if (x.method == "PROMPT") {
        e.definition["name"] = name;
        v.prompts.emplace(name, std::move(e));
      }
    }
  }

  // -- time -------------------------------------------------------------------

  time_point now() const { return self_->clock().now(); }

  void on_tick() {
    auto now = this->now();
    bool keep_alive = now >= next_keep_alive_;
    if (keep_alive)
      next_keep_alive_ = now + milliseconds{cfg_.keepalive_interval_ms};
    // Streams of clients that left end; live ones hear a comment now and
    // then, so that proxies keep them open.
    for (auto& [id, s] : sessions_) {
      if (!s.stream)
        continue;
      if (s.stream->abandoned() ||
          (keep_alive && !s.stream->write(keep_alive_comment))) {
        s.stream->end_stream();
        s.stream.reset();
        s.last_used = now;
      }
    }
    std::vector<uint64_t> gone;
    for (auto& [xid, ex] : exchanges_) {
      if (ex.sink->abandoned())
        gone.push_back(xid);
      else if (keep_alive && ex.streaming)
        ex.sink->write(keep_alive_comment);
    }
    for (auto xid : gone)
      drop_exchange(xid);
    // Requests to clients that never answer.
    for (auto i = asks_.begin(); i != asks_.end();) {
      if (i->second.deadline <= now) {
        i->second.promise.deliver(
          error_result(internal_error, "the client did not answer in time"));
        if (auto s = sessions_.find(i->second.session);
            s != sessions_.end() && s->second.asks > 0)
          --s->second.asks;
        i = asks_.erase(i);
      } else {
        ++i;
      }
    }
    // Idle sessions end.
    auto idle = milliseconds{cfg_.session_idle_timeout_ms};
    std::vector<std::string> expired;
    for (auto& [id, s] : sessions_)
      if (!s.stream && s.in_flight == 0 && now - s.last_used >= idle)
        expired.push_back(id);
    for (auto& id : expired) {
      log_->debug("session expired id={}", id);
      end_session(id);
    }
  }

  /// Forgets an exchange whose client left, with the calls it waits for.
  void drop_exchange(uint64_t xid) {
    std::vector<uint64_t> calls;
    for (auto& [no, c] : calls_)
      if (c.exchange == xid)
        calls.push_back(no);
    for (auto no : calls)
      take_call(no);
    auto i = exchanges_.find(xid);
    if (i == exchanges_.end())
      return;
    if (i->second.streaming)
      i->second.sink->end_stream();
    exchanges_.erase(i);
  }

  caf::stateful_actor<handler_state>* self_;
  logger_ptr log_;
  protocol_context ctx_;
  settings cfg_;
  bool stopped_ = false;
  std::unordered_map<std::string, session> sessions_;
  std::unordered_map<uint64_t, exchange> exchanges_;
  std::unordered_map<uint64_t, pending_call> calls_;
  std::unordered_map<std::string, pending_ask> asks_;
  std::unordered_map<std::string, context_view> contexts_;
  const std::map<std::string, entry_view> empty_;
  uint64_t next_exchange_ = 1;
  /// Call numbers are random, so that no actor can guess the number of
  /// another client's call and talk to that client in its name.
  std::mt19937_64 call_numbers_{seed()};
  uint64_t next_ask_ = 1;
  /// Set by `on_ask` when its promise went into `asks_`.
  int asks_waiting_ = 0;
  time_point next_keep_alive_;
};

caf::behavior handler_actor(caf::stateful_actor<handler_state>* self,
                            protocol_context ctx) {
  return self->state.make_behavior(std::move(ctx));
}

} // namespace

protocol_factory make_factory() {
  protocol_factory result;
  result.name = "mcp";
  result.summary = "Model Context Protocol (Streamable HTTP) at /mcp on the "
                   "HTTP port";
  result.check = [](const std::string& text) {
    settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = [](caf::actor_system& sys, const protocol_context& ctx) {
    return sys.spawn(handler_actor, ctx);
  };
  return result;
}

} // namespace sb::mcp
