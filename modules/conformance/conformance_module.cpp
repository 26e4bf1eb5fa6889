#include "modules/conformance/conformance_module.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/module.hpp"
#include "modules/common/mcp_kit.hpp"

namespace sb::modules::conformance {

namespace {

using json = mcp::json;

/// Time between the steps of a call that logs or reports progress.
constexpr auto step_delay = std::chrono::milliseconds{50};

/// Steps of `test_reconnection` before it answers: 200 ms.
constexpr int reconnection_steps = 4;

/// Time the client has to answer a sampling or elicitation request.
constexpr auto ask_timeout = std::chrono::seconds{30};

/// A 1x1 red pixel as PNG, base64.
constexpr const char* red_pixel_png =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0F"
  "DAAAAAElFTkSuQmCC";

/// One millisecond of silence as WAV (8 kHz, mono, 8 bit), base64.
constexpr const char* silence_wav =
  "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

constexpr const char* watched_uri = "test://watched-resource";

/// A call that runs in steps `step_delay` apart, answered at its last step.
struct job {
  mcp_request call;
  caf::response_promise rp;
  int step = 0;
};

struct conformance_state {
  static inline const char* name = "sb.conformance";

  /// Calls that run in steps, by ticket.
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_ticket = 1;
  /// Version of `test://watched-resource`; each update counts it up.
  uint64_t watched_version = 1;
  caf::actor bus;
};

using actor_ptr = caf::stateful_actor<conformance_state>*;

// -- entries ------------------------------------------------------------------

json object_schema(json properties = json::object(),
                   json required = json::array()) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)}};
}

json string_property(const char* description) {
  return {{"type", "string"}, {"description", description}};
}

json tool_definition(const char* name, const char* description,
                     json schema = object_schema()) {
  return {{"name", name},
          {"description", description},
          {"inputSchema", std::move(schema)}};
}

json schema_2020_12() {
  return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
          {"type", "object"},
          {"$defs",
           {{"address",
             {{"type", "object"},
              {"properties",
               {{"street", {{"type", "string"}}},
                {"city", {{"type", "string"}}}}}}}}},
          {"properties",
           {{"name", {{"type", "string"}}},
            {"address", {{"$ref", "#/$defs/address"}}}}},
          {"additionalProperties", false}};
}

std::vector<json> tool_definitions() {
  return {
    tool_definition("test_simple_text", "Returns a simple text"),
    tool_definition("test_image_content", "Returns a PNG image"),
    tool_definition("test_audio_content", "Returns a WAV sound"),
    tool_definition("test_embedded_resource",
                    "Returns an embedded text resource"),
    tool_definition("test_multiple_content_types",
                    "Returns text, an image and an embedded resource"),
    tool_definition("test_tool_with_logging",
                    "Sends three log messages while it runs"),
    tool_definition("test_tool_with_progress",
                    "Reports progress 0, 50 and 100 of 100 while it runs"),
    tool_definition("test_error_handling", "Always fails with a tool error"),
    tool_definition(
      "test_sampling", "Asks the client's LLM to answer a prompt",
      object_schema(
        {{"prompt", string_property("The prompt to send to the LLM")}},
        json::array({"prompt"}))),
    tool_definition(
      "test_elicitation", "Asks the user for a name and an email address",
      object_schema(
        {{"message", string_property("The message to show the user")}},
        json::array({"message"}))),
    tool_definition("test_elicitation_sep1034_defaults",
                    "Asks the user with a default for each primitive type"),
    tool_definition("test_elicitation_sep1330_enums",
                    "Asks the user with each kind of enum schema"),
    tool_definition("json_schema_2020_12_tool",
                    "Tool with JSON Schema 2020-12 features", schema_2020_12()),
    tool_definition("test_reconnection",
                    "Answers after 200 ms, long enough for a stream to close"),
    tool_definition("test_update_watched_resource",
                    "Changes test://watched-resource and tells its "
                    "subscribers"),
  };
}

