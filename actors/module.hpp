#pragma once

// Helpers for module actors.

#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_cast.hpp"

#include "actors/atoms.hpp"
#include "actors/factory.hpp"
#include "actors/messages.hpp"

namespace sb {

/// The usual answer of a module to `start_atom`: registers `xs` with the
/// registry, owned by `self`. The registry's answer (`ok_atom`, or the error
/// that names a clash) goes straight to whoever asked the module to start.
template <class Self>
auto register_endpoints(Self* self, const module_context& ctx,
                        std::vector<endpoint> xs) {
  return self->delegate(ctx.registry, register_atom::value,
                        caf::actor_cast<caf::actor>(self), std::move(xs));
}

} // namespace sb
