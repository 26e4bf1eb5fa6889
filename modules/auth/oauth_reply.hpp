#pragma once

// Responses of the authorization server: OAuth error objects, token
// answers that no cache may keep, and small HTML pages for browsers.

#include <cstdint>
#include <string>

#include "actors/messages.hpp"
#include "modules/common/json_reply.hpp"

namespace sb::modules::auth {

/// `body` as JSON with `Cache-Control: no-store` (RFC 6749 section 5.1).
http_response no_store_reply(uint16_t status, const json& body);

/// An OAuth error object `{"error":..,"error_description":..}`, not cached.
http_response oauth_error(uint16_t status, const std::string& error,
                          const std::string& description);

/// An HTML page with one paragraph, not cached and never framed.
http_response html_reply(uint16_t status, const std::string& title,
                         const std::string& text);

/// A 302 to `location`, not cached.
http_response redirect_reply(const std::string& location);

} // namespace sb::modules::auth
