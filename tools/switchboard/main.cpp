// The `switchboard` binary: reads the command line and config, starts a node
// with every module and protocol handler this build offers, and stops it on
// SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/config.hpp"
#include "actors/node.hpp"
#include "tools/switchboard/factories.hpp"

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

} // namespace

int main(int argc, char** argv) {
  auto table = sb::builtin_factories();
  auto cli = sb::parse_command_line(argc, argv, table);
  switch (cli.action) {
  case sb::command_line::help:
    std::cout << sb::usage(table);
    return 0;
  case sb::command_line::version:
    std::cout << sb::version_string() << '\n';
    return 0;
  case sb::command_line::fail:
    std::cerr << "switchboard: " << cli.error << '\n';
    return 2;
  case sb::command_line::run:
    break;
  }
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto modules = join(cli.config.modules);
  sb::node node{std::move(cli.config), std::move(table)};
  if (auto err = node.start(); !err.empty()) {
    std::cerr << "switchboard: start-up failed: " << err << '\n';
    node.stop();
    return 1;
  }
  std::fprintf(stderr, "ready address=%s modules=%s routes=%llu\n",
               node.address().c_str(), modules.c_str(),
               static_cast<unsigned long long>(node.routes()));
  std::fflush(stderr);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  node.stop();
  return 0;
}
