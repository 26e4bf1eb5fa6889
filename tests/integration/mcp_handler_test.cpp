// The MCP protocol handler with the real registry and bus, driven by the
// deterministic test coordinator: requests enter the registry as the HTTP
// layer sends them (`http_dispatch` with a reply sink), fake owners serve
// the tools, resources and prompts, and time moves only when a test says so.

#define CAF_SUITE mcp_handler
#include "tests/kit/module_fixture.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/mcp_messages.hpp"
#include "modules/common/mcp_kit.hpp"
#include "protocols/mcp/handler.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

using json = nlohmann::ordered_json;

/// Makes a fake owner answer every call it holds.
using release_atom = caf::atom_constant<caf::atom("t_release")>;

constexpr const char* accept_both = "application/json, text/event-stream";

// -- checks -------------------------------------------------------------------

/// Comparator for `CAF_CHECK_FUNC`: whether `text` contains `part`.
struct contains_text {
  bool operator()(const std::string& text, const std::string& part) const {
    return text.find(part) != std::string::npos;
  }
};

/// Checks that `text` contains `part`, printing both when it does not.
#define CHECK_MENTIONS(text, part)                                             \
  CAF_CHECK_FUNC(contains_text, std::string(text), std::string(part))

std::string lower(std::string x) {
  for (auto& c : x)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return x;
}

/// `x[key]` of a JSON object, or null; never asserts.
json member(const json& x, const std::string& key) {
  if (!x.is_object())
    return nullptr;
  auto i = x.find(key);
  return i == x.end() ? json{} : *i;
}

// -- the HTTP side ------------------------------------------------------------

/// A reply sink as the HTTP layer holds it: records the outcome and every
/// piece of a stream, and notes each breach of the sink's contract.
class recording_sink : public reply_sink {
public:
  void deliver(dispatch_result x) override {
    if (outcome())
      breach("deliver after an outcome");
    delivered.push_back(std::move(x));
  }

  bool abandoned() const noexcept override { return gone; }

  bool streams_live() const noexcept override { return true; }

  bool start_stream(http_response x) override {
    if (outcome()) {
      breach("start_stream after an outcome");
      return false;
    }
    if (gone)
      return false;
    head = std::move(x);
    return true;
  }

  bool write(std::string data) override {
    if (!head) {
      breach("write without a stream");
      return false;
    }
    if (ends > 0) {
      breach("write after end_stream");
      return false;
    }
    if (gone)
      return false;
    writes.push_back(std::move(data));
    return true;
  }

  void end_stream() override {
    if (!head)
      breach("end_stream without a stream");
    else if (ends > 0)
      breach("end_stream twice");
    ++ends;
  }

  /// Whether the handler answered or started a stream.
  bool outcome() const { return !delivered.empty() || head.has_value(); }

  /// Whether the exchange is over: answered, or its stream ended.
  bool done() const { return !delivered.empty() || ends > 0; }

  bool streaming() const { return head.has_value(); }

  /// The status the client sees; 0 while there is no outcome.
  uint16_t status() const {
    if (head)
      return head->status;
    if (delivered.empty())
      return 0;
    auto& x = delivered.front();
    return x.code == errc::none ? x.response.status : to_http_status(x.code);
  }

  const http_response* response() const {
    if (head)
      return &*head;
    if (!delivered.empty() && delivered.front().code == errc::none)
      return &delivered.front().response;
    return nullptr;
  }

  std::string content_type() const {
    auto res = response();
    return res ? res->content_type : std::string{};
  }

  /// A header field of the answer, by case-insensitive name.
  const std::string* header(const std::string& name) const {
    auto res = response();
    if (res == nullptr)
      return nullptr;
    for (auto& [key, value] : res->headers)
      if (lower(key) == lower(name))
        return &value;
    return nullptr;
  }

  /// The body of a delivered answer.
  std::string body() const {
    auto res = response();
    return res && !head ? res->body : std::string{};
  }

  /// The delivered body as JSON; discarded if it is none.
  json rpc() const { return json::parse(body(), nullptr, false); }

  /// Everything a stream carried so far.
  std::string stream_text() const {
    std::string result = head ? head->body : std::string{};
    for (auto& x : writes)
      result += x;
    return result;
  }

  /// The JSON-RPC messages of a stream's events, in order.
  std::vector<json> events() const {
    std::vector<json> result;
    auto text = stream_text();
    size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find("\n\n", pos);
      if (end == std::string::npos)
        end = text.size();
      auto block = text.substr(pos, end - pos);
      pos = end + 2;
      std::string data;
      size_t line_start = 0;
      while (line_start < block.size()) {
        auto line_end = block.find('\n', line_start);
        if (line_end == std::string::npos)
          line_end = block.size();
        auto line = block.substr(line_start, line_end - line_start);
        if (line.compare(0, 6, "data: ") == 0)
          data += line.substr(6);
        line_start = line_end + 1;
      }
      if (!data.empty())
        result.push_back(json::parse(data, nullptr, false));
    }
    return result;
  }

  /// Keep-alive comments of a stream so far.
  size_t keep_alives() const {
    size_t n = 0;
    auto text = stream_text();
    for (auto i = text.find(": keep-alive"); i != std::string::npos;
         i = text.find(": keep-alive", i + 1))
      ++n;
    return n;
  }

  bool gone = false;
  std::vector<dispatch_result> delivered;
  std::optional<http_response> head;
  std::vector<std::string> writes;
  int ends = 0;
  /// Breaches of the contract of `reply_sink`, one per line.
  std::string breaches;

private:
  void breach(const char* what) {
    breaches += what;
    breaches += '\n';
  }
};

using sink_ptr = std::shared_ptr<recording_sink>;

// -- fake owners --------------------------------------------------------------

/// What the fake owners saw, for checks in the tests.
struct owner_log {
  std::vector<mcp_request> calls;
  /// Answers that `mcp_ask` brought back from the client.
  std::vector<mcp_result> answers;

  size_t calls_of(const std::string& name) const {
    return static_cast<size_t>(
      std::count_if(calls.begin(), calls.end(),
                    [&](const mcp_request& x) { return x.name == name; }));
  }
};

struct owner_state {
  /// Calls the owner does not answer until `release_atom`.
  std::vector<caf::response_promise> held;
};

using owner_actor = caf::stateful_actor<owner_state>;

void ask_client(owner_actor* self, const mcp_request& call,
                caf::response_promise rp, std::shared_ptr<owner_log> log) {
  json params = {
    {"messages",
     json::array({{{"role", "user"},
                   {"content", {{"type", "text"}, {"text", "say hi"}}}}})},
    {"maxTokens", 20}};
  mcp::ask(self, call, "sampling/createMessage", params, 60s)
    .then(
      [rp, log](mcp_result& res) mutable {
        log->answers.push_back(res);
        if (res.error_code != 0) {
          rp.deliver(
            mcp::text_result("ask failed: " + std::to_string(res.error_code) +
                               " " + res.error_message,
                             true));
          return;
        }
        auto x = mcp::parse(res.result);
        auto text = member(member(x, "content"), "text");
        rp.deliver(mcp::text_result(
          "sampled: " + (text.is_string() ? text.get<std::string>() : "?")));
      },
      [rp](caf::error&) mutable {
        rp.deliver(mcp::text_result("ask failed", true));
      });
}

/// Answers a call by the handler name of its entry.
void serve(owner_actor* self, const mcp_request& call, caf::response_promise rp,
           const std::shared_ptr<owner_log>& log) {
  auto args = mcp::arguments(call);
  auto& h = call.handler;
  if (h == "echo") {
    rp.deliver(mcp::text_result("echo " + args.dump()));
  } else if (h == "slow") {
    self->state.held.push_back(rp);
  } else if (h == "progress") {
    auto steps = args.value("steps", 2);
    for (int i = 1; i <= steps; ++i)
      mcp::progress(call, i, steps, "step " + std::to_string(i));
    if (args.value("hold", false))
      self->state.held.push_back(rp);
    else
      rp.deliver(mcp::text_result("done"));
  } else if (h == "log") {
    for (auto level : {"debug", "info", "warning", "error"})
      mcp::log(call, level, std::string{"a "} + level + " message", "demo");
    rp.deliver(mcp::text_result("logged"));
  } else if (h == "sample") {
    ask_client(self, call, rp, log);
  } else if (h == "readme") {
    rp.deliver(mcp::resource_text(mcp::uri(call), "text/plain", "read me"));
  } else if (h == "note") {
    auto id = mcp::template_values(call).value("id", std::string{"?"});
    rp.deliver(mcp::resource_text(mcp::uri(call), "text/plain", "note " + id));
  } else if (h == "greet" && call.method == "completion/complete") {
    rp.deliver(mcp::result({{"completion",
                             {{"values", json::array({"alice", "alan"})},
                              {"total", 2},
                              {"hasMore", false}}}}));
  } else if (h == "greet") {
    auto text = "Hello, " + args.value("name", std::string{"?"});
    rp.deliver(mcp::result(
      {{"messages",
        json::array({{{"role", "user"},
                      {"content", {{"type", "text"}, {"text", text}}}}})}}));
  } else if (h == "fail") {
    rp.deliver(
      mcp::error(mcp::invalid_params, "the owner refuses", {{"field", "x"}}));
  } else if (h == "garbage") {
    mcp_result res;
    res.result = "[1,2]";
    rp.deliver(std::move(res));
  } else if (h == "pretty") {
    // A valid result on several lines, as a hand-written owner may send.
    mcp_result res;
    res.result = "{\n  \"content\": [\n    {\"type\": \"text\", "
                 "\"text\": \"a\\nb\"}\n  ]\n}\n";
    rp.deliver(std::move(res));
  } else {
    rp.deliver(mcp::error(mcp::internal_error, "no handler " + h));
  }
}

/// An owner of MCP entries: records each call and answers it by the handler
/// name of its entry.
caf::behavior fake_owner(owner_actor* self, std::shared_ptr<owner_log> log) {
  return {
    [self, log](mcp_request& call) {
      log->calls.push_back(call);
      auto rp = self->make_response_promise();
      serve(self, call, rp, log);
      return rp;
    },
    [self](release_atom) {
      for (auto& rp : self->state.held)
        rp.deliver(mcp::text_result("released"));
      self->state.held.clear();
    },
  };
}

json echo_schema() {
  return {
    {"type", "object"},
    {"properties",
     {{"text", {{"type", "string"}, {"minLength", 1}}},
      {"count", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}},
      {"mode", {{"enum", json::array({"fast", "careful"})}}},
      {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"options",
       {{"type", "object"},
        {"properties", {{"depth", {{"type", "integer"}}}}},
        {"additionalProperties", false}}}}},
    {"required", json::array({"text"})},
  };
}

/// The entries of context `demo`, served by one owner.
std::vector<endpoint> demo_entries() {
  json progress_schema = {
    {"type", "object"},
    {"properties",
     {{"steps", {{"type", "integer"}}}, {"hold", {{"type", "boolean"}}}}}};
  return {
    mcp::tool("demo",
              {{"name", "echo"},
               {"description", "Echoes its arguments"},
               {"inputSchema", echo_schema()}},
              "echo", "demo"),
    mcp::tool("demo", {{"name", "slow"}}, "slow", "demo"),
    mcp::tool("demo", {{"name", "progress"}, {"inputSchema", progress_schema}},
              "progress", "demo"),
    mcp::tool("demo", {{"name", "log"}}, "log", "demo"),
    mcp::tool("demo", {{"name", "sample"}}, "sample", "demo"),
    mcp::resource(
      "demo",
      {{"uri", "mem://readme"}, {"name", "readme"}, {"mimeType", "text/plain"}},
      "readme", "demo"),
    mcp::resource_template(
      "demo", {{"uriTemplate", "mem://notes/{id}"}, {"name", "note"}}, "note",
      "demo"),
    mcp::prompt(
      "demo",
      {{"name", "greet"},
       {"arguments", json::array({{{"name", "name"}, {"required", true}},
                                  {{"name", "tone"}}})}},
      "greet", "demo"),
  };
}

