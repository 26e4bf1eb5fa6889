#pragma once

// The HTTP protocol handler actor. It owns the Beast server, hands every
// parsed request to the registry and stops the server on `stop_atom`. The
// Beast code lives in server.cpp; this translation unit holds the CAF side.

#include "actors/factory.hpp"

namespace sb::http {

/// Factory entry of the HTTP protocol handler, named `http`.
protocol_factory make_factory();

} // namespace sb::http
