// The `switchboard` binary: a node with every module and protocol handler
// this build offers. See `sb::run_program` for what `main` does.

#include "actors/program.hpp"
#include "tools/switchboard/factories.hpp"

int main(int argc, char** argv) {
  return sb::run_program(argc, argv, sb::builtin_factories());
}