// -- JSON-RPC messages --------------------------------------------------------

json rpc_request(const json& id, const std::string& method,
                 json params = json::object()) {
  json x = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null())
    x["params"] = std::move(params);
  return x;
}

json rpc_notification(const std::string& method, json params = nullptr) {
  json x = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null())
    x["params"] = std::move(params);
  return x;
}

/// A `tools/call` request; `token` asks for progress.
json tool_request(const json& id, const std::string& name,
                  json arguments = json::object(), json token = nullptr) {
  json params = {{"name", name}, {"arguments", std::move(arguments)}};
  if (!token.is_null())
    params["_meta"] = {{"progressToken", std::move(token)}};
  return rpc_request(id, "tools/call", std::move(params));
}

/// The text items of a tool result, joined.
std::string result_text(const json& response) {
  std::string text;
  auto content = member(member(response, "result"), "content");
  if (content.is_array())
    for (auto& item : content)
      if (item.value("type", "") == "text")
        text += item.value("text", "");
  return text;
}

// -- the fixture --------------------------------------------------------------

/// An auth service that knows the tokens `alice` (scope mcp:vault) and
/// `bob` (also mcp:vault) and `narrow` (no scope); anything else is refused.
caf::behavior token_service(caf::event_based_actor*) {
  return {
    [](auth_check& x) {
      auth_verdict v;
      v.challenge = "Bearer resource_metadata=\"http://node/.well-known/"
                    "oauth-protected-resource" +
                    x.resource + "\"";
      if (x.token != "alice" && x.token != "bob" && x.token != "narrow") {
        v.status = 401;
        v.message = "no valid token";
        return v;
      }
      if (x.token == "narrow") {
        v.status = 403;
        v.message = "the token lacks the scope mcp:vault";
        return v;
      }
      v.status = 200;
      v.who = {x.token, "client", {"mcp:vault"}};
      return v;
    },
  };
}

struct fixture : test::module_fixture {
  caf::actor handler;
  /// Owns the entries of context `demo`.
  caf::actor demo;
  /// Owns `demo/doomed`, a tool that never answers; tests kill it.
  caf::actor doomed;
  std::shared_ptr<owner_log> log = std::make_shared<owner_log>();
  /// Killed at the end of each test.
  std::vector<caf::actor> actors;
  /// Every sink of the test, checked for breaches at its end.
  std::vector<sink_ptr> sinks;

  ~fixture() override {
    for (auto& x : actors)
      anon_send_exit(x, caf::exit_reason::kill);
    consume_messages();
    for (auto& x : sinks)
      CAF_CHECK_EQUAL(x->breaches, "");
  }

  // -- setup ------------------------------------------------------------------

  /// Spawns and starts the handler with the test defaults and `overrides`,
  /// then the owner of context `demo`.
  void start(const json& overrides = json::object()) {
    json cfg = {
      {"default_context", "demo"},         {"max_sessions", 16},
      {"session_idle_timeout_ms", 600000}, {"keepalive_interval_ms", 5000},
      {"call_timeout_ms", 2000},
    };
    cfg.update(overrides);
    auto factory = mcp::make_factory();
    CAF_REQUIRE_EQUAL(factory.check(cfg.dump()), "");
    protocol_context ctx;
    ctx.name = "mcp";
    ctx.registry = registry;
    ctx.bus = bus;
    ctx.settings = cfg.dump();
    handler = factory.spawn(sys, ctx);
    actors.push_back(handler);
    auto rh = self->request(handler, caf::infinite, start_atom::value);
    consume_messages();
    bool started = false;
    rh.receive([&](std::string&) { started = true; },
               [&](caf::error& err) {
                 CAF_FAIL("handler failed to start: " << sys.render(err));
               });
    CAF_REQUIRE(started);
    demo = spawn_owner();
    add(demo, demo_entries());
    doomed = spawn_owner();
    add(doomed, {mcp::tool("demo", {{"name", "doomed"}}, "slow", "doom")});
  }

  caf::actor spawn_owner() {
    auto hdl = sys.spawn(fake_owner, log);
    actors.push_back(hdl);
    return hdl;
  }

  /// Registers `xs` for `owner` with the registry.
  void add(const caf::actor& owner, std::vector<endpoint> xs) {
    auto rh = self->request(registry, caf::infinite, register_atom::value,
                            owner, std::move(xs));
    consume_messages();
    rh.receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 CAF_FAIL("registration failed: " << sys.render(err));
               });
  }

  void withdraw(const caf::actor& owner, std::vector<endpoint> xs) {
    anon_send(registry, withdraw_atom::value, owner, std::move(xs));
    consume_messages();
  }

  /// Moves the clock and runs what becomes due.
  void advance(caf::timespan x) {
    advance_time(x);
    consume_messages();
  }

  // -- HTTP -------------------------------------------------------------------

  /// Header fields of a well-behaved client; `sid` adds `Mcp-Session-Id`.
  static field_list client_headers(const std::string& sid = {}) {
    field_list xs{{"host", "localhost:8080"},
                  {"content-type", "application/json"},
                  {"accept", accept_both}};
    if (!sid.empty())
      xs.emplace_back("mcp-session-id", sid);
    return xs;
  }

  /// `xs` with the field `name` set to `value`.
  static field_list with(field_list xs, const std::string& name,
                         const std::string& value) {
    xs = without(std::move(xs), name);
    xs.emplace_back(name, value);
    return xs;
  }

  static field_list without(field_list xs, const std::string& name) {
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [&](const field& x) { return x.first == name; }),
             xs.end());
    return xs;
  }

  /// Sends a request the way the HTTP layer does and runs every actor until
  /// nothing moves.
  sink_ptr send(std::string method, std::string target, std::string body,
                field_list headers) {
    auto sink = std::make_shared<recording_sink>();
    sinks.push_back(sink);
    self->send(registry,
               http_dispatch{make_request(std::move(method), std::move(target),
                                          std::move(body), std::move(headers)),
                             sink});
    consume_messages();
    CAF_CHECK_EQUAL(sink->breaches, "");
    return sink;
  }

  sink_ptr post_text(const std::string& sid, std::string body,
                     const std::string& target = "/mcp") {
    return send("POST", target, std::move(body), client_headers(sid));
  }

  sink_ptr post(const std::string& sid, const json& msg,
                const std::string& target = "/mcp") {
    return post_text(sid, msg.dump(), target);
  }

  /// Sends one request and returns the answer, which must be plain JSON
  /// with status 200.
  json send_rpc(const std::string& sid, const json& msg) {
    auto sink = post(sid, msg);
    CAF_CHECK_EQUAL(sink->status(), 200);
    CAF_CHECK(!sink->streaming());
    CAF_REQUIRE_EQUAL(sink->delivered.size(), 1u);
    auto x = sink->rpc();
    CAF_REQUIRE(x.is_object());
    CAF_CHECK_EQUAL(member(x, "jsonrpc"), "2.0");
    CAF_CHECK_EQUAL(member(x, "id").dump(), member(msg, "id").dump());
    return x;
  }

  json rpc(const std::string& sid, const std::string& method,
           json params = json::object(), const json& id = 1) {
    return send_rpc(sid, rpc_request(id, method, std::move(params)));
  }

  /// Starts a session and says `notifications/initialized`; returns the
  /// session ID.
  std::string initialize(const std::string& version = "2025-06-18",
                         json caps = json::object(),
                         const std::string& target = "/mcp") {
    auto sink =
      post("",
           rpc_request(0, "initialize",
                       {{"protocolVersion", version},
                        {"capabilities", std::move(caps)},
                        {"clientInfo", {{"name", "test"}, {"version", "1"}}}}),
           target);
    CAF_REQUIRE_EQUAL(sink->status(), 200);
    auto sid = sink->header("mcp-session-id");
    CAF_REQUIRE(sid != nullptr);
    auto result = member(sink->rpc(), "result");
    CAF_CHECK_EQUAL(member(result, "protocolVersion"), version);
    auto ack = post(*sid, rpc_notification("notifications/initialized"));
    CAF_CHECK_EQUAL(ack->status(), 202);
    return *sid;
  }

  /// Opens the GET stream of a session.
  sink_ptr open_stream(const std::string& sid,
                       const std::string& target = "/mcp") {
    auto sink = send("GET", target, {},
                     with(client_headers(sid), "accept", "text/event-stream"));
    CAF_REQUIRE(sink->streaming());
    CAF_CHECK_EQUAL(sink->status(), 200);
    return sink;
  }

  /// Checks that `x` is a JSON-RPC error with `code` for `id`; returns its
  /// message.
  static std::string error_of(const json& x, int code, const json& id) {
    CAF_CHECK_EQUAL(member(x, "jsonrpc"), "2.0");
    CAF_CHECK_EQUAL(member(x, "id").dump(), id.dump());
    CAF_CHECK(!x.contains("result"));
    auto err = member(x, "error");
    CAF_CHECK_EQUAL(member(err, "code"), code);
    auto msg = member(err, "message");
    CAF_CHECK(msg.is_string());
    return msg.is_string() ? msg.get<std::string>() : std::string{};
  }

  /// The names of a `*/list` page.
  static std::vector<std::string> names(const json& page, const char* key,
                                        const char* field = "name") {
    std::vector<std::string> result;
    auto items = member(member(page, "result"), key);
    if (items.is_array())
      for (auto& x : items)
        result.push_back(x.value(field, ""));
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(mcp_handler_tests, fixture)

// -- initialization -----------------------------------------------------------

CAF_TEST(initialize echoes a supported version and offers the newest else) {
  start();
  for (auto v : {"2025-11-25", "2025-06-18", "2025-03-26"})
    initialize(v);
  for (auto v : {"2024-11-05", "1999-01-01", "latest"}) {
    auto sink = post("", rpc_request("i", "initialize",
                                     {{"protocolVersion", v},
                                      {"capabilities", json::object()}}));
    CAF_CHECK_EQUAL(sink->status(), 200);
    auto x = sink->rpc();
    CAF_CHECK_EQUAL(member(x, "id"), "i");
    auto result = member(x, "result");
    CAF_CHECK_EQUAL(member(result, "protocolVersion"), "2025-11-25");
    CAF_CHECK_EQUAL(member(member(result, "serverInfo"), "name"),
                    "switchboard");
    CAF_CHECK(member(member(result, "capabilities"), "tools").is_object());
  }
  // A version that is no string is no version.
  auto sink =
    post("", rpc_request(1, "initialize", {{"protocolVersion", 20250618}}));
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_params, 1),
                 "protocolVersion");
}

CAF_TEST(initialize gives a session ID of 32 hex characters) {
  start();
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto sink = post(
      "", rpc_request(i, "initialize", {{"protocolVersion", "2025-06-18"}}));
    CAF_REQUIRE_EQUAL(sink->status(), 200);
    CAF_CHECK_EQUAL(sink->content_type(), "application/json");
    auto sid = sink->header("Mcp-Session-Id");
    CAF_REQUIRE(sid != nullptr);
    CAF_CHECK_EQUAL(sid->size(), 32u);
    CAF_CHECK(std::all_of(sid->begin(), sid->end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }));
    CAF_CHECK(std::find(seen.begin(), seen.end(), *sid) == seen.end());
    seen.push_back(*sid);
  }
}

