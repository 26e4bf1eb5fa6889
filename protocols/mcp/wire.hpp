#pragma once

// Pure helpers of the MCP transport: JSON-RPC framing, header checks and
// Server-Sent Events. No actor and no I/O here, so that every rule can be
// tested on its own.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb::mcp {

using json = nlohmann::ordered_json;

/// Protocol revisions this server speaks, newest first.
inline const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> xs{"2025-11-25", "2025-06-18",
                                           "2025-03-26"};
  return xs;
}

/// The revision assumed when a client sends no `MCP-Protocol-Version`.
inline constexpr const char* fallback_version = "2025-03-26";

bool supported_version(std::string_view x);

/// Whether `x` can name a context: 1 to 64 characters a-z, 0-9, `-`, `_`.
bool valid_context_name(std::string_view x);

/// Whether `x` is a revision that accepts JSON-RPC batches.
bool batches_allowed(std::string_view version);

/// Log levels of MCP in increasing severity; -1 for an unknown name.
int log_level(std::string_view name);

/// A JSON-RPC error response. `id` is null when the request's ID is unknown.
json error_response(const json& id, int code, const std::string& message,
                    const json& data = nullptr);

/// A JSON-RPC result response.
json result_response(const json& id, json result);

/// Whether `id` is a valid JSON-RPC request ID: a string or an integer.
bool valid_id(const json& id);

/// What a JSON-RPC message is.
enum class message_kind {
  request,
  notification,
  response,
  invalid,
};

/// Classifies `x`; with `invalid`, `why` says what is wrong.
message_kind classify(const json& x, std::string& why);

/// Serializes `x` as JSON text; bad UTF-8 in strings is replaced rather than
/// throwing.
std::string dump(const json& x);

/// One Server-Sent Event of type `message` carrying the one-line JSON text
/// `x`.
std::string sse_event_text(std::string_view x);

/// One Server-Sent Event of type `message` carrying `x`.
std::string sse_event(const json& x);

/// What an `Accept` header lets the server answer with.
struct accepted {
  bool json = false;
  bool event_stream = false;
};

/// Reads an `Accept` value; a missing header (`nullptr`) accepts both.
accepted parse_accept(const std::string* value);

/// Whether a `Content-Type` value is `application/json`, parameters aside.
bool is_json_type(const std::string& value);

/// The host part of a `Host` value or of an origin's authority: lower case,
/// without port, IPv6 addresses in brackets.
std::string host_of(std::string_view authority);

/// The host of an `Origin` value such as `http://localhost:6274`; empty if
/// it is not an http(s) origin.
std::string origin_host(std::string_view origin);

/// Whether `host` is a name of the loopback interface.
bool loopback_host(std::string_view host);

} // namespace sb::mcp