json argument(const char* name, const char* description) {
  return {{"name", name}, {"description", description}, {"required", true}};
}

std::vector<json> prompt_definitions() {
  return {
    {{"name", "test_simple_prompt"},
     {"description", "A simple prompt without arguments"}},
    {{"name", "test_prompt_with_arguments"},
     {"description", "A prompt with two arguments"},
     {"arguments",
      {argument("arg1", "First test argument"),
       argument("arg2", "Second test argument")}}},
    {{"name", "test_prompt_with_embedded_resource"},
     {"description", "A prompt that embeds a resource"},
     {"arguments",
      json::array({argument("resourceUri", "URI of the resource to embed")})}},
    {{"name", "test_prompt_with_image"},
     {"description", "A prompt with an image"}},
  };
}

std::vector<json> resource_definitions() {
  return {
    {{"uri", "test://static-text"},
     {"name", "static-text"},
     {"description", "A static text resource"},
     {"mimeType", "text/plain"}},
    {{"uri", "test://static-binary"},
     {"name", "static-binary"},
     {"description", "A static binary resource: a PNG image"},
     {"mimeType", "image/png"}},
    {{"uri", watched_uri},
     {"name", "watched-resource"},
     {"description",
      "A text resource that test_update_watched_resource changes"},
     {"mimeType", "text/plain"}},
  };
}

json template_definition() {
  return {{"uriTemplate", "test://template/{id}/data"},
          {"name", "template-data"},
          {"description", "Data for an id, as JSON"},
          {"mimeType", "application/json"}};
}

// -- content ------------------------------------------------------------------

json text_item(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}

json image_item() {
  return {
    {"type", "image"}, {"data", red_pixel_png}, {"mimeType", "image/png"}};
}

json resource_item(const std::string& uri, const char* mime_type,
                   const std::string& text) {
  return {
    {"type", "resource"},
    {"resource", {{"uri", uri}, {"mimeType", mime_type}, {"text", text}}}};
}