CAF_TEST(initialize for a context without entries answers 404) {
  start();
  auto sink =
    post("", rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}),
         "/mcp/nosuch");
  CAF_CHECK_EQUAL(sink->status(), 404);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_params, 1), "'nosuch'");
  CAF_CHECK(sink->header("mcp-session-id") == nullptr);
  // A name no context can have fails before the registry is asked.
  sink =
    post("", rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}),
         "/mcp/No%20Such");
  CAF_CHECK_EQUAL(sink->status(), 404);
  // The context in the path is the session's, and no other path serves it.
  auto sid = initialize("2025-06-18", json::object(), "/mcp/demo");
  auto tools = rpc(sid, "tools/list");
  CAF_CHECK_EQUAL(names(tools, "tools").size(), 6u);
  sink = post(sid, rpc_request(2, "ping"), "/mcp/other");
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr),
                 "belongs to context 'demo'");
}

CAF_TEST(initialize beyond max_sessions answers 503) {
  start({{"max_sessions", 2}});
  initialize();
  initialize();
  auto sink =
    post("", rpc_request(7, "initialize", {{"protocolVersion", "2025-06-18"}}));
  CAF_CHECK_EQUAL(sink->status(), 503);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, 7), "too many sessions");
  CAF_CHECK(sink->header("mcp-session-id") == nullptr);
}

CAF_TEST(initialize in a batch or with a session header answers 400) {
  start();
  auto init = rpc_request(1, "initialize", {{"protocolVersion", "2025-03-26"}});
  auto sink = post("", json::array({init, rpc_request(2, "ping")}));
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, nullptr), "batch");
  auto sid = initialize();
  sink = post(sid, init);
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, 1),
                 "without Mcp-Session-Id");
  // The session lives on.
  CAF_CHECK(member(rpc(sid, "ping"), "result").is_object());
}

// -- sessions -----------------------------------------------------------------

CAF_TEST(a request without session gets 400 and an unknown session 404) {
  start();
  auto sink = post("", rpc_request(1, "ping"));
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "Mcp-Session-Id");
  sink = post(std::string(32, 'a'), rpc_request(1, "ping"));
  CAF_CHECK_EQUAL(sink->status(), 404);
  CHECK_MENTIONS(error_of(sink->rpc(), -32001, nullptr), "initialize");
  // GET and DELETE need a session just the same.
  sink = send("GET", "/mcp", {},
              with(client_headers(), "accept", "text/event-stream"));
  CAF_CHECK_EQUAL(sink->status(), 400);
  sink = send("DELETE", "/mcp", {}, client_headers(std::string(32, 'b')));
  CAF_CHECK_EQUAL(sink->status(), 404);
}

CAF_TEST(DELETE ends a session and later requests get 404) {
  start();
  auto sid = initialize();
  auto other = initialize();
  auto stream = open_stream(sid);
  auto sink = send("DELETE", "/mcp", {}, client_headers(sid));
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_CHECK_EQUAL(sink->body(), "");
  // Its stream ends with it.
  CAF_CHECK_EQUAL(stream->ends, 1);
  CAF_CHECK_EQUAL(post(sid, rpc_request(1, "ping"))->status(), 404);
  CAF_CHECK_EQUAL(send("DELETE", "/mcp", {}, client_headers(sid))->status(),
                  404);
  // Other sessions do not notice.
  CAF_CHECK(member(rpc(other, "ping"), "result").is_object());
}

CAF_TEST(idle sessions expire and count against max_sessions until then) {
  start({{"max_sessions", 2},
         {"session_idle_timeout_ms", 5000},
         {"keepalive_interval_ms", 1000}});
  auto first = initialize();
  auto second = initialize();
  auto init = rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}});
  CAF_CHECK_EQUAL(post("", init)->status(), 503);
  // A request keeps a session alive.
  advance(3s);
  CAF_CHECK(member(rpc(first, "ping"), "result").is_object());
  CAF_CHECK_EQUAL(post("", init)->status(), 503);
  advance(2s);
  CAF_CHECK_EQUAL(post(second, rpc_request(1, "ping"))->status(), 404);
  CAF_CHECK(member(rpc(first, "ping"), "result").is_object());
  // One slot is free again: its expiry made room.
  auto third = post("", init);
  CAF_REQUIRE_EQUAL(third->status(), 200);
  // An open stream keeps a session however long it stays quiet.
  auto stream = open_stream(first);
  advance(20s);
  CAF_CHECK(member(rpc(first, "ping"), "result").is_object());
  CAF_CHECK_EQUAL(
    post(*third->header("mcp-session-id"), rpc_request(1, "ping"))->status(),
    404);
}

CAF_TEST(a session is not idle while a call of it runs) {
  start({{"session_idle_timeout_ms", 5000},
         {"call_timeout_ms", 60000},
         {"keepalive_interval_ms", 1000}});
  auto sid = initialize();
  auto sink = post(sid, tool_request(1, "slow"));
  advance(8s);
  CAF_CHECK(!sink->outcome());
  anon_send(demo, release_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(result_text(sink->rpc()), "released");
  // The answer was the session's last activity, not the request.
  advance(1s);
  CAF_CHECK_EQUAL(post(sid, rpc_request(2, "ping"))->status(), 200);
  advance(5s);
  CAF_CHECK_EQUAL(post(sid, rpc_request(3, "ping"))->status(), 404);
}

CAF_TEST(an unsupported protocol version header gets 400 and none passes) {
  start();
  auto sid = initialize();
  auto sink =
    send("POST", "/mcp", rpc_request(1, "ping").dump(),
         with(client_headers(sid), "mcp-protocol-version", "1999-01-01"));
  CAF_CHECK_EQUAL(sink->status(), 400);
  auto msg = error_of(sink->rpc(), -32000, nullptr);
  CHECK_MENTIONS(msg, "1999-01-01");
  CHECK_MENTIONS(msg, "2025-06-18");
  sink = send("POST", "/mcp", rpc_request(2, "ping").dump(),
              with(client_headers(sid), "mcp-protocol-version", "2025-06-18"));
  CAF_CHECK_EQUAL(sink->status(), 200);
  // The fixture's client sends no version header at all.
  CAF_CHECK(member(rpc(sid, "ping"), "result").is_object());
}

// -- limits -------------------------------------------------------------------

CAF_TEST(wide objects long batches and long names are bounded) {
  start();
  auto sid = initialize("2025-03-26");
  // An object with more members than the limit is refused unparsed.
  std::string wide = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{)";
  for (int i = 0; i <= 1000; ++i)
    wide += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  wide += "}}";
  auto sink = post_text(sid, wide);
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::parse_error, nullptr),
                 "more than 1000 members");
  // A batch of more than 100 messages.
  auto batch = json::array();
  for (int i = 0; i < 101; ++i)
    batch.push_back(rpc_request(i, "ping"));
  sink = post(sid, batch);
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, nullptr),
                 "more than 100 messages");
  batch.erase(batch.begin());
  CAF_CHECK_EQUAL(post(sid, batch)->rpc().size(), 100u);
  // Names in error messages are cut short.
  auto x = rpc(sid, std::string(5000, 'm'), json::object(), 7);
  auto msg = error_of(x, mcp::method_not_found, 7);
  CAF_CHECK_LESS(msg.size(), 200u);
  CHECK_MENTIONS(msg, "...");
  x = send_rpc(sid, tool_request(8, std::string(5000, 't')));
  CAF_CHECK_LESS(error_of(x, mcp::invalid_params, 8).size(), 200u);
}

CAF_TEST(subscriptions are bounded in number and length) {
  start();
  auto sid = initialize();
  for (int i = 0; i < 64; ++i)
    CAF_CHECK(member(rpc(sid, "resources/subscribe",
                         {{"uri", "mem://x/" + std::to_string(i)}}, i),
                     "result")
                .is_object());
  // Subscribing again to one of them is fine; a 65th is not.
  CAF_CHECK(member(rpc(sid, "resources/subscribe", {{"uri", "mem://x/3"}}, 64),
                   "result")
              .is_object());
  CHECK_MENTIONS(
    error_of(rpc(sid, "resources/subscribe", {{"uri", "mem://y"}}, 65),
             mcp::invalid_params, 65),
    "too many subscriptions");
  CHECK_MENTIONS(error_of(rpc(sid, "resources/unsubscribe",
                              {{"uri", std::string(3000, 'u')}}, 66),
                          mcp::invalid_params, 66),
                 "longer than 2048");
  CAF_CHECK(
    member(rpc(sid, "resources/unsubscribe", {{"uri", "mem://x/3"}}, 67),
           "result")
      .is_object());
  CAF_CHECK(
    member(rpc(sid, "resources/subscribe", {{"uri", "mem://y"}}, 68), "result")
      .is_object());
}

CAF_TEST(two host or origin fields are refused) {
  start();
  auto headers = client_headers();
  headers.emplace_back("host", "evil.example");
  auto sink = send(
    "POST", "/mcp",
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump(),
    headers);
  CAF_CHECK_EQUAL(sink->status(), 400);
  headers = client_headers();
  headers.emplace_back("origin", "http://localhost:1");
  headers.emplace_back("origin", "http://evil.example");
  sink = send(
    "POST", "/mcp",
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump(),
    headers);
  CAF_CHECK_EQUAL(sink->status(), 400);
  // An origin that only looks like a loopback one.
  sink = send(
    "POST", "/mcp",
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump(),
    with(client_headers(), "origin", "http://localhost:evil.example"));
  CAF_CHECK_EQUAL(sink->status(), 403);
}

// -- batches ------------------------------------------------------------------

CAF_TEST(batches of the oldest revision answer without notifications) {
  start();
  auto sid = initialize("2025-03-26");
  auto batch = json::array({
    rpc_request(1, "ping"),
    rpc_notification("notifications/progress",
                     {{"progressToken", 1}, {"progress", 1}}),
    rpc_request("list", "tools/list"),
    1,
    {{"no", "jsonrpc"}},
    {{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}},
  });
  auto sink = post(sid, batch);
  CAF_CHECK_EQUAL(sink->status(), 200);
  auto answer = sink->rpc();
  CAF_REQUIRE(answer.is_array());
  CAF_CHECK_EQUAL(answer.size(), 5u);
  size_t invalid = 0;
  for (auto& x : answer) {
    auto id = member(x, "id");
    if (id == 1) {
      CAF_CHECK(member(x, "result").is_object());
    } else if (id == "list") {
      CAF_CHECK_EQUAL(names(x, "tools").size(), 6u);
    } else {
      CAF_CHECK(id.is_null());
      error_of(x, mcp::invalid_request, nullptr);
      ++invalid;
    }
  }
  CAF_CHECK_EQUAL(invalid, 3u);
  // A batch turns into a stream once a call reports progress; answers that
  // are ready go first.
  sink = post(
    sid, json::array({rpc_request(1, "ping"),
                      tool_request(2, "progress", {{"steps", 1}}, "tok")}));
  CAF_REQUIRE(sink->streaming());
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 3u);
  CAF_CHECK_EQUAL(member(events[0], "id"), 1);
  CAF_CHECK_EQUAL(member(events[1], "method"), "notifications/progress");
  CAF_CHECK_EQUAL(member(events[2], "id"), 2);
  CAF_CHECK_EQUAL(sink->ends, 1);
  // Only notifications: nothing to answer.
  sink =
    post(sid, json::array({rpc_notification("notifications/initialized")}));
  CAF_CHECK_EQUAL(sink->status(), 202);
  CAF_CHECK_EQUAL(sink->body(), "");
}

