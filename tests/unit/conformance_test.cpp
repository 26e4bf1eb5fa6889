#define CAF_SUITE conformance
#include "tests/kit/module_fixture.hpp"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/mcp_messages.hpp"
#include "modules/conformance/conformance_module.hpp"

using namespace sb;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct client_state {
  /// Notices in the order they arrived.
  std::vector<mcp_notice> notices;
  /// Requests that the module sent to the client.
  std::vector<mcp_ask> asks;
  /// What the client answers to each request.
  mcp_result answer;
};

/// Stands in for the MCP handler of one client: records what the module
/// tells the client and answers each request of the module with `answer`.
caf::behavior fake_client(caf::stateful_actor<client_state>* self,
                          mcp_result answer) {
  self->state.answer = std::move(answer);
  return {
    [self](mcp_notice& x) { self->state.notices.push_back(std::move(x)); },
    [self](mcp_ask& x) {
      self->state.asks.push_back(std::move(x));
      return self->state.answer;
    },
  };
}

struct listener_state {
  std::vector<mcp_updated> seen;
};

/// Records the `mcp_updated` events of topic `mcp`.
caf::behavior listener(caf::stateful_actor<listener_state>* self,
                       caf::actor bus) {
  self->send(bus, subscribe_atom::value, std::string{"mcp"});
  return {
    [self](mcp_updated& x) { self->state.seen.push_back(std::move(x)); },
  };
}

mcp_result sampled(const std::string& text) {
  mcp_result res;
  res.result = json{
    {"role", "assistant"},
    {"content", {{"type", "text"}, {"text", text}}},
    {"model", "test-model"},
    {"stopReason",
     "endTurn"}}.dump();
  return res;
}

struct fixture : test::module_fixture {
  caf::actor module;
  caf::actor client;

  fixture() {
    // The module is not started: the registry does not take MCP entries
    // yet, so the tests send each call to the module directly.
    module =
      modules::conformance::make_factory().spawn(sys, context("conformance"));
    use_client(mcp_result{});
  }

  ~fixture() override {
    for (auto& x : {module, client})
      anon_send_exit(x, caf::exit_reason::kill);
    consume_messages();
  }

  /// Replaces the client with one that answers `answer` to each request.
  void use_client(mcp_result answer) {
    if (client)
      anon_send_exit(client, caf::exit_reason::kill);
    client = sys.spawn(fake_client, std::move(answer));
    consume_messages();
  }

  client_state& seen() {
    return deref<caf::stateful_actor<client_state>>(client).state;
  }

  /// A call as the registry would pass it on: `handler` names the entry.
  mcp_request make_call(const char* kind, const std::string& name,
                        const char* method, json params = json::object()) {
    mcp_request call;
    call.context = "conformance";
    call.kind = kind;
    call.name = name;
    call.handler = name;
    call.method = method;
    call.params = params.dump();
    call.session = "session-1";
    call.peer = client;
    call.call = 7;
    return call;
  }

  mcp_request tool_call(const std::string& name,
                        json arguments = json::object()) {
    return make_call("TOOL", name, "tools/call",
                     {{"name", name}, {"arguments", std::move(arguments)}});
  }

  /// Whether the test's own actor has an answer waiting.
  bool has_reply() { return !self->mailbox().empty(); }

  /// Takes the answer to `rh`; fails the test on an error.
  template <class Handle>
  mcp_result answer(Handle& rh) {
    CAF_REQUIRE(has_reply());
    mcp_result result;
    rh.receive(
      [&](mcp_result& x) { result = std::move(x); },
      [&](caf::error& err) { CAF_FAIL("call failed: " << sys.render(err)); });
    return result;
  }

  /// Sends `call`, runs every actor until all mailboxes are empty and takes
  /// the answer. Fires no timer.
  mcp_result send(mcp_request call) {
    auto rh = self->request(module, caf::infinite, std::move(call));
    consume_messages();
    return answer(rh);
  }

  /// The result object of an answer that must not be a JSON-RPC error.
  json result_of(const mcp_result& res) {
    CAF_CHECK_EQUAL(res.error_code, 0);
    auto x = json::parse(res.result, nullptr, false);
    CAF_REQUIRE(x.is_object());
    return x;
  }
};

