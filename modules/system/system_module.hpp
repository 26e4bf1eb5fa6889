#pragma once

// The system module: health and introspection of the node.
//
// - `GET /health`: `{"status":"healthy"}` while the module answers.
// - `GET /health/ready`: 200 while the node runs, 503 while it starts or
//   stops.
// - `GET /health/modules/:name`: state of one module, 404 if unknown.
// - `GET /api/routes`: every endpoint with method, pattern, protocol, owner
//   module and auth requirement.

#include "actors/factory.hpp"

namespace sb::modules::system {

/// Factory entry of the module, named `system`.
module_factory make_factory();

} // namespace sb::modules::system
