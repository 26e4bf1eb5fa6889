#pragma once

// Reading the arguments of a tool call with messages that name the
// argument. The MCP handler has checked them against the tool's input
// schema already; a module reads them through this class all the same, so
// that its own invariants hold whoever sends the call.
//
//   tool_args args{mcp::arguments(call), {"path", "max_count"}};
//   auto path = args.string("path", 4096, true);
//   auto count = args.integer("max_count", 1, 1000).value_or(20);
//   if (!args.ok())
//     return mcp::text_result(args.problem(), true);

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/common/mcp_kit.hpp"

namespace sb::modules {

class tool_args {
public:
  /// Wraps `args`; a key that is not among `known` is a problem at once.
  tool_args(mcp::json args, const std::vector<std::string>& known);

  /// A string of at most `max_bytes` bytes without NUL; nothing if absent.
  std::optional<std::string> string(const char* key, size_t max_bytes,
                                    bool required = false);

  /// A whole number in [lo, hi]; nothing if absent.
  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi);

  /// A boolean; `fallback` if absent.
  bool boolean(const char* key, bool fallback = false);

  /// An array of at most `max_items` strings of at most `max_bytes` bytes
  /// each, without NUL; nothing if absent.
  std::optional<std::vector<std::string>>
  strings(const char* key, size_t max_items, size_t max_bytes);

  /// Records `message` unless a problem is known already.
  void fail(std::string message);

  bool ok() const noexcept { return problem_.empty(); }

  /// The first problem, starting with the argument's name.
  const std::string& problem() const noexcept { return problem_; }

private:
  const mcp::json* find(const char* key, bool required);

  mcp::json args_;
  std::string problem_;
};

} // namespace sb::modules