json user_message(json content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

/// The text of a sampling result: its text item or items, else its content
/// as JSON.
std::string sampled_text(const json& result) {
  auto i = result.find("content");
  if (i == result.end())
    return {};
  auto text_of = [](const json& item) -> std::string {
    if (item.is_object() && item.value("type", "") == "text")
      return item.value("text", "");
    return item.dump();
  };
  if (!i->is_array())
    return text_of(*i);
  std::string text;
  for (auto& item : *i)
    text += text_of(item);
  return text;
}

/// What an elicitation result says: its action and content.
std::string elicited(const json& result) {
  auto text = "action=" + result.value("action", std::string{"?"});
  if (auto i = result.find("content"); i != result.end())
    text += ", content=" + i->dump();
  return text;
}

// -- asking the client --------------------------------------------------------

using answer_format = std::function<mcp_result(const json&)>;

/// Sends `method` to the client of `call` and answers `call` with what
/// `format` makes of the client's result; any failure is a tool error.
void ask_client(actor_ptr self, const mcp_request& call,
                caf::response_promise rp, const std::string& method,
                const json& params, answer_format format) {
  if (!call.peer) {
    rp.deliver(
      mcp::text_result("cannot ask the client: the call has no peer", true));
    return;
  }
  mcp::ask(self, call, method, params, ask_timeout)
    .then(
      [rp, method, format](mcp_result& res) mutable {
        if (res.error_code != 0) {
          rp.deliver(
            mcp::text_result(method + " failed: " + res.error_message, true));
          return;
        }
        auto x = mcp::parse(res.result);
        if (!x.is_object()) {
          rp.deliver(mcp::text_result(method + " returned no object", true));
          return;
        }
        try {
          rp.deliver(format(x));
        } catch (const std::exception& ex) {
          logger("conformance")->error("answer failed error={}", ex.what());
          rp.deliver(mcp::text_result(method + " returned a bad result", true));
        }
      },
      [self, rp, method](caf::error& err) mutable {
        rp.deliver(mcp::text_result(
          method + " failed: " + self->system().render(err), true));
      });
}

void sampling(actor_ptr self, const mcp_request& call,
              caf::response_promise rp) {
  auto args = mcp::arguments(call);
  auto prompt = args.find("prompt");
  if (prompt == args.end() || !prompt->is_string()) {
    rp.deliver(mcp::error(mcp::invalid_params, "prompt: must be a string"));
    return;
  }
  json params = {
    {"messages",
     json::array({user_message(text_item(prompt->get<std::string>()))})},
    {"maxTokens", 100}};
  ask_client(self, call, std::move(rp), "sampling/createMessage", params,
             [](const json& res) {
               return mcp::text_result("LLM response: " + sampled_text(res));
             });
}

void elicitation(actor_ptr self, const mcp_request& call,
                 caf::response_promise rp) {
  auto args = mcp::arguments(call);
  auto message = args.find("message");
  if (message == args.end() || !message->is_string()) {
    rp.deliver(mcp::error(mcp::invalid_params, "message: must be a string"));
    return;
  }
  json schema =
    object_schema({{"username", string_property("User's response")},
                   {"email", string_property("User's email address")}},
                  json::array({"username", "email"}));
  json params = {{"message", *message}, {"requestedSchema", schema}};
  ask_client(self, call, std::move(rp), "elicitation/create", params,
             [](const json& res) {
               return mcp::text_result("User response: " + elicited(res));
             });
}

json with_default(json property, json value) {
  property["default"] = std::move(value);
  return property;
}

void elicitation_defaults(actor_ptr self, const mcp_request& call,
                          caf::response_promise rp) {
  json properties = {
    {"name", with_default(string_property("User name"), "John Doe")},
    {"age",
     {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
    {"score",
     {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
    {"status",
     {{"type", "string"},
      {"description", "User status"},
      {"enum", {"active", "inactive", "pending"}},
      {"default", "active"}}},
    {"verified",
     {{"type", "boolean"},
      {"description", "Verification status"},
      {"default", true}}}};
  json params = {{"message", "Please review your details"},
                 {"requestedSchema", object_schema(std::move(properties))}};
  ask_client(self, call, std::move(rp), "elicitation/create", params,
             [](const json& res) {
               return mcp::text_result("Elicitation completed: " +
                                       elicited(res));
             });
}

json titled(const char* value, const char* title) {
  return {{"const", value}, {"title", title}};
}

void elicitation_enums(actor_ptr self, const mcp_request& call,
                       caf::response_promise rp) {
  json properties = {
    {"untitledSingle",
     {{"type", "string"},
      {"description", "Pick one"},
      {"enum", {"option1", "option2", "option3"}}}},
    {"titledSingle",
     {{"type", "string"},
      {"description", "Pick one"},
      {"oneOf",
       {titled("value1", "First Option"), titled("value2", "Second Option"),
        titled("value3", "Third Option")}}}},
    {"legacyEnum",
     {{"type", "string"},
      {"description", "Pick one"},
      {"enum", {"opt1", "opt2", "opt3"}},
      {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
    {"untitledMulti",
     {{"type", "array"},
      {"description", "Pick any"},
      {"items",
       {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
    {"titledMulti",
     {{"type", "array"},
      {"description", "Pick any"},
      {"items",
       {{"anyOf",
         {titled("value1", "First Choice"), titled("value2", "Second Choice"),
          titled("value3", "Third Choice")}}}}}}};
  json params = {{"message", "Please pick from each list"},
                 {"requestedSchema", object_schema(std::move(properties))}};
  ask_client(self, call, std::move(rp), "elicitation/create", params,
             [](const json& res) {
               return mcp::text_result("Elicitation completed: " +
                                       elicited(res));
             });
}

// -- calls that run in steps --------------------------------------------------

/// Runs the current step of `x`; returns whether `x` is done and answered.
bool run_step(job& x) {
  auto& call = x.call;
  if (call.handler == "test_tool_with_logging") {
    static const char* lines[] = {"Tool execution started",
                                  "Tool processing data",
                                  "Tool execution completed"};
    mcp::log(call, "info", lines[x.step], "conformance");
    if (x.step < 2)
      return false;
    x.rp.deliver(mcp::text_result("Tool with logging executed successfully"));
    return true;
  }
  if (call.handler == "test_tool_with_progress") {
    mcp::progress(call, 50.0 * x.step, 100.0);
    if (x.step < 2)
      return false;
    x.rp.deliver(mcp::text_result("Tool with progress executed successfully"));
    return true;
  }
  // test_reconnection
  if (x.step < reconnection_steps)
    return false;
  x.rp.deliver(mcp::text_result("Reconnection test completed successfully"));
  return true;
}

/// Runs the next step of job `ticket` now and schedules the one after.
void advance(actor_ptr self, uint64_t ticket) {
  auto& jobs = self->state.jobs;
  auto i = jobs.find(ticket);
  if (i == jobs.end())
    return;
  if (run_step(i->second)) {
    jobs.erase(i);
    return;
  }
  ++i->second.step;
  self->delayed_send(self, step_delay, tick_atom::value, ticket);
}

void start_job(actor_ptr self, const mcp_request& call,
               caf::response_promise rp) {
  auto ticket = self->state.next_ticket++;
  self->state.jobs.emplace(ticket, job{call, std::move(rp), 0});
  advance(self, ticket);
}

// -- tools --------------------------------------------------------------------

mcp_result watched_content(actor_ptr self) {
  return mcp::resource_text(watched_uri, "text/plain",
                            "Watched resource, version " +
                              std::to_string(self->state.watched_version));
}

void call_tool(actor_ptr self, const mcp_request& call,
               caf::response_promise& rp) {
  auto& name = call.handler;
  if (name == "test_simple_text") {
    rp.deliver(mcp::text_result("This is a simple text response for testing."));
  } else if (name == "test_image_content") {
    rp.deliver(mcp::tool_result(json::array({image_item()})));
  } else if (name == "test_audio_content") {
    json audio = {
      {"type", "audio"}, {"data", silence_wav}, {"mimeType", "audio/wav"}};
    rp.deliver(mcp::tool_result(json::array({std::move(audio)})));
  } else if (name == "test_embedded_resource") {
    rp.deliver(mcp::tool_result(
      json::array({resource_item("test://embedded-resource", "text/plain",
                                 "This is an embedded resource content.")})));
  } else if (name == "test_multiple_content_types") {
    rp.deliver(mcp::tool_result(json::array(
      {text_item("Multiple content types test:"), image_item(),
       resource_item("test://mixed-content-resource", "application/json",
                     R"({"test":"data","value":123})")})));
  } else if (name == "test_error_handling") {
    rp.deliver(mcp::text_result(
      "This tool intentionally returns an error for testing", true));
  } else if (name == "test_tool_with_logging" ||
             name == "test_tool_with_progress" || name == "test_reconnection") {
    start_job(self, call, rp);
  } else if (name == "test_sampling") {
    sampling(self, call, rp);
  } else if (name == "test_elicitation") {
    elicitation(self, call, rp);
  } else if (name == "test_elicitation_sep1034_defaults") {
    elicitation_defaults(self, call, rp);
  } else if (name == "test_elicitation_sep1330_enums") {
    elicitation_enums(self, call, rp);
  } else if (name == "json_schema_2020_12_tool") {
    rp.deliver(
      mcp::text_result("Received arguments: " + mcp::arguments(call).dump()));
  } else if (name == "test_update_watched_resource") {
    ++self->state.watched_version;
    mcp::updated(self->state.bus, context_name, watched_uri);
    rp.deliver(mcp::text_result("test://watched-resource is at version " +
                                std::to_string(self->state.watched_version)));
  } else {
    rp.deliver(mcp::error(mcp::invalid_params, "unknown tool " + name));
  }
}

// -- resources ----------------------------------------------------------------

void read_resource(actor_ptr self, const mcp_request& call,
                   caf::response_promise& rp) {
  auto& uri = call.handler;
  if (uri == "test://static-text") {
    rp.deliver(mcp::resource_text(
      uri, "text/plain", "This is the content of the static text resource."));
  } else if (uri == "test://static-binary") {
    json item = {
      {"uri", uri}, {"mimeType", "image/png"}, {"blob", red_pixel_png}};
    rp.deliver(mcp::result({{"contents", json::array({std::move(item)})}}));
  } else if (uri == watched_uri) {
    rp.deliver(watched_content(self));
  } else {
    rp.deliver(mcp::error(mcp::resource_not_found, "unknown resource",
                          {{"uri", mcp::uri(call)}}));
  }
}

void read_template(const mcp_request& call, caf::response_promise& rp) {
  auto values = mcp::template_values(call);
  auto id = values.value("id", std::string{});
  if (id.empty()) {
    rp.deliver(mcp::error(mcp::resource_not_found, "unknown resource",
                          {{"uri", mcp::uri(call)}}));
    return;
  }
  json data = {
    {"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
  rp.deliver(
    mcp::resource_text(mcp::uri(call), "application/json", data.dump()));
}

// -- prompts ------------------------------------------------------------------

/// The string argument `name` of a prompt; an invalid-params error names it
/// when it is missing.
std::optional<std::string> prompt_argument(const json& args, const char* name,
                                           caf::response_promise& rp) {
  auto i = args.find(name);
  if (i == args.end() || !i->is_string()) {
    rp.deliver(mcp::error(mcp::invalid_params,
                          std::string{name} + ": required string argument"));
    return std::nullopt;
  }
  return i->get<std::string>();
}

void get_prompt(const mcp_request& call, caf::response_promise& rp) {
  auto& name = call.handler;
  auto args = mcp::arguments(call);
  json messages;
  if (name == "test_simple_prompt") {
    messages = json::array(
      {user_message(text_item("This is a simple prompt for testing."))});
  } else if (name == "test_prompt_with_arguments") {
    auto arg1 = prompt_argument(args, "arg1", rp);
    if (!arg1)
      return;
    auto arg2 = prompt_argument(args, "arg2", rp);
    if (!arg2)
      return;
    messages = json::array({user_message(text_item(
      "Prompt with arguments: arg1='" + *arg1 + "', arg2='" + *arg2 + "'"))});
  } else if (name == "test_prompt_with_embedded_resource") {
    auto uri = prompt_argument(args, "resourceUri", rp);
    if (!uri)
      return;
    messages = json::array(
      {user_message(resource_item(*uri, "text/plain",
                                  "Embedded resource content for testing.")),
       user_message(text_item("Please process the embedded resource above."))});
  } else if (name == "test_prompt_with_image") {
    messages =
      json::array({user_message(image_item()),
                   user_message(text_item("Please analyze the image above."))});
  } else {
    rp.deliver(mcp::error(mcp::invalid_params, "unknown prompt " + name));
    return;
  }
  rp.deliver(mcp::result({{"messages", std::move(messages)}}));
}

// -- completion ---------------------------------------------------------------

/// Values that an argument of a prompt or template may complete to.
std::vector<std::string> candidates(const mcp_request& call,
                                    const std::string& argument) {
  if (call.kind == mcp::template_kind)
    return argument == "id"
             ? std::vector<std::string>{"1", "2", "3", "42", "123"}
             : std::vector<std::string>{};
  if (call.handler == "test_prompt_with_arguments") {
    if (argument == "arg1")
      return {"hello", "help", "test", "testValue1", "testing"};
    if (argument == "arg2")
      return {"world", "word", "test", "testValue2", "tested"};
  }
  if (call.handler == "test_prompt_with_embedded_resource" &&
      argument == "resourceUri")
    return {"test://static-text", "test://static-binary", watched_uri};
  return {};
}

void complete(const mcp_request& call, caf::response_promise& rp) {
  auto params = mcp::params(call);
  auto arg = params.find("argument");
  if (arg == params.end() || !arg->is_object()) {
    rp.deliver(mcp::error(mcp::invalid_params, "argument: must be an object"));
    return;
  }
  auto name = arg->value("name", std::string{});
  auto prefix = arg->value("value", std::string{});
  auto values = json::array();
  for (auto& x : candidates(call, name))
    if (x.compare(0, prefix.size(), prefix) == 0)
      values.push_back(x);
  auto total = values.size();
  rp.deliver(mcp::result(
    {{"completion",
      {{"values", std::move(values)}, {"total", total}, {"hasMore", false}}}}));
}

// -- the actor ----------------------------------------------------------------

void handle(actor_ptr self, const mcp_request& call,
            caf::response_promise& rp) {
  auto& kind = call.kind;
  auto& method = call.method;
  if (kind == mcp::tool_kind && method == "tools/call") {
    call_tool(self, call, rp);
  } else if (kind == mcp::resource_kind && method == "resources/read") {
    read_resource(self, call, rp);
  } else if (kind == mcp::template_kind && method == "resources/read") {
    read_template(call, rp);
  } else if (kind == mcp::prompt_kind && method == "prompts/get") {
    get_prompt(call, rp);
  } else if ((kind == mcp::prompt_kind || kind == mcp::template_kind) &&
             method == "completion/complete") {
    complete(call, rp);
  } else {
    rp.deliver(mcp::error(mcp::method_not_found,
                          "no " + method + " for " + kind + " " + call.name));
  }
}

caf::behavior conformance_actor(actor_ptr self, module_context ctx) {
  self->state.bus = ctx.bus;
  return {
    [self, ctx](start_atom) {
      return register_endpoints(self, ctx, entries(ctx.name));
    },
    [self](mcp_request& call) {
      auto rp = self->make_response_promise();
      // The registry names the matched entry in `handler`; a caller that
      // does not go through the registry may leave it to `name`.
      if (call.handler.empty())
        call.handler = call.name;
      try {
        handle(self, call, rp);
      } catch (const std::exception& ex) {
        logger("conformance")->error("call failed error={}", ex.what());
        if (rp.pending())
          rp.deliver(mcp::error(mcp::internal_error,
                                "the module failed to handle this call"));
      }
      return rp;
    },
    [self](tick_atom, uint64_t ticket) {
      try {
        advance(self, ticket);
      } catch (const std::exception& ex) {
        logger("conformance")->error("step failed error={}", ex.what());
        auto& jobs = self->state.jobs;
        if (auto i = jobs.find(ticket); i != jobs.end()) {
          if (i->second.rp.pending())
            i->second.rp.deliver(mcp::error(
              mcp::internal_error, "the module failed to handle this call"));
          jobs.erase(i);
        }
      }
    },
  };
}

} // namespace

std::vector<endpoint> entries(const std::string& module) {
  std::vector<endpoint> result;
  for (auto& x : tool_definitions()) {
    auto name = x["name"].get<std::string>();
    result.push_back(mcp::tool(context_name, x, name, module));
  }
  for (auto& x : resource_definitions()) {
    auto uri = x["uri"].get<std::string>();
    result.push_back(mcp::resource(context_name, x, uri, module));
  }
  auto tpl = template_definition();
  auto uri_template = tpl["uriTemplate"].get<std::string>();
  result.push_back(
    mcp::resource_template(context_name, tpl, uri_template, module));
  for (auto& x : prompt_definitions()) {
    auto name = x["name"].get<std::string>();
    result.push_back(mcp::prompt(context_name, x, name, module));
  }
  return result;
}

module_factory make_factory() {
  module_factory result;
  result.name = "conformance";
  result.summary = "fixtures of the MCP conformance suite (off by default)";
  result.check = [](const std::string& text) -> std::string {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object() || !doc.empty())
      return "<section>: the conformance module takes no settings";
    return {};
  };
  result.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return sys.spawn(conformance_actor, ctx);
  };
  return result;
}

} // namespace sb::modules::conformance
