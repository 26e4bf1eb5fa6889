#pragma once

// Our error codes inside `caf::error`, the error model of the actor side.

#include <string>

#include "caf/error.hpp"
#include "caf/fwd.hpp"

#include "actors/errc.hpp"

namespace sb {

/// Category of our errors inside `caf::error`.
constexpr caf::atom_value error_category = caf::atom("switchbrd");

/// Wraps `x` with a human-readable `detail` into a `caf::error`.
caf::error make_error(errc x, std::string detail = {});

/// Translates any error that reaches a request into one of our codes; CAF's
/// own errors for dead receivers and expired requests become `owner_down`
/// and `timeout`. `detail` receives a human-readable message.
errc to_errc(const caf::error& err, std::string& detail);

/// Makes `self` log and drop error messages that arrive outside a request
/// (CAF's default ends the actor). Every core actor does this: another
/// actor's unexpected-message answer, or any node of the cluster, must not
/// be able to stop it with one message.
void drop_stray_errors(caf::scheduled_actor* self, const char* component);

/// Registers our category for rendering with `cfg`.
void add_error_category(caf::actor_system_config& cfg);

} // namespace sb