CAF_TEST(batches are refused on later versions and empty ones everywhere) {
  start();
  for (auto v : {"2025-06-18", "2025-11-25"}) {
    auto sid = initialize(v);
    auto sink = post(sid, json::array({rpc_request(1, "ping")}));
    CAF_CHECK_EQUAL(sink->status(), 400);
    CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, nullptr),
                   "has no batches");
  }
  auto old = initialize("2025-03-26");
  auto sink = post_text(old, "[]");
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, nullptr),
                 "empty batch");
}

// -- JSON-RPC errors ----------------------------------------------------------

CAF_TEST(bad JSON or UTF8 and deep nesting are parse errors with id null) {
  start({{"max_json_depth", 16}});
  auto sid = initialize();
  // A ping nesting `depth` levels: the request, its params, then arrays.
  auto nested = [](size_t depth) {
    return R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" +
           std::string(depth - 2, '[') + std::string(depth - 2, ']') + "}}";
  };
  std::vector<std::pair<std::string, std::string>> bad{
    {"{\"jsonrpc\":\"2.0\",\"id\":1,", "not valid JSON"},
    {"\xff", "UTF-8"},
    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffng\"}", "UTF-8"},
    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xaf\"}", "UTF-8"},
    {R"({"jsonrpc":"2.0","id":1,"method":"\ud800"})", "not valid JSON"},
    {nested(17), "deeper than 16"},
    {std::string(100000, '['), "deeper than 16"},
    {"", "not valid JSON"},
  };
  for (auto& [body, why] : bad) {
    auto sink = post_text(sid, body);
    CAF_CHECK_EQUAL(sink->status(), 400);
    CHECK_MENTIONS(error_of(sink->rpc(), mcp::parse_error, nullptr), why);
  }
  // The limit itself passes, and brackets inside strings do not count.
  CAF_CHECK_EQUAL(post_text(sid, nested(16))->status(), 200);
  auto quoted = rpc_request(2, "ping", {{"x", std::string(100, '[')}});
  CAF_CHECK(member(send_rpc(sid, quoted), "result").is_object());
}

CAF_TEST(malformed messages are invalid and unknown methods not found) {
  start();
  auto sid = initialize();
  std::vector<std::pair<std::string, json>> bad{
    {R"({"id":1,"method":"ping"})", 1},
    {R"({"jsonrpc":"1.0","id":2,"method":"ping"})", 2},
    {R"({"jsonrpc":2.0,"id":3,"method":"ping"})", 3},
    {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", nullptr},
    {R"({"jsonrpc":"2.0","id":{},"method":"ping"})", nullptr},
    {R"({"jsonrpc":"2.0","id":[1],"method":"ping"})", nullptr},
    {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", nullptr},
    {R"({"jsonrpc":"2.0","id":4,"method":42})", 4},
    {R"({"jsonrpc":"2.0","id":5,"method":"ping","params":"x"})", 5},
    {R"("ping")", nullptr},
  };
  for (auto& [body, id] : bad) {
    auto sink = post_text(sid, body);
    CAF_CHECK_EQUAL(sink->status(), 400);
    CHECK_MENTIONS(error_of(sink->rpc(), mcp::invalid_request, id),
                   "Invalid Request: ");
  }
  auto x = rpc(sid, "tools/frobnicate", json::object(), 9);
  CAF_CHECK_EQUAL(error_of(x, mcp::method_not_found, 9),
                  "Method not found: tools/frobnicate");
}

CAF_TEST(ids come back with their type) {
  start();
  auto sid = initialize();
  for (auto& id : {json("abc"), json("1"), json(""), json(0), json(-7),
                   json(9007199254740993), json(-9223372036854775807 - 1),
                   json(18446744073709551615u)}) {
    auto x = send_rpc(sid, rpc_request(id, "ping"));
    CAF_CHECK_EQUAL(member(x, "id").type_name(), id.type_name());
    CAF_CHECK(member(x, "result").is_object());
  }
  // Large integers exactly as sent, not through a double.
  auto sink = post_text(sid, R"({"jsonrpc":"2.0","id":18446744073709551615,)"
                             R"("method":"ping"})");
  CHECK_MENTIONS(sink->body(), R"("id":18446744073709551615)");
  // An owner's answer keeps the ID too.
  auto x = send_rpc(sid, tool_request("call-1", "echo", {{"text", "hi"}}));
  CAF_CHECK_EQUAL(member(x, "id"), "call-1");
  x = send_rpc(sid, tool_request(0, "echo", {{"text", "hi"}}));
  CAF_CHECK_EQUAL(member(x, "id"), 0);
  CAF_CHECK_EQUAL(result_text(x), R"(echo {"text":"hi"})");
}

CAF_TEST(invalid params are refused naming the problem) {
  start({{"page_size", 2}});
  auto sid = initialize();
  auto x = send_rpc(sid, tool_request(1, "nosuch"));
  CAF_CHECK_EQUAL(error_of(x, mcp::invalid_params, 1), "Unknown tool: nosuch");
  x = send_rpc(sid, rpc_request(2, "tools/call", json::array({"echo"})));
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 2),
                 "params must be an object");
  x = send_rpc(
    sid, rpc_request(3, "tools/call", {{"name", "echo"}, {"arguments", 5}}));
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 3), "arguments must be");
  x = rpc(sid, "tools/list", {{"cursor", "garbage"}}, 4);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 4), "cursor");
  x = rpc(sid, "tools/list", {{"cursor", 17}}, 5);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 5), "cursor");
  x = rpc(sid, "prompts/get", {{"name", "greet"}}, 6);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 6),
                 "missing required argument 'name'");
  x = rpc(sid, "prompts/get",
          {{"name", "greet"}, {"arguments", {{"name", 42}}}}, 7);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 7),
                 "'name' must be a string");
  x = rpc(sid, "prompts/get", {{"name", "nosuch"}}, 8);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 8), "Unknown prompt: nosuch");
  x = rpc(sid, "logging/setLevel", {{"level", "loud"}}, 9);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 9), "level must be one of");
  x = rpc(sid, "resources/read", {{"uri", "mem://nosuch"}}, 10);
  CHECK_MENTIONS(error_of(x, mcp::resource_not_found, 10), "mem://nosuch");
  // None of these reached an owner.
  CAF_CHECK_EQUAL(log->calls.size(), 0u);
}

CAF_TEST(tool arguments are checked before the owner sees them) {
  start();
  auto sid = initialize();
  struct bad_case {
    json args;
    std::vector<std::string> words;
  };
  std::vector<bad_case> cases{
    {{{"count", 2}}, {"missing required property 'text'"}},
    {{{"text", 5}}, {"arguments.text", "string"}},
    {{{"text", ""}}, {"arguments.text"}},
    {{{"text", "x"}, {"count", 11}}, {"arguments.count", "10"}},
    {{{"text", "x"}, {"count", 2.5}}, {"arguments.count", "integer"}},
    {{{"text", "x"}, {"mode", "reckless"}}, {"arguments.mode"}},
    {{{"text", "x"}, {"tags", json::array({"a", 1})}}, {"arguments.tags[1]"}},
    {{{"text", "x"}, {"options", {{"depth", 1}, {"extra", 1}}}},
     {"arguments.options", "extra"}},
  };
  for (auto& c : cases) {
    auto x = send_rpc(sid, tool_request(1, "echo", c.args));
    auto result = member(x, "result");
    CAF_CHECK_EQUAL(member(result, "isError"), true);
    auto text = result_text(x);
    CHECK_MENTIONS(text, "Invalid arguments for tool 'echo'");
    for (auto& w : c.words)
      CHECK_MENTIONS(text, w);
  }
  CAF_CHECK_EQUAL(log->calls_of("echo"), 0u);
  // Valid arguments pass unchanged.
  json good = {{"text", "x"},
               {"count", 10},
               {"mode", "careful"},
               {"tags", json::array({"a"})},
               {"options", {{"depth", 3}}}};
  auto x = send_rpc(sid, tool_request(2, "echo", good));
  CAF_CHECK(!member(member(x, "result"), "isError").is_boolean());
  CAF_CHECK_EQUAL(log->calls_of("echo"), 1u);
  CAF_CHECK_EQUAL(mcp::arguments(log->calls.back()).dump(), good.dump());
  CAF_CHECK_EQUAL(log->calls.back().session, sid);
}

CAF_TEST(tools list pages cover every tool once in a stable order) {
  start({{"page_size", 2}});
  auto many = spawn_owner();
  std::vector<endpoint> xs;
  for (auto name : {"t4", "t2", "t5", "t1", "t3"})
    xs.push_back(mcp::tool("many", {{"name", name}}, "echo", "many"));
  add(many, xs);
  auto sid = initialize("2025-06-18", json::object(), "/mcp/many");
  auto walk = [&] {
    std::vector<std::vector<std::string>> pages;
    json params = json::object();
    for (int i = 0; i < 10; ++i) {
      auto x = rpc(sid, "tools/list", params, i);
      pages.push_back(names(x, "tools"));
      auto next = member(member(x, "result"), "nextCursor");
      if (next.is_null())
        break;
      CAF_REQUIRE(next.is_string());
      params = {{"cursor", next}};
    }
    return pages;
  };
  auto pages = walk();
  std::vector<std::vector<std::string>> want{
    {"t1", "t2"}, {"t3", "t4"}, {"t5"}};
  CAF_CHECK(pages == want);
  CAF_CHECK(walk() == want);
  // A definition as the owner registered it, with its schema.
  auto x = rpc(sid, "tools/list");
  auto first = member(member(x, "result"), "tools")[0];
  CAF_CHECK_EQUAL(member(first, "inputSchema").dump(), R"({"type":"object"})");
}

CAF_TEST(resources templates prompts and completion reach their owner) {
  start();
  auto sid = initialize();
  auto x = rpc(sid, "resources/list");
  CAF_CHECK(names(x, "resources", "uri") ==
            std::vector<std::string>{"mem://readme"});
  x = rpc(sid, "resources/templates/list");
  CAF_CHECK(names(x, "resourceTemplates", "uriTemplate") ==
            std::vector<std::string>{"mem://notes/{id}"});
  x = rpc(sid, "prompts/list");
  CAF_CHECK(names(x, "prompts") == std::vector<std::string>{"greet"});
  x = rpc(sid, "resources/read", {{"uri", "mem://readme"}});
  auto contents = member(member(x, "result"), "contents");
  CAF_REQUIRE(contents.is_array() && contents.size() == 1);
  CAF_CHECK_EQUAL(contents[0].value("text", ""), "read me");
  x = rpc(sid, "resources/read", {{"uri", "mem://notes/42"}});
  contents = member(member(x, "result"), "contents");
  CAF_REQUIRE(contents.is_array() && contents.size() == 1);
  CAF_CHECK_EQUAL(contents[0].value("text", ""), "note 42");
  CAF_CHECK_EQUAL(log->calls.back().kind, "TEMPLATE");
  CAF_CHECK_EQUAL(log->calls.back().name, "mem://notes/{id}");
  x = rpc(sid, "prompts/get",
          {{"name", "greet"}, {"arguments", {{"name", "Ada"}}}});
  CHECK_MENTIONS(member(member(x, "result"), "messages").dump(), "Hello, Ada");
  x = rpc(sid, "completion/complete",
          {{"ref", {{"type", "ref/prompt"}, {"name", "greet"}}},
           {"argument", {{"name", "name"}, {"value", "al"}}}});
  auto values = member(member(member(x, "result"), "completion"), "values");
  CAF_CHECK_EQUAL(values.dump(), R"(["alice","alan"])");
  CAF_CHECK_EQUAL(log->calls.back().method, "completion/complete");
}

