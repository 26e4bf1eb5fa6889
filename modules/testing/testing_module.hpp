#pragma once

// The testing module: endpoints that misbehave on purpose, so that tests can
// prove how the node copes. Off unless the config's `modules` names it.
//
// - `GET /testing/stall?ms=N`: answers after N ms; without `ms`, never.
// - `POST /testing/crash`: the module's actor dies without answering.
// - `GET /testing/protected`: requires auth.
// - `GET /testing/echo/*rest`: echoes method, path parameters and query.

#include <cstdint>
#include <string>

#include "actors/factory.hpp"

namespace sb::modules::testing {

struct testing_settings {
  /// Longest stall `ms` accepts, and how long a stall without `ms` holds its
  /// request before dropping it unanswered.
  uint32_t max_stall_ms = 60000;
};

std::string parse_settings(const std::string& text, testing_settings& out);

/// Factory entry of the module, named `testing`.
module_factory make_factory();

} // namespace sb::modules::testing
