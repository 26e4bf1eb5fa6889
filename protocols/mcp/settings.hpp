#pragma once

// The `settings.mcp` section of the config.

#include <cstdint>
#include <string>
#include <vector>

namespace sb::mcp {

struct settings {
  /// Context that `/mcp` serves when the client names none.
  std::string default_context = "system";
  /// Sessions that may exist at once; `initialize` beyond gets 503.
  uint32_t max_sessions = 1000;
  /// A session without requests and without an open stream for this long
  /// ends.
  uint32_t session_idle_timeout_ms = 30 * 60 * 1000;
  /// Items of a `*/list` page.
  uint32_t page_size = 100;
  /// Interval of keep-alive comments on open event streams.
  uint32_t keepalive_interval_ms = 15000;
  /// Time the owner of a tool, resource or prompt has to answer a call.
  uint32_t call_timeout_ms = 30000;
  /// Nesting of arrays and objects in a request body at most.
  uint32_t max_json_depth = 64;
  /// Requests of one session that may wait for an answer at once.
  uint32_t max_calls_per_session = 64;
  /// Origins allowed besides those of the loopback interface, e.g.
  /// `https://app.example.com`; `*` allows every origin.
  std::vector<std::string> allowed_origins;
  /// Host names (without port) a request's `Host` header may name; `*`
  /// allows every host.
  std::vector<std::string> allowed_hosts{"localhost", "127.0.0.1", "[::1]"};
};

/// Reads the JSON object `text` over `out`. Returns an error that starts
/// with the offending key, or an empty string.
std::string parse_settings(const std::string& text, settings& out);

} // namespace sb::mcp