CAF_TEST(owner errors pass through and malformed answers fail) {
  start();
  auto extra = spawn_owner();
  add(extra, {mcp::tool("demo", {{"name", "fail"}}, "fail", "extra"),
              mcp::tool("demo", {{"name", "garbage"}}, "garbage", "extra"),
              mcp::tool("demo",
                        {{"name", "unchecked"},
                         {"inputSchema",
                          {{"type", "object"},
                           {"properties", {{"n", {{"minimum", "x"}}}}}}}},
                        "echo", "extra")});
  auto sid = initialize();
  auto x = send_rpc(sid, tool_request(1, "fail"));
  CAF_CHECK_EQUAL(error_of(x, mcp::invalid_params, 1), "the owner refuses");
  CAF_CHECK_EQUAL(member(member(x, "error"), "data").dump(),
                  R"({"field":"x"})");
  x = send_rpc(sid, tool_request(2, "garbage"));
  CHECK_MENTIONS(error_of(x, mcp::internal_error, 2), "not a JSON object");
  CAF_CHECK_EQUAL(member(member(member(x, "error"), "data"), "reason"),
                  "invalid_result");
  // A schema the handler cannot check keeps the call from the owner.
  x = send_rpc(sid, tool_request(3, "unchecked", {{"n", 1}}));
  CAF_CHECK_EQUAL(member(member(x, "result"), "isError"), true);
  CHECK_MENTIONS(result_text(x), "cannot be checked");
  CHECK_MENTIONS(result_text(x), "minimum");
  CAF_CHECK_EQUAL(log->calls_of("unchecked"), 0u);
  // An owner that answers a completion with something else: no values.
  x = rpc(sid, "completion/complete",
          {{"ref", {{"type", "ref/resource"}, {"uri", "mem://notes/{id}"}}},
           {"argument", {{"name", "id"}, {"value", "4"}}}},
          4);
  CAF_CHECK_EQUAL(member(member(x, "result"), "completion").dump(),
                  R"({"values":[],"total":0,"hasMore":false})");
  CAF_CHECK_EQUAL(log->calls.back().kind, "TEMPLATE");
}

CAF_TEST(notifications and client responses alone get 202 and no body) {
  start();
  auto sid = initialize();
  std::vector<json> messages{
    rpc_notification("notifications/initialized"),
    rpc_notification("notifications/roots/list_changed"),
    {{"jsonrpc", "2.0"}, {"id", "sb-99"}, {"result", json::object()}},
    {{"jsonrpc", "2.0"},
     {"id", "sb-98"},
     {"error", {{"code", -1}, {"message", "no"}}}},
  };
  // Whatever the client accepts: a 202 is neither JSON nor a stream.
  for (auto accept : {accept_both, "application/json", "text/event-stream"}) {
    for (auto& msg : messages) {
      auto sink = send("POST", "/mcp", msg.dump(),
                       with(client_headers(sid), "accept", accept));
      CAF_CHECK_EQUAL(sink->status(), 202);
      CAF_CHECK_EQUAL(sink->body(), "");
      CAF_CHECK_EQUAL(sink->content_type(), "");
      CAF_CHECK(!sink->streaming());
    }
  }
}

CAF_TEST(a client that accepts only event streams gets its answers as events) {
  start();
  auto sink = send(
    "POST", "/mcp",
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump(),
    with(client_headers(), "accept", "text/event-stream"));
  CAF_REQUIRE(sink->streaming());
  CAF_CHECK_EQUAL(sink->content_type(), "text/event-stream");
  CAF_CHECK_EQUAL(sink->ends, 1);
  auto sid = sink->header("mcp-session-id");
  CAF_REQUIRE(sid != nullptr);
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(member(member(events[0], "result"), "protocolVersion"),
                  "2025-06-18");
  sink = send("POST", "/mcp", tool_request(2, "echo", {{"text", "x"}}).dump(),
              with(client_headers(*sid), "accept", "text/event-stream"));
  CAF_REQUIRE(sink->streaming());
  events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(result_text(events[0]), R"(echo {"text":"x"})");
  CAF_CHECK_EQUAL(sink->ends, 1);
}

CAF_TEST(results on several lines reach JSON and event stream clients whole) {
  start();
  auto extra = spawn_owner();
  add(extra, {mcp::tool("demo", {{"name", "pretty"}}, "pretty", "extra")});
  auto sid = initialize();
  // Passed on in one line: a raw line break would end an event's data.
  auto sink = post(sid, tool_request(1, "pretty"));
  CAF_CHECK_EQUAL(sink->body().find('\n'), std::string::npos);
  CAF_CHECK_EQUAL(result_text(sink->rpc()), "a\nb");
  sink = send("POST", "/mcp", tool_request(2, "pretty").dump(),
              with(client_headers(sid), "accept", "text/event-stream"));
  CAF_REQUIRE(sink->streaming());
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(result_text(events[0]), "a\nb");
  CAF_CHECK_EQUAL(member(events[0], "id"), 2);
}

CAF_TEST(a session may have max_calls_per_session calls waiting at once) {
  start({{"max_calls_per_session", 2}});
  auto sid = initialize();
  auto other = initialize();
  auto first = post(sid, tool_request(1, "slow"));
  auto second = post(sid, tool_request(2, "slow"));
  auto x = send_rpc(sid, tool_request(3, "slow"));
  CHECK_MENTIONS(error_of(x, mcp::internal_error, 3), "too many requests");
  CAF_CHECK_EQUAL(log->calls_of("slow"), 2u);
  // Other sessions and requests that call no owner are not limited.
  CAF_CHECK(
    member(send_rpc(other, tool_request(1, "echo", {{"text", "x"}})), "result")
      .is_object());
  CAF_CHECK(member(rpc(sid, "tools/list"), "result").is_object());
  // A cancelled call and one that timed out give their slots back.
  post(sid, rpc_notification("notifications/cancelled", {{"requestId", 1}}));
  CAF_CHECK(
    member(send_rpc(sid, tool_request(4, "echo", {{"text", "x"}})), "result")
      .is_object());
  advance(2s);
  CAF_CHECK(second->done());
  auto third = post(sid, tool_request(5, "slow"));
  auto fourth = post(sid, tool_request(6, "slow"));
  CAF_CHECK(!third->outcome());
  CAF_CHECK(!fourth->outcome());
  CAF_CHECK_EQUAL(log->calls_of("slow"), 4u);
}

// -- HTTP ---------------------------------------------------------------------

CAF_TEST(content type and accept are checked with 415 and 406) {
  start();
  auto sid = initialize();
  auto ping = rpc_request(1, "ping").dump();
  auto sink = send("POST", "/mcp", ping,
                   with(client_headers(sid), "content-type", "text/plain"));
  CAF_CHECK_EQUAL(sink->status(), 415);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "application/json");
  sink =
    send("POST", "/mcp", ping, without(client_headers(sid), "content-type"));
  CAF_CHECK_EQUAL(sink->status(), 415);
  sink = send("POST", "/mcp", ping,
              with(client_headers(sid), "content-type",
                   "Application/JSON; charset=utf-8"));
  CAF_CHECK_EQUAL(sink->status(), 200);
  sink = send("POST", "/mcp", ping,
              with(client_headers(sid), "accept", "text/html"));
  CAF_CHECK_EQUAL(sink->status(), 406);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "Not Acceptable");
  sink = send("POST", "/mcp", ping,
              with(client_headers(sid), "accept",
                   "application/json;q=0, text/event-stream;q=0"));
  CAF_CHECK_EQUAL(sink->status(), 406);
}

CAF_TEST(GET through a port that collects streams answers 405) {
  start();
  auto sid = initialize();
  // An actor that asks with http_request, as a joining node's link does,
  // gets each stream collected whole: no endless GET stream there.
  auto req = make_request("GET", "/mcp", {}, client_headers(sid));
  auto rh = self->request(registry, caf::infinite, std::move(req));
  consume_messages();
  uint16_t status = 0;
  std::string body;
  rh.receive(
    [&](http_response& res) {
      status = res.status;
      body = res.body;
    },
    [](caf::error&) { CAF_FAIL("no answer"); });
  CAF_CHECK_EQUAL(status, 405);
  CHECK_MENTIONS(body, "cannot hold an event stream");
  // A POST through the same path works and comes back whole.
  req = make_request("POST", "/mcp", rpc_request(1, "ping").dump(),
                     client_headers(sid));
  rh = self->request(registry, caf::infinite, std::move(req));
  consume_messages();
  rh.receive([&](http_response& res) { body = res.body; },
             [](caf::error&) { CAF_FAIL("no answer"); });
  CAF_CHECK_EQUAL(body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
}

CAF_TEST(GET opens one event stream per session) {
  start();
  auto sid = initialize();
  auto sink = send("GET", "/mcp", {},
                   with(client_headers(sid), "accept", "application/json"));
  CAF_CHECK_EQUAL(sink->status(), 406);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "text/event-stream");
  auto stream = open_stream(sid);
  CAF_CHECK_EQUAL(stream->content_type(), "text/event-stream");
  CAF_REQUIRE(stream->header("mcp-session-id") != nullptr);
  CAF_CHECK_EQUAL(*stream->header("mcp-session-id"), sid);
  sink = send("GET", "/mcp", {},
              with(client_headers(sid), "accept", "text/event-stream"));
  CAF_CHECK_EQUAL(sink->status(), 409);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "open stream");
  CAF_CHECK_EQUAL(stream->ends, 0);
}

CAF_TEST(host and origin are checked against DNS rebinding) {
  start();
  auto sid = initialize();
  auto ping = rpc_request(1, "ping").dump();
  for (auto host :
       {"evil.example", "evil.example:8080", "localhost.evil.example"}) {
    auto sink =
      send("POST", "/mcp", ping, with(client_headers(sid), "host", host));
    CAF_CHECK_EQUAL(sink->status(), 403);
    CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "Host");
  }
  for (auto host : {"127.0.0.1:9", "[::1]:9", "LOCALHOST"})
    CAF_CHECK_EQUAL(
      send("POST", "/mcp", ping, with(client_headers(sid), "host", host))
        ->status(),
      200);
  for (auto origin :
       {"http://evil.example", "null", "http://localhost.evil.example",
        "http://localhost@evil.example"}) {
    auto sink =
      send("POST", "/mcp", ping, with(client_headers(sid), "origin", origin));
    CAF_CHECK_EQUAL(sink->status(), 403);
    CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), origin);
  }
  // Bytes that are no UTF-8 leave the answer valid JSON.
  auto garbled = send("POST", "/mcp", ping,
                      with(client_headers(sid), "origin", "http://\xff\x01"));
  CAF_CHECK_EQUAL(garbled->status(), 403);
  CAF_CHECK(garbled->rpc().is_object());
  auto origin = std::string{"http://localhost:6274"};
  auto sink =
    send("POST", "/mcp", ping, with(client_headers(sid), "origin", origin));
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_REQUIRE(sink->header("access-control-allow-origin") != nullptr);
  CAF_CHECK_EQUAL(*sink->header("access-control-allow-origin"), origin);
  CAF_REQUIRE(sink->header("access-control-expose-headers") != nullptr);
  CHECK_MENTIONS(*sink->header("access-control-expose-headers"),
                 "Mcp-Session-Id");
  // Without Origin (not a browser) no CORS header appears.
  sink = send("POST", "/mcp", ping, client_headers(sid));
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_CHECK(sink->header("access-control-allow-origin") == nullptr);
}

