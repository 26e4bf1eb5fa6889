// The `switchboard` binary: a node with every module and protocol handler
// this build offers. See `sb::run_program` for what `main` does.

#include "actors/program.hpp"
#include "tools/switchboard/factories.hpp"

int main(int argc, char** argv) {
  sb::program_info program;
  program.summary = "Runs a Switchboard node: HTTP endpoints and MCP "
                    "contexts served by module actors.";
  program.defaults.protocols = {"http", "mcp"};
  return sb::run_program(argc, argv, sb::builtin_factories(), program);
}
