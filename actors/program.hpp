#pragma once

// The `main` of a node program: reads the command line and config, starts a
// node, prints its ready line and stops it on SIGINT or SIGTERM. The
// `switchboard` binary is one such program; a module author's program that
// hosts a single module on a node of its own is another.

#include <string>

#include "actors/config.hpp"
#include "actors/factory.hpp"

namespace sb {

/// Runs a node with the modules and protocol handlers of `table` until
/// SIGINT or SIGTERM. Returns the exit code: 0 clean stop, 1 start-up
/// failure, 2 bad command line or config.
int run_program(int argc, char** argv, factory_table table,
                const program_info& program = {});

/// Runs a node that hosts only `module` and joins the front node that
/// `--join HOST:PORT` (or `join` in the `--config` file) names; it opens no
/// HTTP port of its own. `program` names the binary in `--help` and errors.
int run_module_node(int argc, char** argv, std::string program,
                    module_factory module);

} // namespace sb
