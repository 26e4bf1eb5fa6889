#pragma once

// Running a program for a module: no shell, a clean environment, limits on
// time and output, and never on a scheduler thread.
//
// `run_process` does the work and blocks until the program is done. Actors
// must not call it; they send a `process_spec` to a runner instead, which
// runs each program on a detached actor (a thread of its own) and answers
// with a `process_result`:
//
//   auto runner = spawn_process_runner(sys, 4, 16);
//   process_spec spec;
//   spec.argv = {"/usr/bin/git", "status"};
//   spec.cwd = "/srv/repo";
//   self->request(runner, caf::infinite, std::move(spec))
//     .then([](process_result& res) { ... });
//
// The program runs in a process group of its own with stdin on /dev/null,
// stdout and stderr on pipes, and no other file descriptor. When the time
// is up, the output exceeds the cap, or the program exits while others of
// its group still run, the whole group gets SIGKILL. The runner reaps every
// child; none is left behind as a zombie.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/send.hpp"

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"

namespace sb::modules {

/// What to run and within which limits.
struct process_spec {
  /// The program's absolute path, then its arguments. No `PATH` lookup.
  std::vector<std::string> argv;
  /// Working directory; empty for `/`.
  std::string cwd;
  /// Value of `HOME`; empty for `/nonexistent`.
  std::string home;
  /// Variables beyond `PATH=/usr/bin:/bin`, `LANG=C.UTF-8` and `HOME`; a
  /// name given here replaces the default of the same name.
  field_list env;
  /// Wall time the program may take.
  uint32_t timeout_ms = 10000;
  /// Bytes of stdout and stderr together that are kept; the program is
  /// killed when it writes more.
  uint64_t max_output = 1 << 20;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_spec& x) {
  return f(caf::meta::type_name("sb.process_spec"), x.argv, x.cwd, x.home,
           x.env, x.timeout_ms, x.max_output);
}

/// How a program ended and what it wrote.
struct process_result {
  /// Why the program did not run (cannot start it, runner busy); empty if
  /// it ran. All other fields are meaningless when this is set.
  std::string error;
  /// Exit status, or -1 when a signal ended the program.
  int32_t exit_code = -1;
  /// The signal that ended the program, or 0.
  int32_t signal = 0;
  std::string out;
  std::string err;
  /// The time ran out and the group was killed.
  bool timed_out = false;
  /// The output exceeded the cap and the group was killed; `out` and `err`
  /// hold what came before.
  bool truncated = false;
  /// Wall time from start to reaping.
  uint32_t elapsed_ms = 0;

  /// Whether the program ran and exited with status 0 by itself.
  bool ok() const noexcept {
    return error.empty() && exit_code == 0 && !timed_out && !truncated;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_result& x) {
  return f(caf::meta::type_name("sb.process_result"), x.error, x.exit_code,
           x.signal, x.out, x.err, x.timed_out, x.truncated, x.elapsed_ms);
}

/// Runs `spec` and blocks until the program is done, killed, or could not
/// start. When `cancel` becomes true the group is killed within about
/// 100 ms and the result counts as timed out. Never throws for a failure of
/// the program; only for out-of-memory.
process_result run_process(const process_spec& spec,
                           const std::atomic<bool>* cancel = nullptr);

/// Spawns a runner that answers `process_spec` with `process_result`. It
/// runs at most `max_concurrent` programs at once, each on a detached actor,
/// keeps up to `max_queued` more waiting in order of arrival and refuses
/// further ones with `process_result::error` set. When the runner goes down,
/// the programs it runs are killed.
caf::actor spawn_process_runner(caf::actor_system& sys, size_t max_concurrent,
                                size_t max_queued);

/// Calls that may wait for a free slot of a module's runner, per slot.
inline constexpr size_t queued_per_slot = 8;

/// Spawns the runner of module actor `self`: `max_concurrent` programs at
/// once, `queued_per_slot` times as many waiting. It goes down with `self`.
template <class Self>
caf::actor spawn_runner_of(Self* self, size_t max_concurrent) {
  auto runner = spawn_process_runner(self->system(), max_concurrent,
                                     max_concurrent * queued_per_slot);
  self->attach_functor(
    [runner] { caf::anon_send_exit(runner, caf::exit_reason::user_shutdown); });
  return runner;
}

/// Reads one of the limits that every module running programs takes in its
/// settings: `timeout_ms` (100 to 600000), `max_output_bytes` (1 KiB to
/// 64 MiB) or `max_concurrent` (1 to 64). Returns false if `key` is none of
/// them; else `err` says what is wrong with `val`, if anything.
bool read_run_limit(const std::string& key, const nlohmann::json& val,
                    uint32_t& timeout_ms, uint64_t& max_output_bytes,
                    size_t& max_concurrent, std::string& err);

/// The time limit of a program that answers a call with `call_timeout_ms`
/// to go (0: no time of its own): `limit_ms`, shortened to nine tenths of
/// the call's time, so that the answer arrives before the call's deadline.
uint32_t program_timeout(uint32_t limit_ms, uint32_t call_timeout_ms);

} // namespace sb::modules