json params_of(const mcp_notice& x) {
  return json::parse(x.params);
}

bool has_pattern(const std::vector<endpoint>& xs, const std::string& kind,
                 const std::string& pattern) {
  return std::any_of(xs.begin(), xs.end(), [&](const endpoint& x) {
    return x.protocol == "mcp" && x.method == kind && x.pattern == pattern;
  });
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(conformance_tests, fixture)

CAF_TEST(the module offers every entry that the suite calls) {
  auto xs = modules::conformance::entries("conformance");
  for (auto name :
       {"test_simple_text", "test_image_content", "test_audio_content",
        "test_embedded_resource", "test_multiple_content_types",
        "test_tool_with_logging", "test_tool_with_progress",
        "test_error_handling", "test_sampling", "test_elicitation",
        "test_elicitation_sep1034_defaults", "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool", "test_reconnection"})
    CAF_CHECK(has_pattern(xs, "TOOL", std::string{"conformance/"} + name));
  for (auto uri : {"test://static-text", "test://static-binary",
                   "test://watched-resource"})
    CAF_CHECK(has_pattern(xs, "RESOURCE", std::string{"conformance/"} + uri));
  CAF_CHECK(
    has_pattern(xs, "TEMPLATE", "conformance/test://template/{id}/data"));
  for (auto name :
       {"test_simple_prompt", "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource", "test_prompt_with_image"})
    CAF_CHECK(has_pattern(xs, "PROMPT", std::string{"conformance/"} + name));
  // tools-list and prompts-list want a description on every entry.
  for (auto& x : xs) {
    CAF_CHECK_EQUAL(x.module, "conformance");
    auto detail = json::parse(x.detail);
    CAF_CHECK(detail.contains("description"));
    if (x.method == "TOOL")
      CAF_CHECK_EQUAL(detail["inputSchema"]["type"], "object");
  }
}

CAF_TEST(the schema of the 2020 - 12 tool keeps its keywords) {
  for (auto& x : modules::conformance::entries("conformance")) {
    if (x.pattern != "conformance/json_schema_2020_12_tool")
      continue;
    auto schema = json::parse(x.detail)["inputSchema"];
    CAF_CHECK_EQUAL(schema["$schema"],
                    "https://json-schema.org/draft/2020-12/schema");
    CAF_CHECK(schema["$defs"].contains("address"));
    CAF_CHECK_EQUAL(schema["additionalProperties"], false);
  }
}

CAF_TEST(the simple text tool answers with its text) {
  auto res = result_of(send(tool_call("test_simple_text")));
  CAF_CHECK_EQUAL(res["content"][0]["type"], "text");
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "This is a simple text response for testing.");
  CAF_CHECK(!res.contains("isError"));
}

CAF_TEST(a tool call without arguments works like one with empty arguments) {
  auto call = make_call("TOOL", "test_simple_text", "tools/call",
                        {{"name", "test_simple_text"}});
  auto res = result_of(send(call));
  CAF_CHECK_EQUAL(res["content"][0]["type"], "text");
}

CAF_TEST(content tools return image audio and embedded resources) {
  auto image = result_of(send(tool_call("test_image_content")));
  CAF_CHECK_EQUAL(image["content"][0]["type"], "image");
  CAF_CHECK_EQUAL(image["content"][0]["mimeType"], "image/png");
  CAF_CHECK(!image["content"][0]["data"].get<std::string>().empty());
  auto audio = result_of(send(tool_call("test_audio_content")));
  CAF_CHECK_EQUAL(audio["content"][0]["type"], "audio");
  CAF_CHECK_EQUAL(audio["content"][0]["mimeType"], "audio/wav");
  auto embedded = result_of(send(tool_call("test_embedded_resource")));
  auto& resource = embedded["content"][0]["resource"];
  CAF_CHECK_EQUAL(resource["uri"], "test://embedded-resource");
  CAF_CHECK_EQUAL(resource["mimeType"], "text/plain");
  CAF_CHECK_EQUAL(resource["text"], "This is an embedded resource content.");
  auto mixed = result_of(send(tool_call("test_multiple_content_types")));
  std::vector<std::string> types;
  for (auto& item : mixed["content"])
    types.push_back(item["type"].get<std::string>());
  CAF_CHECK_EQUAL(types,
                  std::vector<std::string>({"text", "image", "resource"}));
}