CAF_TEST(allowed hosts and origins come from the settings) {
  start({{"allowed_hosts", {"mcp.example.com"}},
         {"allowed_origins", {"https://App.Example.com"}}});
  auto ping = rpc_request(1, "ping").dump();
  auto init =
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump();
  auto headers = with(client_headers(), "host", "mcp.example.com:443");
  CAF_CHECK_EQUAL(send("POST", "/mcp", init, client_headers())->status(), 403);
  auto sink = send("POST", "/mcp", init, headers);
  CAF_REQUIRE_EQUAL(sink->status(), 200);
  auto sid = *sink->header("mcp-session-id");
  headers.emplace_back("mcp-session-id", sid);
  sink = send("POST", "/mcp", ping,
              with(headers, "origin", "https://app.example.com"));
  CAF_CHECK_EQUAL(sink->status(), 200);
  // Loopback origins stay allowed; other ones do not.
  sink =
    send("POST", "/mcp", ping, with(headers, "origin", "http://[::1]:3000"));
  CAF_CHECK_EQUAL(sink->status(), 200);
  sink = send("POST", "/mcp", ping,
              with(headers, "origin", "https://other.example.com"));
  CAF_CHECK_EQUAL(sink->status(), 403);
}

CAF_TEST(the context comes from the path or the context header) {
  start();
  auto other = spawn_owner();
  add(other, {mcp::tool("other", {{"name", "x"}}, "echo", "other")});
  auto init =
    rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump();
  auto sink = send("POST", "/mcp", init,
                   with(client_headers(), "x-mcp-context", "other"));
  CAF_REQUIRE_EQUAL(sink->status(), 200);
  auto sid = *sink->header("mcp-session-id");
  CAF_CHECK(names(rpc(sid, "tools/list"), "tools") ==
            std::vector<std::string>{"x"});
  sink = send("POST", "/mcp/demo", init,
              with(client_headers(), "x-mcp-context", "other"));
  CAF_CHECK_EQUAL(sink->status(), 400);
  CHECK_MENTIONS(error_of(sink->rpc(), -32000, nullptr), "X-MCP-Context");
}

CAF_TEST(OPTIONS answers a CORS preflight with 204 and the MCP headers) {
  start();
  field_list xs{
    {"host", "localhost:8080"},
    {"origin", "http://127.0.0.1:6274"},
    {"access-control-request-method", "POST"},
    {"access-control-request-headers", "content-type, mcp-session-id"}};
  auto sink = send("OPTIONS", "/mcp", {}, xs);
  CAF_CHECK_EQUAL(sink->status(), 204);
  CAF_CHECK_EQUAL(sink->body(), "");
  auto allow = sink->header("access-control-allow-headers");
  CAF_REQUIRE(allow != nullptr);
  for (auto name : {"Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version",
                    "Last-Event-ID", "Accept"})
    CHECK_MENTIONS(*allow, name);
  auto methods = sink->header("access-control-allow-methods");
  CAF_REQUIRE(methods != nullptr);
  CHECK_MENTIONS(*methods, "DELETE");
  CAF_REQUIRE(sink->header("access-control-allow-origin") != nullptr);
  CAF_CHECK_EQUAL(*sink->header("access-control-allow-origin"),
                  "http://127.0.0.1:6274");
  sink = send("OPTIONS", "/mcp/demo", {},
              with(xs, "origin", "https://evil.example"));
  CAF_CHECK_EQUAL(sink->status(), 403);
}

// -- streams ------------------------------------------------------------------

CAF_TEST(progress with a token streams progress events before the result) {
  start();
  auto sid = initialize();
  auto sink = post(sid, tool_request(5, "progress", {{"steps", 3}}, "tok-1"));
  CAF_REQUIRE(sink->streaming());
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_CHECK_EQUAL(sink->content_type(), "text/event-stream");
  CAF_REQUIRE(sink->header("mcp-session-id") != nullptr);
  CAF_CHECK_EQUAL(*sink->header("mcp-session-id"), sid);
  CAF_CHECK(sink->delivered.empty());
  CAF_CHECK_EQUAL(sink->ends, 1);
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    auto& x = events[i];
    CAF_CHECK_EQUAL(member(x, "method"), "notifications/progress");
    CAF_CHECK(!x.contains("id"));
    auto params = member(x, "params");
    CAF_CHECK_EQUAL(member(params, "progressToken"), "tok-1");
    CAF_CHECK_EQUAL(member(params, "progress"), i + 1);
    CAF_CHECK_EQUAL(member(params, "total"), 3);
  }
  CAF_CHECK_EQUAL(member(events[3], "id"), 5);
  CAF_CHECK_EQUAL(result_text(events[3]), "done");
  // An integer token comes back as an integer.
  sink = post(sid, tool_request(6, "progress", {{"steps", 1}}, 77));
  events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 2u);
  CAF_CHECK_EQUAL(member(member(events[0], "params"), "progressToken"), 77);
}

CAF_TEST(without token or event stream a progress call answers plain JSON) {
  start();
  auto sid = initialize();
  auto x = send_rpc(sid, tool_request(1, "progress", {{"steps", 2}}));
  CAF_CHECK_EQUAL(result_text(x), "done");
  auto sink = send("POST", "/mcp",
                   tool_request(2, "progress", {{"steps", 2}}, "tok").dump(),
                   with(client_headers(sid), "accept", "application/json"));
  CAF_CHECK(!sink->streaming());
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_CHECK_EQUAL(sink->content_type(), "application/json");
  CAF_CHECK_EQUAL(result_text(sink->rpc()), "done");
  CAF_CHECK_EQUAL(log->calls_of("progress"), 2u);
  // Progress belongs to its request: it does not wander to the GET stream,
  // while a log message of a call without a stream of its own does.
  auto stream = open_stream(sid);
  sink = send("POST", "/mcp",
              tool_request(3, "progress", {{"steps", 2}}, "tok").dump(),
              with(client_headers(sid), "accept", "application/json"));
  CAF_CHECK(!sink->streaming());
  CAF_CHECK_EQUAL(result_text(sink->rpc()), "done");
  CAF_CHECK(stream->events().empty());
  sink = send("POST", "/mcp", tool_request(4, "log").dump(),
              with(client_headers(sid), "accept", "application/json"));
  CAF_CHECK_EQUAL(result_text(sink->rpc()), "logged");
  CAF_CHECK_EQUAL(stream->events().size(), 4u);
}

CAF_TEST(logging setLevel filters log messages below the level) {
  start();
  auto sid = initialize();
  auto levels = [](const sink_ptr& sink) {
    std::vector<std::string> result;
    for (auto& x : sink->events())
      if (member(x, "method") == "notifications/message")
        result.push_back(member(member(x, "params"), "level"));
    return result;
  };
  auto before = post(sid, tool_request(1, "log"));
  CAF_CHECK_EQUAL(levels(before).size(), 4u);
  CAF_CHECK(
    member(rpc(sid, "logging/setLevel", {{"level", "warning"}}), "result")
      .is_object());
  auto sink = post(sid, tool_request(2, "log"));
  CAF_REQUIRE(sink->streaming());
  CAF_CHECK(levels(sink) == (std::vector<std::string>{"warning", "error"}));
  auto events = sink->events();
  CAF_REQUIRE(!events.empty());
  CAF_CHECK_EQUAL(member(events.back(), "id"), 2);
  CAF_CHECK_EQUAL(member(member(events[0], "params"), "logger"), "demo");
  CAF_CHECK(
    member(rpc(sid, "logging/setLevel", {{"level", "emergency"}}), "result")
      .is_object());
  auto quiet = post(sid, tool_request(3, "log"));
  CAF_CHECK(!quiet->streaming());
  CAF_CHECK_EQUAL(result_text(quiet->rpc()), "logged");
}

CAF_TEST(sampling requests reach the client and its answer the owner) {
  start();
  auto sid = initialize("2025-06-18", {{"sampling", json::object()}});
  auto sink = post(sid, tool_request(5, "sample"));
  CAF_REQUIRE(sink->streaming());
  CAF_CHECK(!sink->done());
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  auto ask = events[0];
  CAF_CHECK_EQUAL(member(ask, "method"), "sampling/createMessage");
  CAF_CHECK(member(ask, "id").is_string());
  CAF_CHECK(member(member(ask, "params"), "messages").is_array());
  // The client answers with a POST of its own.
  json reply = {{"jsonrpc", "2.0"},
                {"id", member(ask, "id")},
                {"result",
                 {{"role", "assistant"},
                  {"content", {{"type", "text"}, {"text", "hi there"}}},
                  {"model", "test-model"}}}};
  auto ack = post(sid, reply);
  CAF_CHECK_EQUAL(ack->status(), 202);
  CAF_REQUIRE_EQUAL(log->answers.size(), 1u);
  CAF_CHECK_EQUAL(log->answers[0].error_code, 0);
  CHECK_MENTIONS(log->answers[0].result, "test-model");
  CAF_CHECK_EQUAL(sink->ends, 1);
  events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 2u);
  CAF_CHECK_EQUAL(member(events[1], "id"), 5);
  CAF_CHECK_EQUAL(result_text(events[1]), "sampled: hi there");
  // A second answer to the same request goes nowhere.
  CAF_CHECK_EQUAL(post(sid, reply)->status(), 202);
  CAF_CHECK_EQUAL(log->answers.size(), 1u);
  // An error of the client reaches the owner as an error.
  sink = post(sid, tool_request(6, "sample"));
  events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  ack = post(sid, {{"jsonrpc", "2.0"},
                   {"id", member(events[0], "id")},
                   {"error", {{"code", -1}, {"message", "user rejected"}}}});
  CAF_CHECK_EQUAL(ack->status(), 202);
  CAF_REQUIRE_EQUAL(log->answers.size(), 2u);
  CAF_CHECK_EQUAL(log->answers[1].error_code, -1);
  CAF_CHECK_EQUAL(log->answers[1].error_message, "user rejected");
  // Another session cannot answer for this one.
  auto other = initialize("2025-06-18", {{"sampling", json::object()}});
  sink = post(sid, tool_request(7, "sample"));
  events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  reply["id"] = member(events[0], "id");
  post(other, reply);
  CAF_CHECK_EQUAL(log->answers.size(), 2u);
  post(sid, reply);
  CAF_CHECK_EQUAL(log->answers.size(), 3u);
}

CAF_TEST(a client error code outside the int32 range reaches the owner as one) {
  start();
  auto sid =
    initialize("2025-06-18", {{"sampling", {{"big", std::string(1000, 'x')}}}});
  auto sink = post(sid, tool_request(1, "sample"));
  auto events = sink->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  post(sid, {{"jsonrpc", "2.0"},
             {"id", member(events[0], "id")},
             {"error", {{"code", 4294967296LL}, {"message", "denied"}}}});
  CAF_REQUIRE_EQUAL(log->answers.size(), 1u);
  CAF_CHECK_EQUAL(log->answers[0].error_code, mcp::internal_error);
  CAF_CHECK_EQUAL(log->answers[0].error_message, "denied");
}

