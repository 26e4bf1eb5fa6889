#include "actors/program.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/node.hpp"

namespace sb {

namespace {

std::string join_names(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

} // namespace

int run_program(int argc, char** argv, factory_table table,
                const program_info& program) {
  auto cli = parse_command_line(argc, argv, table, program);
  switch (cli.action) {
  case command_line::help:
    std::cout << usage(table, program);
    return 0;
  case command_line::version:
    std::cout << version_string() << '\n';
    return 0;
  case command_line::fail:
    std::cerr << program.name << ": " << cli.error << '\n';
    return 2;
  case command_line::run:
    break;
  }
  if (program.module_node && !cli.config.cluster.joins()) {
    std::cerr << program.name
              << ": --join HOST:PORT is required: this program serves its "
                 "module through a front node\n";
    return 2;
  }
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto modules = join_names(cli.config.modules);
  auto publishes = cli.config.cluster.publish;
  auto joins = cli.config.cluster.joins();
  node n{std::move(cli.config), std::move(table)};
  if (auto err = n.start(); !err.empty()) {
    std::cerr << program.name << ": start-up failed: " << err << '\n';
    n.stop();
    return 1;
  }
  std::string line = "ready address=" + n.address() + " modules=" + modules +
                     " routes=" + std::to_string(n.routes());
  if (publishes)
    line += " publish=" + n.cluster_address();
  if (joins)
    line += " join=" + n.cluster_address();
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  n.stop();
  return 0;
}

int run_module_node(int argc, char** argv, std::string program,
                    module_factory module) {
  program_info info;
  info.name = std::move(program);
  info.summary = "Runs module '" + module.name +
                 "' on a node of its own, joined to a front node (--join).";
  info.default_config.clear();
  info.defaults.modules = {module.name};
  info.defaults.protocols.clear();
  info.module_node = true;
  factory_table table;
  table.modules.push_back(std::move(module));
  return run_program(argc, argv, std::move(table), info);
}

} // namespace sb
