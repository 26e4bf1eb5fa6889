// `switchboard-greeter`: the greeter module as a program of its own. It
// starts a node that hosts only this module and joins a front node:
//
//   switchboard --publish 7000                        # the front node
//   switchboard-greeter --join 127.0.0.1:7000         # this program
//   curl http://127.0.0.1:8080/greeter/hello/ada
//
// Everything else (reconnecting, TLS from `--config`, signals, exit codes)
// comes with `sb::run_module_node`.

#include "actors/program.hpp"
#include "modules/greeter/greeter_module.hpp"

int main(int argc, char** argv) {
  return sb::run_module_node(argc, argv, "switchboard-greeter",
                             sb::modules::greeter::make_factory());
}
