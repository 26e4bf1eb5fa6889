#include "protocols/mcp/wire.hpp"

#include <algorithm>
#include <array>

#include "actors/ascii.hpp"
#include "modules/common/json_text.hpp"

namespace sb::mcp {

namespace {

std::string_view trim(std::string_view x) {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

/// Whether the parameters of an Accept item hold `q=0` (refused).
bool zero_weight(std::string_view params) {
  auto x = ascii_lowered(params);
  x.erase(std::remove(x.begin(), x.end(), ' '), x.end());
  auto q = x.find(";q=");
  if (q == std::string::npos)
    return false;
  auto value = std::string_view{x}.substr(q + 3);
  value = value.substr(0, value.find(';'));
  // 0, 0., 0.0, 0.00, 0.000
  if (value.empty() || value.front() != '0')
    return false;
  value.remove_prefix(1);
  if (!value.empty() && value.front() == '.')
    value.remove_prefix(1);
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c == '0'; });
}

} // namespace

bool supported_version(std::string_view x) {
  auto& xs = supported_versions();
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

bool valid_context_name(std::string_view x) {
  return !x.empty() && x.size() <= 64 &&
         std::all_of(x.begin(), x.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

bool batches_allowed(std::string_view version) {
  return version == "2025-03-26";
}

int log_level(std::string_view name) {
  static constexpr std::array<std::string_view, 8> names{
    "debug", "info",     "notice", "warning",
    "error", "critical", "alert",  "emergency"};
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<int>(i);
  return -1;
}

json error_response(const json& id, int code, const std::string& message,
                    const json& data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null())
    err["data"] = data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

message_kind classify(const json& x, std::string& why) {
  if (!x.is_object()) {
    why = "a JSON-RPC message must be an object";
    return message_kind::invalid;
  }
  auto version = x.find("jsonrpc");
  if (version == x.end() || *version != "2.0") {
    why = "the member \"jsonrpc\" must be \"2.0\"";
    return message_kind::invalid;
  }
  auto method = x.find("method");
  auto id = x.find("id");
  if (method != x.end()) {
    if (!method->is_string()) {
      why = "the member \"method\" must be a string";
      return message_kind::invalid;
    }
    if (auto params = x.find("params");
        params != x.end() && !params->is_object() && !params->is_array()) {
      why = "the member \"params\" must be an object";
      return message_kind::invalid;
    }
    if (id == x.end())
      return message_kind::notification;
    if (!valid_id(*id)) {
      why = "the member \"id\" must be a string or an integer";
      return message_kind::invalid;
    }
    return message_kind::request;
  }
  auto has_result = x.contains("result");
  auto has_error = x.contains("error");
  if (has_result != has_error && id != x.end() &&
      (valid_id(*id) || id->is_null()))
    return message_kind::response;
  why = "the message is neither a request, a notification nor a response";
  return message_kind::invalid;
}

std::string dump(const json& x) {
  return modules::write_json(x);
}

std::string sse_event_text(std::string_view x) {
  std::string result = "event: message\ndata: ";
  result += x;
  result += "\n\n";
  return result;
}

std::string sse_event(const json& x) {
  return sse_event_text(dump(x));
}

accepted parse_accept(const std::string* value) {
  accepted result;
  if (value == nullptr) {
    result.json = true;
    result.event_stream = true;
    return result;
  }
  std::string_view rest{*value};
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{}
                                           : rest.substr(comma + 1);
    auto semi = item.find(';');
    auto type = ascii_lowered(trim(item.substr(0, semi)));
    if (semi != std::string_view::npos && zero_weight(item.substr(semi)))
      continue;
    if (type == "*/*") {
      result.json = true;
      result.event_stream = true;
    } else if (type == "application/json" || type == "application/*") {
      result.json = true;
    } else if (type == "text/event-stream" || type == "text/*") {
      result.event_stream = true;
    }
  }
  return result;
}

bool is_json_type(const std::string& value) {
  std::string_view x{value};
  return ascii_lowered(trim(x.substr(0, x.find(';')))) == "application/json";
}

std::string host_of(std::string_view authority) {
  authority = trim(authority);
  std::string_view host;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return {};
    host = authority.substr(0, close + 1);
    rest = authority.substr(close + 1);
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{}
                                           : authority.substr(colon);
  }
  // Nothing but a port may follow the host: `localhost:80@evil.example`
  // names no host of ours.
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() > 6)
      return {};
    rest.remove_prefix(1);
    if (!std::all_of(rest.begin(), rest.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      return {};
  }
  if (host.empty() || std::any_of(host.begin(), host.end(), [](char c) {
        return c == '@' || c == '/' || c == ',' || c == ' ' || c == '\t';
      }))
    return {};
  return ascii_lowered(host);
}

std::string origin_host(std::string_view origin) {
  std::string_view rest;
  auto x = ascii_lowered(trim(origin));
  std::string_view view{x};
  if (view.substr(0, 7) == "http://")
    rest = view.substr(7);
  else if (view.substr(0, 8) == "https://")
    rest = view.substr(8);
  else
    return {};
  // An origin is scheme, host and port: no path, no user information.
  if (rest.find_first_of("/?#@") != std::string_view::npos)
    return {};
  return host_of(rest);
}

bool loopback_host(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

} // namespace sb::mcp