CAF_TEST(the error tool answers a tool error and no JSON - RPC error) {
  auto res = result_of(send(tool_call("test_error_handling")));
  CAF_CHECK_EQUAL(res["isError"], true);
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "This tool intentionally returns an error for testing");
}

CAF_TEST(the progress tool reports three steps 50 ms apart and then answers) {
  auto rh =
    self->request(module, caf::infinite, tool_call("test_tool_with_progress"));
  expect((mcp_request), from(self).to(module));
  expect((mcp_notice), to(client));
  CAF_CHECK(!has_reply());
  // The next step waits for its timer.
  advance_time(50ms);
  expect((tick_atom, uint64_t), from(module).to(module));
  expect((mcp_notice), to(client));
  CAF_CHECK(!has_reply());
  advance_time(50ms);
  expect((tick_atom, uint64_t), from(module).to(module));
  expect((mcp_notice), to(client));
  // The last hop: the answer waits in the test's own mailbox.
  auto res = result_of(answer(rh));
  CAF_CHECK_EQUAL(res["content"][0]["type"], "text");
  auto& notices = seen().notices;
  CAF_REQUIRE_EQUAL(notices.size(), 3u);
  for (size_t i = 0; i < notices.size(); ++i) {
    CAF_CHECK_EQUAL(notices[i].call, 7u);
    CAF_CHECK_EQUAL(notices[i].method, "notifications/progress");
    auto p = params_of(notices[i]);
    CAF_CHECK_EQUAL(p["progress"], 50.0 * i);
    CAF_CHECK_EQUAL(p["total"], 100.0);
  }
}

CAF_TEST(the logging tool sends three info messages before it answers) {
  auto rh =
    self->request(module, caf::infinite, tool_call("test_tool_with_logging"));
  consume_messages();
  CAF_CHECK_EQUAL(seen().notices.size(), 1u);
  advance_time(50ms);
  consume_messages();
  CAF_CHECK(!has_reply());
  advance_time(50ms);
  consume_messages();
  auto res = result_of(answer(rh));
  CAF_CHECK_EQUAL(res["content"][0]["type"], "text");
  std::vector<std::string> lines;
  for (auto& x : seen().notices) {
    CAF_CHECK_EQUAL(x.method, "notifications/message");
    auto p = params_of(x);
    CAF_CHECK_EQUAL(p["level"], "info");
    lines.push_back(p["data"].get<std::string>());
  }
  CAF_CHECK_EQUAL(lines, std::vector<std::string>(
                           {"Tool execution started", "Tool processing data",
                            "Tool execution completed"}));
}

CAF_TEST(the reconnection tool answers after 200 ms) {
  auto rh =
    self->request(module, caf::infinite, tool_call("test_reconnection"));
  consume_messages();
  for (int i = 0; i < 3; ++i) {
    advance_time(50ms);
    consume_messages();
    CAF_CHECK(!has_reply());
  }
  advance_time(50ms);
  consume_messages();
  auto res = result_of(answer(rh));
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "Reconnection test completed successfully");
}

CAF_TEST(sampling asks the client and answers with the text of the LLM) {
  use_client(sampled("Paris"));
  auto rh = self->request(
    module, caf::infinite,
    tool_call("test_sampling", {{"prompt", "Capital of France?"}}));
  expect((mcp_request), from(self).to(module));
  expect((mcp_ask), from(module).to(client));
  expect((mcp_result), from(client).to(module));
  // The last hop: the answer waits in the test's own mailbox.
  auto res = result_of(answer(rh));
  CAF_CHECK_EQUAL(res["content"][0]["text"], "LLM response: Paris");
  auto& asks = seen().asks;
  CAF_REQUIRE_EQUAL(asks.size(), 1u);
  CAF_CHECK_EQUAL(asks[0].call, 7u);
  CAF_CHECK_EQUAL(asks[0].method, "sampling/createMessage");
  auto params = json::parse(asks[0].params);
  CAF_CHECK_EQUAL(params["maxTokens"], 100);
  CAF_CHECK_EQUAL(params["messages"][0]["role"], "user");
  CAF_CHECK_EQUAL(params["messages"][0]["content"]["text"],
                  "Capital of France?");
}

