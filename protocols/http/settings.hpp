#pragma once

// The `settings.http` section of the config.

#include <cstdint>
#include <string>

#include "protocols/http/server.hpp"

namespace sb::http {

struct settings {
  server_options server;
  /// Time that in-flight requests get to finish when the node stops.
  uint32_t drain_timeout_ms = 5000;
};

/// Reads the JSON object `text` over `out`. Returns an error that starts
/// with the offending key, or an empty string.
std::string parse_settings(const std::string& text, settings& out);

} // namespace sb::http
