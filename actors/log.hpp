#pragma once

// One named spdlog logger per component. Messages are lowercase with
// `key=value` fields; no secrets, no per-request line at info level.

#include <memory>

#include <spdlog/logger.h>

namespace sb {

using logger_ptr = std::shared_ptr<spdlog::logger>;

/// Returns the logger of `component`, creating it on first use. All loggers
/// write to stderr at the level set by `set_log_level`.
logger_ptr logger(const char* component);

/// Sets the level of every logger: trace, debug, info, warn, error or off.
/// Returns false for an unknown level.
bool set_log_level(const std::string& level);

} // namespace sb