CAF_TEST(a sampling request the client never answers fails at the deadline) {
  start({{"call_timeout_ms", 3000}});
  auto sid = initialize("2025-06-18", {{"sampling", json::object()}});
  // The owner holds the call open longer than the client may take.
  auto sink = post(sid, tool_request(5, "sample"));
  CAF_REQUIRE_EQUAL(sink->events().size(), 1u);
  advance(2999ms);
  CAF_CHECK(log->answers.empty());
  CAF_CHECK(!sink->done());
  advance(1s);
  CAF_REQUIRE_EQUAL(log->answers.size(), 1u);
  CAF_CHECK_EQUAL(log->answers[0].error_code, mcp::internal_error);
  CHECK_MENTIONS(log->answers[0].error_message, "did not answer in time");
  CAF_CHECK(sink->done());
  // A late answer of the client changes nothing.
  auto id = member(sink->events()[0], "id");
  CAF_CHECK_EQUAL(
    post(sid, {{"jsonrpc", "2.0"}, {"id", id}, {"result", json::object()}})
      ->status(),
    202);
  CAF_CHECK_EQUAL(log->answers.size(), 1u);
}

CAF_TEST(an owner asking a client without sampling gets method not found) {
  start();
  auto sid = initialize("2025-06-18", {{"roots", json::object()}});
  auto x = send_rpc(sid, tool_request(1, "sample"));
  CAF_REQUIRE_EQUAL(log->answers.size(), 1u);
  CAF_CHECK_EQUAL(log->answers[0].error_code, mcp::method_not_found);
  CHECK_MENTIONS(log->answers[0].error_message, "sampling");
  CAF_CHECK_EQUAL(member(member(x, "result"), "isError"), true);
  CHECK_MENTIONS(result_text(x), "-32601");
}

CAF_TEST(list changes reach the GET streams of sessions of that context) {
  start();
  auto other_owner = spawn_owner();
  add(other_owner, {mcp::tool("other", {{"name", "x"}}, "echo", "other")});
  auto sid = initialize();
  auto stream = open_stream(sid);
  auto other = initialize("2025-06-18", json::object(), "/mcp/other");
  auto other_stream = open_stream(other);
  auto extra = spawn_owner();
  auto fresh = mcp::tool("demo", {{"name", "fresh"}}, "echo", "extra");
  add(extra, {fresh});
  auto events = stream->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(member(events[0], "method"),
                  "notifications/tools/list_changed");
  CAF_CHECK(!events[0].contains("id"));
  CAF_CHECK(other_stream->events().empty());
  // The listing has it at once.
  auto tools = names(rpc(sid, "tools/list"), "tools");
  CAF_CHECK(std::find(tools.begin(), tools.end(), "fresh") != tools.end());
  CAF_CHECK_EQUAL(
    result_text(send_rpc(sid, tool_request(2, "fresh", {{"a", 1}}))),
    R"(echo {"a":1})");
  withdraw(extra, {fresh});
  CAF_CHECK_EQUAL(stream->events().size(), 2u);
  tools = names(rpc(sid, "tools/list"), "tools");
  CAF_CHECK(std::find(tools.begin(), tools.end(), "fresh") == tools.end());
  // Prompts have a notification of their own.
  add(extra, {mcp::prompt("demo", {{"name", "p"}}, "greet", "extra")});
  events = stream->events();
  CAF_REQUIRE_EQUAL(events.size(), 3u);
  CAF_CHECK_EQUAL(member(events[2], "method"),
                  "notifications/prompts/list_changed");
  CAF_CHECK(other_stream->events().empty());
  CAF_CHECK_EQUAL(stream->ends, 0);
}

CAF_TEST(resource updates reach only sessions that subscribed) {
  start();
  auto a = initialize();
  auto b = initialize();
  auto a_stream = open_stream(a);
  auto b_stream = open_stream(b);
  CAF_CHECK(
    member(rpc(a, "resources/subscribe", {{"uri", "mem://readme"}}), "result")
      .is_object());
  auto x = rpc(a, "resources/subscribe", json::object(), 2);
  CHECK_MENTIONS(error_of(x, mcp::invalid_params, 2), "uri");
  mcp::updated(bus, "demo", "mem://readme");
  consume_messages();
  auto events = a_stream->events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(member(events[0], "method"),
                  "notifications/resources/updated");
  CAF_CHECK_EQUAL(member(member(events[0], "params"), "uri"), "mem://readme");
  CAF_CHECK(b_stream->events().empty());
  // Other resources and other contexts do not count.
  mcp::updated(bus, "demo", "mem://other");
  mcp::updated(bus, "other", "mem://readme");
  consume_messages();
  CAF_CHECK_EQUAL(a_stream->events().size(), 1u);
  rpc(a, "resources/unsubscribe", {{"uri", "mem://readme"}});
  mcp::updated(bus, "demo", "mem://readme");
  consume_messages();
  CAF_CHECK_EQUAL(a_stream->events().size(), 1u);
}

CAF_TEST(notifications cancelled drops a pending call without a response) {
  start();
  auto sid = initialize();
  auto cancelled = post(sid, tool_request(7, "slow"));
  auto kept = post(sid, tool_request(8, "slow"));
  CAF_CHECK(!cancelled->outcome());
  CAF_CHECK_EQUAL(log->calls_of("slow"), 2u);
  // The ID must match in type: "8" is not 8; and only the session that
  // sent a request can cancel it.
  auto ack = post(
    sid, rpc_notification("notifications/cancelled", {{"requestId", "8"}}));
  CAF_CHECK_EQUAL(ack->status(), 202);
  auto other = initialize();
  ack = post(other,
             rpc_notification("notifications/cancelled", {{"requestId", 8}}));
  CAF_CHECK_EQUAL(ack->status(), 202);
  ack = post(sid, rpc_notification("notifications/cancelled",
                                   {{"requestId", 7}, {"reason", "user"}}));
  CAF_CHECK_EQUAL(ack->status(), 202);
  // The cancelled exchange closes without a JSON-RPC response.
  CAF_CHECK(cancelled->done());
  CAF_CHECK_EQUAL(cancelled->body(), "");
  CAF_CHECK(cancelled->events().empty());
  CAF_CHECK(!kept->outcome());
  // The owner answers both late; only the one not cancelled reaches a client.
  anon_send(demo, release_atom::value);
  consume_messages();
  CAF_CHECK_EQUAL(cancelled->delivered.size(), 1u);
  CAF_CHECK_EQUAL(cancelled->body(), "");
  CAF_CHECK_EQUAL(cancelled->breaches, "");
  CAF_CHECK_EQUAL(result_text(kept->rpc()), "released");
  CAF_CHECK_EQUAL(member(kept->rpc(), "id"), 8);
}

// -- failures of owners -------------------------------------------------------

CAF_TEST(a call fails at once with owner_down when its owner dies) {
  start();
  auto sid = initialize();
  auto sink = post(sid, tool_request("d-1", "doomed"));
  CAF_CHECK(!sink->outcome());
  CAF_CHECK_EQUAL(log->calls_of("doomed"), 1u);
  // No clock moves: only the owner's down message can answer.
  anon_send_exit(doomed, caf::exit_reason::kill);
  consume_messages();
  CAF_REQUIRE(sink->outcome());
  CAF_CHECK_EQUAL(sink->status(), 200);
  auto x = sink->rpc();
  CHECK_MENTIONS(error_of(x, mcp::internal_error, "d-1"), "went down");
  CAF_CHECK_EQUAL(member(member(member(x, "error"), "data"), "reason"),
                  "owner_down");
  // Its tool is gone with it.
  x = send_rpc(sid, tool_request(2, "doomed"));
  CAF_CHECK_EQUAL(error_of(x, mcp::invalid_params, 2), "Unknown tool: doomed");
}

CAF_TEST(calls waiting on a registry that goes down fail at once) {
  start();
  auto sid = initialize();
  auto sink = post(sid, tool_request("r-1", "doomed"));
  CAF_CHECK(!sink->outcome());
  // The owner holds the call; the registry goes, and no clock moves.
  anon_send_exit(registry, caf::exit_reason::kill);
  consume_messages();
  CAF_REQUIRE(sink->outcome());
  auto x = sink->rpc();
  CHECK_MENTIONS(error_of(x, mcp::internal_error, "r-1"), "registry is down");
  CAF_CHECK_EQUAL(member(member(member(x, "error"), "data"), "reason"),
                  "unavailable");
}

CAF_TEST(a call fails with timeout when call_timeout_ms passes) {
  start({{"call_timeout_ms", 2000}});
  auto sid = initialize();
  auto sink = post(sid, tool_request("t-1", "slow"));
  advance(1999ms);
  CAF_CHECK(!sink->outcome());
  advance(1ms);
  CAF_REQUIRE(sink->outcome());
  CAF_CHECK_EQUAL(sink->status(), 200);
  auto x = sink->rpc();
  CHECK_MENTIONS(error_of(x, mcp::internal_error, "t-1"), "in time");
  CAF_CHECK_EQUAL(member(member(member(x, "error"), "data"), "reason"),
                  "timeout");
  // The owner's late answer changes nothing.
  anon_send(demo, release_atom::value);
  advance(10s);
  CAF_CHECK_EQUAL(sink->delivered.size(), 1u);
  CAF_CHECK_EQUAL(sink->breaches, "");
}

CAF_TEST(a prompt with a malformed definition does not break the handler) {
  start();
  auto odd = spawn_owner();
  // Declared arguments whose `required` is no boolean, whose name is no
  // string, or that are no objects at all: none of them is required.
  auto malformed = mcp::prompt(
    "odd",
    {{"name", "odd"},
     {"arguments", json::array({{{"name", "x"}, {"required", "yes"}},
                                {{"name", 5}, {"required", true}},
                                "junk"})}},
    "greet", "odd");
  add(odd, {malformed});
  auto sid = initialize("2025-06-18", json::object(), "/mcp/odd");
  // Once right after a change empties the cache (the prompt is checked in a
  // response handler then), once from the cache.
  add(odd, {mcp::tool("odd", {{"name", "t"}}, "echo", "odd")});
  for (int i = 0; i < 2; ++i) {
    auto sink = post(sid, rpc_request(i, "prompts/get", {{"name", "odd"}}));
    CAF_CHECK_EQUAL(sink->status(), 200);
    auto x = sink->rpc();
    CAF_CHECK_EQUAL(member(x, "id"), i);
    CHECK_MENTIONS(member(member(x, "result"), "messages").dump(), "Hello");
    // The handler lives on.
    CAF_CHECK_EQUAL(post(sid, rpc_request(9, "ping"))->status(), 200);
  }
}