CAF_TEST(an error of the client becomes a tool error) {
  mcp_result refusal;
  refusal.error_code = -32601;
  refusal.error_message = "elicitation not supported";
  use_client(refusal);
  auto res = result_of(
    send(tool_call("test_elicitation", {{"message", "Who are you?"}})));
  CAF_CHECK_EQUAL(res["isError"], true);
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "elicitation/create failed: elicitation not supported");
}

CAF_TEST(a call without a peer answers a tool error instead of asking) {
  auto call = tool_call("test_sampling", {{"prompt", "hi"}});
  call.peer = caf::actor{};
  auto res = result_of(send(call));
  CAF_CHECK_EQUAL(res["isError"], true);
  CAF_CHECK(seen().asks.empty());
}

CAF_TEST(elicitation with defaults offers one for each primitive type) {
  mcp_result accepted;
  accepted.result = R"({"action":"accept","content":{"name":"Jane"}})";
  use_client(accepted);
  auto res = result_of(send(tool_call("test_elicitation_sep1034_defaults")));
  CAF_CHECK_EQUAL(
    res["content"][0]["text"],
    R"(Elicitation completed: action=accept, content={"name":"Jane"})");
  CAF_REQUIRE_EQUAL(seen().asks.size(), 1u);
  auto props =
    json::parse(seen().asks[0].params)["requestedSchema"]["properties"];
  CAF_CHECK_EQUAL(props["name"]["default"], "John Doe");
  CAF_CHECK_EQUAL(props["age"]["type"], "integer");
  CAF_CHECK_EQUAL(props["age"]["default"], 30);
  CAF_CHECK_EQUAL(props["score"]["default"], 95.5);
  CAF_CHECK_EQUAL(props["status"]["default"], "active");
  CAF_CHECK_EQUAL(props["verified"]["default"], true);
}

CAF_TEST(elicitation with enums offers the five kinds of enum schema) {
  mcp_result declined;
  declined.result = R"({"action":"decline"})";
  use_client(declined);
  auto res = result_of(send(tool_call("test_elicitation_sep1330_enums")));
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "Elicitation completed: action=decline");
  auto props =
    json::parse(seen().asks[0].params)["requestedSchema"]["properties"];
  CAF_CHECK(props["untitledSingle"]["enum"].is_array());
  CAF_CHECK(props["titledSingle"]["oneOf"].is_array());
  CAF_CHECK_EQUAL(props["legacyEnum"]["enumNames"].size(), 3u);
  CAF_CHECK_EQUAL(props["untitledMulti"]["items"]["type"], "string");
  CAF_CHECK(props["titledMulti"]["items"]["anyOf"].is_array());
}

CAF_TEST(resources and the template read as the suite expects) {
  auto text =
    result_of(send(make_call("RESOURCE", "test://static-text", "resources/read",
                             {{"uri", "test://static-text"}})));
  CAF_CHECK_EQUAL(text["contents"][0]["mimeType"], "text/plain");
  CAF_CHECK_EQUAL(text["contents"][0]["text"],
                  "This is the content of the static text resource.");
  auto binary = result_of(
    send(make_call("RESOURCE", "test://static-binary", "resources/read",
                   {{"uri", "test://static-binary"}})));
  CAF_CHECK_EQUAL(binary["contents"][0]["mimeType"], "image/png");
  CAF_CHECK(binary["contents"][0].contains("blob"));
  auto data = result_of(
    send(make_call("TEMPLATE", "test://template/{id}/data", "resources/read",
                   {{"uri", "test://template/123/data"}})));
  CAF_CHECK_EQUAL(data["contents"][0]["uri"], "test://template/123/data");
  CAF_CHECK_EQUAL(data["contents"][0]["mimeType"], "application/json");
  CAF_CHECK_EQUAL(
    json::parse(data["contents"][0]["text"].get<std::string>()),
    json(
      {{"id", "123"}, {"templateTest", true}, {"data", "Data for ID: 123"}}));
}

