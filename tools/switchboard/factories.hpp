#pragma once

// Every module and protocol handler this build of the binary offers. The
// core never sees this list; it reads the table it is given.

#include "actors/factory.hpp"

namespace sb {

/// The factory table of the `switchboard` binary.
factory_table builtin_factories();

} // namespace sb
