#pragma once

// The greeter module: a small example of a module that runs on a node of
// its own and joins a front node (see `main.cpp` and docs/modules.md).
//
// - `GET /greeter/hello/:name`: `{"greeting":"Hello, <name>!"}`.
// - `GET /greeter/stats`: greetings served, and `routes` events seen on the
//   bus, which reach this module from the front node's registry.
//
// Settings: `{"greeting": "Hello"}`, a word of 1 to 64 characters.

#include <string>

#include "actors/factory.hpp"

namespace sb::modules::greeter {

struct greeter_settings {
  std::string greeting = "Hello";
};

std::string parse_settings(const std::string& text, greeter_settings& out);

/// Factory entry of the module, named `greeter`.
module_factory make_factory();

} // namespace sb::modules::greeter