CAF_TEST(updating the watched resource tells the bus and changes it) {
  auto watcher = sys.spawn(listener, bus);
  consume_messages();
  auto res = result_of(send(tool_call("test_update_watched_resource")));
  CAF_CHECK_EQUAL(res["content"][0]["text"],
                  "test://watched-resource is at version 2");
  consume_messages();
  auto& events = deref<caf::stateful_actor<listener_state>>(watcher).state.seen;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].context, "conformance");
  CAF_CHECK_EQUAL(events[0].uri, "test://watched-resource");
  auto read = result_of(
    send(make_call("RESOURCE", "test://watched-resource", "resources/read",
                   {{"uri", "test://watched-resource"}})));
  CAF_CHECK_EQUAL(read["contents"][0]["text"], "Watched resource, version 2");
  anon_send_exit(watcher, caf::exit_reason::kill);
  consume_messages();
}

CAF_TEST(prompts substitute their arguments and want the required ones) {
  auto simple =
    result_of(send(make_call("PROMPT", "test_simple_prompt", "prompts/get",
                             {{"name", "test_simple_prompt"}})));
  CAF_CHECK_EQUAL(simple["messages"][0]["role"], "user");
  auto args = result_of(
    send(make_call("PROMPT", "test_prompt_with_arguments", "prompts/get",
                   {{"name", "test_prompt_with_arguments"},
                    {"arguments", {{"arg1", "hello"}, {"arg2", "world"}}}})));
  CAF_CHECK_EQUAL(args["messages"][0]["content"]["text"],
                  "Prompt with arguments: arg1='hello', arg2='world'");
  auto embedded = result_of(send(
    make_call("PROMPT", "test_prompt_with_embedded_resource", "prompts/get",
              {{"name", "test_prompt_with_embedded_resource"},
               {"arguments", {{"resourceUri", "test://example-resource"}}}})));
  CAF_CHECK_EQUAL(embedded["messages"][0]["content"]["resource"]["uri"],
                  "test://example-resource");
  auto image =
    result_of(send(make_call("PROMPT", "test_prompt_with_image", "prompts/get",
                             {{"name", "test_prompt_with_image"}})));
  CAF_CHECK_EQUAL(image["messages"][0]["content"]["type"], "image");
  auto missing =
    send(make_call("PROMPT", "test_prompt_with_arguments", "prompts/get",
                   {{"name", "test_prompt_with_arguments"},
                    {"arguments", {{"arg1", "hello"}}}}));
  CAF_CHECK_EQUAL(missing.error_code, -32602);
}

CAF_TEST(completion offers the values that start with what was typed) {
  auto res = result_of(send(make_call(
    "PROMPT", "test_prompt_with_arguments", "completion/complete",
    {{"ref", {{"type", "ref/prompt"}, {"name", "test_prompt_with_arguments"}}},
     {"argument", {{"name", "arg1"}, {"value", "te"}}}})));
  CAF_CHECK_EQUAL(res["completion"]["values"],
                  json::array({"test", "testValue1", "testing"}));
  CAF_CHECK_EQUAL(res["completion"]["total"], 3);
  CAF_CHECK_EQUAL(res["completion"]["hasMore"], false);
  auto ids = result_of(send(make_call(
    "TEMPLATE", "test://template/{id}/data", "completion/complete",
    {{"ref", {{"type", "ref/resource"}, {"uri", "test://template/{id}/data"}}},
     {"argument", {{"name", "id"}, {"value", "12"}}}})));
  CAF_CHECK_EQUAL(ids["completion"]["values"], json::array({"123"}));
}

CAF_TEST(a method the entry does not serve is method not found) {
  auto res = send(make_call("RESOURCE", "test://static-text", "prompts/get"));
  CAF_CHECK_EQUAL(res.error_code, -32601);
}

CAF_TEST(settings other than an empty object are refused) {
  auto check = modules::conformance::make_factory().check;
  CAF_CHECK_EQUAL(check("{}"), "");
  CAF_CHECK_NOT_EQUAL(check(R"({"x":1})"), "");
  CAF_CHECK_NOT_EQUAL(check("[]"), "");
}

CAF_TEST_FIXTURE_SCOPE_END()
