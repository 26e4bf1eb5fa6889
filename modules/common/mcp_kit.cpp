#include "modules/common/mcp_kit.hpp"

#include "caf/send.hpp"

#include "actors/atoms.hpp"
#include "modules/common/json_text.hpp"
#include "modules/common/uri_template.hpp"

namespace sb::mcp {

namespace {

/// How deep `parse` reads; the text comes from the node, but a tree deeper
/// than this is not one any module needs.
constexpr size_t parse_depth = 512;
constexpr size_t parse_members = static_cast<size_t>(-1);

/// `x` as JSON text; bad UTF-8 in strings is replaced rather than thrown at.
std::string text_of(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

endpoint make_entry(const char* kind, const std::string& context,
                    const std::string& name, const json& definition,
                    std::string handler, std::string module) {
  endpoint result;
  result.protocol = "mcp";
  result.method = kind;
  result.pattern = context + "/" + name;
  result.handler = std::move(handler);
  result.module = std::move(module);
  result.detail = text_of(definition);
  return result;
}

std::string string_of(const json& x, const char* key) {
  if (!x.is_object())
    return {};
  auto i = x.find(key);
  return i != x.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

} // namespace

endpoint tool(const std::string& context, json definition, std::string handler,
              std::string module) {
  if (definition.is_object() && !definition.contains("inputSchema"))
    definition["inputSchema"] = {{"type", "object"}};
  auto name = string_of(definition, "name");
  return make_entry(tool_kind, context, name, definition, std::move(handler),
                    std::move(module));
}

endpoint resource(const std::string& context, json definition,
                  std::string handler, std::string module) {
  auto uri = string_of(definition, "uri");
  return make_entry(resource_kind, context, uri, definition, std::move(handler),
                    std::move(module));
}

endpoint resource_template(const std::string& context, json definition,
                           std::string handler, std::string module) {
  auto uri = string_of(definition, "uriTemplate");
  return make_entry(template_kind, context, uri, definition, std::move(handler),
                    std::move(module));
}

endpoint prompt(const std::string& context, json definition,
                std::string handler, std::string module) {
  auto name = string_of(definition, "name");
  return make_entry(prompt_kind, context, name, definition, std::move(handler),
                    std::move(module));
}

json parse(const std::string& text) {
  json x;
  if (!modules::read_json(text, x, parse_depth, parse_members).empty())
    return json(json::value_t::discarded);
  return x;
}

json params(const mcp_request& call) {
  auto x = parse(call.params);
  return x.is_object() ? x : json::object();
}

json arguments(const mcp_request& call) {
  auto x = params(call);
  auto i = x.find("arguments");
  return i != x.end() && i->is_object() ? *i : json::object();
}

std::string uri(const mcp_request& call) {
  return string_of(params(call), "uri");
}

json template_values(const mcp_request& call) {
  auto result = json::object();
  if (auto values = match_uri_template(call.name, uri(call)))
    for (auto& [name, value] : *values)
      result[name] = value;
  return result;
}

mcp_result result(const json& x) {
  mcp_result res;
  res.result = text_of(x);
  return res;
}

mcp_result text_result(const std::string& text, bool is_error) {
  // The most common answer, written directly rather than as a tree.
  mcp_result res;
  res.result = R"({"content":[{"type":"text","text":)";
  sb::append_json_string(res.result, text);
  res.result += is_error ? R"(}],"isError":true})" : "}]}";
  return res;
}

mcp_result tool_result(json content, bool is_error, json structured) {
  json x = {{"content", std::move(content)}};
  if (!structured.is_null())
    x["structuredContent"] = std::move(structured);
  if (is_error)
    x["isError"] = true;
  return result(x);
}

mcp_result resource_text(const std::string& uri, const std::string& mime_type,
                         const std::string& text) {
  json item = {{"uri", uri}, {"text", text}};
  if (!mime_type.empty())
    item["mimeType"] = mime_type;
  return result({{"contents", json::array({std::move(item)})}});
}

mcp_result error(int32_t code, const std::string& message, const json& data) {
  mcp_result res;
  res.error_code = code;
  res.error_message = message;
  if (!data.is_null())
    res.error_data = text_of(data);
  return res;
}

void progress(const mcp_request& call, double progress,
              std::optional<double> total, const std::string& message) {
  if (!call.peer)
    return;
  json x = {{"progress", progress}};
  if (total)
    x["total"] = *total;
  if (!message.empty())
    x["message"] = message;
  caf::anon_send(call.peer,
                 mcp_notice{call.call, "notifications/progress", text_of(x)});
}

void log(const mcp_request& call, const std::string& level, const json& data,
         const std::string& logger) {
  if (!call.peer)
    return;
  json x = {{"level", level}, {"data", data}};
  if (!logger.empty())
    x["logger"] = logger;
  caf::anon_send(call.peer,
                 mcp_notice{call.call, "notifications/message", text_of(x)});
}

void updated(const caf::actor& bus, const std::string& context,
             const std::string& uri) {
  if (bus)
    caf::anon_send(bus, publish_atom::value, std::string{"mcp"},
                   caf::make_message(mcp_updated{context, uri}));
}

} // namespace sb::mcp
