#pragma once

// JSON responses for module authors: bodies that never throw on bad bytes,
// and the error shape every endpoint shares.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"

namespace sb::modules {

/// JSON with keys in insertion order, so that responses read naturally.
using json = nlohmann::ordered_json;

/// A response with `body` serialized as JSON. Strings that are not valid
/// UTF-8 (from a path or a query, say) are repaired with U+FFFD instead of
/// throwing.
http_response json_reply(uint16_t status, const json& body);

/// An error response `{"error":{"code":..,"message":..[,"field":..]}}`;
/// `field` is left out when empty.
http_response error_reply(uint16_t status, const std::string& code,
                          const std::string& message,
                          const std::string& field = {});

/// The 500 answer for a handler that failed unexpectedly; what went wrong
/// goes to the log of `component`, not to the client.
http_response internal_error_reply(const char* component,
                                   const std::exception& ex);

} // namespace sb::modules