CAF_TEST(params of any shape get an answer and never end the handler) {
  start();
  auto sid = initialize("2025-03-26", {{"sampling", json::object()}});
  std::vector<json> values{nullptr,
                           1,
                           1.5,
                           -1,
                           "",
                           "x",
                           "greet",
                           "mem://readme",
                           "echo",
                           true,
                           json::array(),
                           json::array({1}),
                           json::object(),
                           {{"type", "ref/prompt"}, {"name", "greet"}},
                           {{"name", "name"}, {"value", 1}}};
  std::vector<json> shapes{json::array(), json::array({1}), json::object()};
  for (auto& x : values) {
    json all = json::object();
    for (auto key : {"name", "uri", "level", "cursor", "ref", "argument",
                     "arguments", "_meta", "requestId", "protocolVersion"})
      all[key] = x;
    shapes.push_back(all);
    shapes.push_back({{"name", "echo"}, {"arguments", {{"text", x}}}});
    shapes.push_back({{"name", "greet"}, {"arguments", {{"name", x}}}});
    shapes.push_back({{"name", "echo"},
                      {"arguments", {{"text", "x"}}},
                      {"_meta", {{"progressToken", x}}}});
  }
  int64_t n = 0;
  for (auto method :
       {"ping", "tools/list", "tools/call", "resources/list", "resources/read",
        "resources/templates/list", "resources/subscribe",
        "resources/unsubscribe", "prompts/list", "prompts/get",
        "completion/complete", "logging/setLevel"}) {
    for (auto& params : shapes) {
      auto id = ++n;
      auto x = send_rpc(sid, rpc_request(id, method, params));
      CAF_CHECK(x.contains("result") != x.contains("error"));
    }
    // Shapes that are no params at all are invalid requests.
    for (auto& params : {json(1), json("x"), json(true)}) {
      auto sink = post(sid, rpc_request(++n, method, params));
      CAF_CHECK_EQUAL(sink->status(), 400);
      error_of(sink->rpc(), mcp::invalid_request, n);
    }
  }
  // Initialization too, outside the session.
  for (auto& params : shapes) {
    auto sink = post("", rpc_request(++n, "initialize", params));
    CAF_CHECK(sink->status() == 200 || sink->status() == 400);
    auto x = sink->rpc();
    CAF_CHECK_EQUAL(member(x, "id"), n);
    CAF_CHECK(x.contains("result") != x.contains("error"));
  }
  // Notifications and responses of any shape are taken without a word.
  for (auto& x : values) {
    for (auto& msg :
         {rpc_notification("notifications/cancelled", {{"requestId", x}}),
          rpc_notification("notifications/cancelled", x),
          json{{"jsonrpc", "2.0"}, {"id", "sb-1"}, {"result", x}},
          json{{"jsonrpc", "2.0"}, {"id", "sb-1"}, {"error", x}}}) {
      auto sink = post(sid, msg);
      CAF_CHECK(sink->status() == 202 || sink->status() == 400);
    }
  }
  // The handler lives on and so does the session.
  CAF_CHECK(member(rpc(sid, "ping"), "result").is_object());
  CAF_CHECK_GREATER(log->calls.size(), 0u);
}

CAF_TEST(every prefix of a request is answered without a crash) {
  start();
  auto sid = initialize("2025-03-26");
  auto body =
    json::array(
      {tool_request("a", "echo", {{"text", "x"}}),
       rpc_notification("notifications/initialized"),
       rpc_request(7, "prompts/get",
                   {{"name", "greet"}, {"arguments", {{"name", "Ada"}}}})})
      .dump();
  for (size_t len = 0; len < body.size(); ++len) {
    auto sink = post_text(sid, body.substr(0, len));
    CAF_CHECK_EQUAL(sink->status(), 400);
    error_of(sink->rpc(), mcp::parse_error, nullptr);
  }
  // The whole of it: two requests and a notification.
  auto x = post_text(sid, body)->rpc();
  CAF_REQUIRE(x.is_array());
  CAF_CHECK_EQUAL(x.size(), 2u);
}

// -- time ---------------------------------------------------------------------

CAF_TEST(open streams hear keep alive comments after the interval) {
  start({{"keepalive_interval_ms", 2000}, {"call_timeout_ms", 60000}});
  auto sid = initialize();
  auto stream = open_stream(sid);
  auto call = post(
    sid, tool_request(1, "progress", {{"steps", 1}, {"hold", true}}, "tok"));
  CAF_REQUIRE(call->streaming());
  advance(1s);
  CAF_CHECK_EQUAL(stream->keep_alives(), 0u);
  CAF_CHECK_EQUAL(call->keep_alives(), 0u);
  advance(1s);
  CAF_CHECK_EQUAL(stream->keep_alives(), 1u);
  CAF_CHECK_EQUAL(call->keep_alives(), 1u);
  advance(2s);
  CAF_CHECK_EQUAL(stream->keep_alives(), 2u);
  // Comments are no events: the call's stream still holds one progress.
  CAF_CHECK_EQUAL(call->events().size(), 1u);
  CAF_CHECK_EQUAL(stream->ends, 0);
  CAF_CHECK_EQUAL(stream->breaches, "");
}

CAF_TEST(an abandoned GET stream is dropped at the next tick) {
  start({{"keepalive_interval_ms", 1000}});
  auto sid = initialize();
  auto stream = open_stream(sid);
  stream->gone = true;
  advance(1s);
  CAF_CHECK_EQUAL(stream->ends, 1);
  // The session may open a new one.
  auto again = open_stream(sid);
  CAF_CHECK_EQUAL(again->ends, 0);
  // A POST whose client left is dropped as well; its late answer goes
  // nowhere.
  auto sink = post(sid, tool_request(1, "slow"));
  sink->gone = true;
  advance(1s);
  anon_send(demo, release_atom::value);
  consume_messages();
  CAF_CHECK(!sink->outcome());
  CAF_CHECK_EQUAL(sink->breaches, "");
  CAF_CHECK(member(rpc(sid, "ping"), "result").is_object());
}

CAF_TEST(stop answers waiting requests and ends open streams) {
  start({{"keepalive_interval_ms", 1000}, {"call_timeout_ms", 60000}});
  auto sid = initialize("2025-06-18", {{"sampling", json::object()}});
  auto stream = open_stream(sid);
  auto call = post(
    sid, tool_request(1, "progress", {{"steps", 1}, {"hold", true}}, "tok"));
  auto ask = post(sid, tool_request(2, "sample"));
  auto plain = post(sid, tool_request(3, "slow"));
  CAF_REQUIRE(call->streaming());
  CAF_REQUIRE(ask->streaming());
  CAF_REQUIRE(!plain->outcome());
  auto rh = self->request(handler, caf::infinite, stop_atom::value);
  consume_messages();
  bool stopped = false;
  rh.receive([&](caf::ok_atom) { stopped = true; },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(stopped);
  // Each waiting request hears why it gets no result, rather than from a
  // stream that just ends.
  auto stopping = [](const json& x, const json& id) {
    CHECK_MENTIONS(error_of(x, mcp::internal_error, id), "stopping");
    CAF_CHECK_EQUAL(member(member(member(x, "error"), "data"), "reason"),
                    "stopping");
  };
  for (auto& [sink, id] : {std::make_pair(call, 1), std::make_pair(ask, 2)}) {
    CAF_CHECK_EQUAL(sink->ends, 1);
    auto events = sink->events();
    CAF_REQUIRE(!events.empty());
    stopping(events.back(), id);
  }
  CAF_CHECK_EQUAL(plain->status(), 200);
  stopping(plain->rpc(), 3);
  CAF_CHECK_EQUAL(stream->ends, 1);
  CAF_CHECK(stream->events().empty());
  // The owner that asked the client hears that it will get no answer.
  CAF_REQUIRE_EQUAL(log->answers.size(), 1u);
  CAF_CHECK_NOT_EQUAL(log->answers[0].error_code, 0);
  // Late answers of owners and ticks write to no ended stream.
  anon_send(demo, release_atom::value);
  advance(5s);
  CAF_CHECK_EQUAL(stream->keep_alives(), 0u);
  CAF_CHECK_EQUAL(plain->delivered.size(), 1u);
  // Requests that still arrive while the node drains find no session and
  // may start none: no stream opens that nobody would ever end.
  auto late = send("GET", "/mcp", {},
                   with(client_headers(sid), "accept", "text/event-stream"));
  CAF_CHECK(!late->streaming());
  CAF_CHECK_EQUAL(late->status(), 503);
  auto init =
    post("", rpc_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}));
  CAF_CHECK_EQUAL(init->status(), 503);
  CHECK_MENTIONS(error_of(init->rpc(), -32000, nullptr), "stopping");
}

CAF_TEST(a context whose entries need a token admits only valid tokens) {
  start();
  auto vault = spawn_owner();
  auto secret = mcp::tool("vault", {{"name", "echo"}}, "echo", "vault");
  secret.auth = auth_requirement::required;
  add(vault, {secret});
  auto service = sys.spawn(token_service);
  actors.push_back(service);
  self->send(registry, auth_service_atom::value, service);
  consume_messages();
  auto init = rpc_request(0, "initialize",
                          {{"protocolVersion", "2025-06-18"},
                           {"capabilities", json::object()},
                           {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  auto as = [&](const std::string& token, const std::string& sid,
                const json& msg, const std::string& method = "POST") {
    auto headers = client_headers(sid);
    if (!token.empty())
      headers.emplace_back("authorization", "Bearer " + token);
    if (method == "GET")
      headers = with(headers, "accept", "text/event-stream");
    return send(method, "/mcp/vault", method == "POST" ? msg.dump() : "",
                headers);
  };
  // No token, a bad one, one without the scope: no session, and the
  // challenge tells the client where to look.
  auto sink = as("", "", init);
  CAF_CHECK_EQUAL(sink->status(), 401);
  CAF_REQUIRE(sink->header("www-authenticate") != nullptr);
  CHECK_MENTIONS(*sink->header("www-authenticate"),
                 "oauth-protected-resource/mcp/vault");
  CAF_CHECK(sink->header("mcp-session-id") == nullptr);
  CAF_CHECK_EQUAL(as("forged", "", init)->status(), 401);
  CAF_CHECK_EQUAL(as("narrow", "", init)->status(), 403);
  // A valid token starts a session, and calls carry its principal.
  sink = as("alice", "", init);
  CAF_REQUIRE_EQUAL(sink->status(), 200);
  auto sid = *sink->header("mcp-session-id");
  sink = as("alice", sid, tool_request(2, "echo", {{"x", 1}}));
  CAF_CHECK_EQUAL(sink->status(), 200);
  CAF_REQUIRE(!log->calls.empty());
  CAF_CHECK_EQUAL(log->calls.back().who.subject, "alice");
  // Every request needs the token, GET and DELETE too.
  CAF_CHECK_EQUAL(as("", sid, tool_request(3, "echo"))->status(), 401);
  CAF_CHECK_EQUAL(as("", sid, {}, "GET")->status(), 401);
  CAF_CHECK_EQUAL(as("", sid, {}, "DELETE")->status(), 401);
  // Another subject's valid token does not find alice's session, even on
  // the default path with the session's context taken from the session.
  CAF_CHECK_EQUAL(as("bob", sid, tool_request(4, "echo"))->status(), 404);
  auto headers = client_headers(sid);
  headers.emplace_back("authorization", "Bearer bob");
  CAF_CHECK_EQUAL(
    send("POST", "/mcp", tool_request(5, "echo").dump(), headers)->status(),
    404);
  headers = with(headers, "authorization", "Bearer x");
  CAF_CHECK_EQUAL(
    send("POST", "/mcp", tool_request(6, "echo").dump(), headers)->status(),
    401);
  // Two tokens are one too many.
  headers = client_headers(sid);
  headers.emplace_back("authorization", "Bearer alice");
  headers.emplace_back("authorization", "Bearer bob");
  CAF_CHECK_EQUAL(
    send("POST", "/mcp/vault", tool_request(8, "echo").dump(), headers)
      ->status(),
    400);
  // Open contexts stay open.
  auto open = initialize();
  CAF_CHECK_EQUAL(member(rpc(open, "ping"), "result"), json::object());
  // Without the auth service, the protected context is closed: 503.
  anon_send_exit(service, caf::exit_reason::kill);
  consume_messages();
  CAF_CHECK_EQUAL(as("alice", sid, tool_request(7, "echo"))->status(), 503);
}

CAF_TEST_FIXTURE_SCOPE_END()
