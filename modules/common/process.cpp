#include "modules/common/process.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/settings_reader.hpp"

namespace sb::modules {

namespace {

using clock_type = std::chrono::steady_clock;

/// Longest time the loop sleeps before it looks at the cancel flag again.
constexpr int max_poll_ms = 100;

/// Bytes read from a pipe at once.
constexpr size_t chunk_size = 64 * 1024;

std::string errno_text(int code) {
  char buf[256];
  // GNU strerror_r: returns a pointer that may or may not point into `buf`.
  return strerror_r(code, buf, sizeof(buf));
}

/// A file descriptor that closes itself.
class unique_fd {
public:
  unique_fd() = default;

  explicit unique_fd(int fd) noexcept
      : fd_(fd) {}

  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }

  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

/// Attributes and file actions of `posix_spawn`, released on every path.
struct spawn_setup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;

  spawn_setup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }

  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;

  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

bool has_nul(const std::string& str) {
  return str.find('\0') != std::string::npos;
}

/// What is wrong with `spec`, or an empty string.
std::string spec_problem(const process_spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return "no program given";
  if (spec.argv[0][0] != '/')
    return "the program must be an absolute path, not '" + spec.argv[0] + "'";
  for (auto& arg : spec.argv)
    if (has_nul(arg))
      return "arguments must not contain NUL bytes";
  if (has_nul(spec.cwd) || has_nul(spec.home))
    return "paths must not contain NUL bytes";
  for (auto& [name, value] : spec.env)
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name) ||
        has_nul(value))
      return "invalid environment variable name '" + name + "'";
  return {};
}

/// `NAME=value` strings: the defaults, replaced or extended by `spec.env`.
std::vector<std::string> make_environment(const process_spec& spec) {
  field_list vars = {
    {"PATH", "/usr/bin:/bin"},
    {"LANG", "C.UTF-8"},
    {"HOME", spec.home.empty() ? std::string{"/nonexistent"} : spec.home}};
  for (auto& [name, value] : spec.env) {
    auto i = std::find_if(vars.begin(), vars.end(),
                          [&](const field& x) { return x.first == name; });
    if (i != vars.end())
      i->second = value;
    else
      vars.emplace_back(name, value);
  }
  std::vector<std::string> result;
  result.reserve(vars.size());
  for (auto& [name, value] : vars)
    result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> pointers_to(std::vector<std::string>& xs) {
  std::vector<char*> result;
  result.reserve(xs.size() + 1);
  for (auto& x : xs)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
}

/// Whether `pid` has exited; leaves it unreaped, so that its process ID and
/// group ID stay taken until `waitpid`.
bool has_exited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (::waitid(P_PID, static_cast<id_t>(pid), &info,
               WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD; // Reaped by someone else: nothing to wait for.
  return info.si_pid != 0;
}

/// Reads what `fd` holds into `out`, keeping at most `room` more bytes
/// across both outputs. Returns false at end of file or on an error.
bool drain(int fd, std::string& out, uint64_t& room, bool& over) {
  char buf[chunk_size];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      auto len = static_cast<uint64_t>(n);
      auto keep = std::min(len, room);
      out.append(buf, static_cast<size_t>(keep));
      room -= keep;
      if (keep < len) {
        over = true;
        return true;
      }
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    return false;
  }
}

/// Opens the program's process ID as a file descriptor that polls readable
/// when it exits; -1 where the kernel lacks pidfd_open.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

/// Starts the program; returns its process ID, or -1 with `error` set.
pid_t start(const process_spec& spec, int out_w, int err_w,
            std::string& error) {
  spawn_setup setup;
  auto& fa = setup.actions;
  auto& attr = setup.attr;
  const auto& cwd = spec.cwd.empty() ? std::string{"/"} : spec.cwd;
  // The child: in the working directory, stdin from /dev/null, stdout and
  // stderr to the pipes, every other descriptor closed.
  int rc = posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  if (rc == 0)
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2);
  if (rc == 0)
    rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // A process group of its own, no blocked signals, default dispositions
  // (our process may ignore SIGPIPE, say; the program must not inherit it).
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                           POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF);
  if (rc == 0)
    rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (rc != 0) {
    error = "cannot prepare the process: " + errno_text(rc);
    return -1;
  }
  // Spawn; glibc reports a failed chdir or exec as the return value.
  auto args = spec.argv;
  auto env = make_environment(spec);
  auto argv = pointers_to(args);
  auto envp = pointers_to(env);
  pid_t pid = -1;
  rc =
    ::posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), envp.data());
  if (rc != 0) {
    error = "cannot run " + args[0] + ": " + errno_text(rc);
    return -1;
  }
  return pid;
}

} // namespace

process_result run_process(const process_spec& spec,
                           const std::atomic<bool>* cancel) {
  process_result res;
  auto started = clock_type::now();
  if (auto problem = spec_problem(spec); !problem.empty()) {
    res.error = std::move(problem);
    return res;
  }
  // A missing working directory gets its own message; the spawn error alone
  // would blame the program.
  if (!spec.cwd.empty()) {
    struct stat st;
    if (::stat(spec.cwd.c_str(), &st) != 0) {
      res.error = "working directory " + spec.cwd + ": " + errno_text(errno);
      return res;
    }
    if (!S_ISDIR(st.st_mode)) {
      res.error = "working directory " + spec.cwd + ": not a directory";
      return res;
    }
  }

  // Pipes with close-on-exec on every end; only our read ends are
  // non-blocking, since the program may not expect EAGAIN on its stdout.
  int out_fds[2];
  int err_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) {
    res.error = "cannot create a pipe: " + errno_text(errno);
    return res;
  }
  unique_fd out_r{out_fds[0]};
  unique_fd out_w{out_fds[1]};
  if (::pipe2(err_fds, O_CLOEXEC) != 0) {
    res.error = "cannot create a pipe: " + errno_text(errno);
    return res;
  }
  unique_fd err_r{err_fds[0]};
  unique_fd err_w{err_fds[1]};
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

  auto pid = start(spec, out_w.get(), err_w.get(), res.error);
  if (pid < 0)
    return res;
  out_w.reset();
  err_w.reset();
  unique_fd pidfd{open_pidfd(pid)};

  // Read until the program is gone and both pipes are closed. When the
  // program exits, the rest of its group goes with it, so that a
  // background child cannot keep the pipes open.
  auto deadline = started + std::chrono::milliseconds{spec.timeout_ms};
  uint64_t room = spec.max_output;
  bool leader_done = false;
  for (;;) {
    if (!leader_done && has_exited(pid)) {
      leader_done = true;
      ::kill(-pid, SIGKILL);
    }
    if (leader_done && out_r.get() < 0 && err_r.get() < 0)
      break;
    auto now = clock_type::now();
    if (now >= deadline || (cancel && cancel->load())) {
      res.timed_out = true;
      break;
    }
    auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
        .count() +
      1;
    int wait_ms = static_cast<int>(std::min<int64_t>(left, max_poll_ms));
    pollfd fds[3];
    nfds_t count = 0;
    for (auto fd : {out_r.get(), err_r.get()})
      if (fd >= 0)
        fds[count++] = pollfd{fd, POLLIN, 0};
    if (!leader_done && pidfd.get() >= 0)
      fds[count++] = pollfd{pidfd.get(), POLLIN, 0};
    else if (!leader_done && count == 0)
      wait_ms = std::min(wait_ms, 5); // No pidfd: look again soon.
    if (::poll(fds, count, wait_ms) < 0 && errno != EINTR) {
      res.error = "cannot wait for the process: " + errno_text(errno);
      break;
    }
    bool over = false;
    if (out_r.get() >= 0 && !drain(out_r.get(), res.out, room, over))
      out_r.reset();
    if (!over && err_r.get() >= 0 && !drain(err_r.get(), res.err, room, over))
      err_r.reset();
    if (over) {
      res.truncated = true;
      break;
    }
  }

  // Kill what is left of the group (the leader stays a zombie until reaped,
  // so its group ID cannot name anyone else yet), then reap.
  ::kill(-pid, SIGKILL);
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited == pid) {
    if (WIFEXITED(status)) {
      res.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      res.signal = WTERMSIG(status);
    }
  }
  res.elapsed_ms =
    static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                            clock_type::now() - started)
                            .count());
  return res;
}

// -- the runner ---------------------------------------------------------------

namespace {

using cancel_flag = std::shared_ptr<std::atomic<bool>>;

/// Runs one program and quits: a detached actor, so that the blocking work
/// has a thread of its own.
caf::behavior process_worker(caf::event_based_actor* self, cancel_flag flag) {
  return {
    [self, flag](process_spec& spec) {
      process_result res;
      try {
        res = run_process(spec, flag.get());
      } catch (const std::exception& ex) {
        res.error = std::string{"cannot run the process: "} + ex.what();
      }
      self->quit();
      return res;
    },
  };
}

struct runner_state {
  static inline const char* name = "sb.process_runner";

  struct job {
    process_spec spec;
    caf::response_promise rp;
    /// When the job came; its time limit counts from then.
    std::chrono::steady_clock::time_point since =
      std::chrono::steady_clock::now();
  };

  size_t max_concurrent = 1;
  size_t max_queued = 0;
  std::deque<job> waiting;
  /// One flag per program that runs now.
  std::vector<cancel_flag> running;

  runner_state() = default;
  runner_state(const runner_state&) = delete;
  runner_state& operator=(const runner_state&) = delete;

  /// The runner is going down: its programs go too.
  ~runner_state() {
    for (auto& flag : running)
      flag->store(true);
  }
};

using runner_actor = caf::stateful_actor<runner_state>;

void launch(runner_actor* self, runner_state::job job);

/// Starts the next waiting job whose time is not up. A job's time limit
/// counts from its arrival: one that waited it out has no caller left, and
/// one that waited part of it gets the rest.
void start_next(runner_actor* self) {
  auto& st = self->state;
  while (!st.waiting.empty()) {
    auto next = std::move(st.waiting.front());
    st.waiting.pop_front();
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - next.since)
                    .count();
    if (waited >= static_cast<int64_t>(next.spec.timeout_ms)) {
      process_result res;
      res.error = "waited " + std::to_string(waited) +
                  " ms for a free slot, longer than its time limit of " +
                  std::to_string(next.spec.timeout_ms) + " ms";
      next.rp.deliver(std::move(res));
      continue;
    }
    next.spec.timeout_ms -= static_cast<uint32_t>(waited);
    launch(self, std::move(next));
    return;
  }
}

void launch(runner_actor* self, runner_state::job job) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  self->state.running.push_back(flag);
  auto worker = self->spawn<caf::detached>(process_worker, flag);
  auto rp = std::move(job.rp);
  auto finish = [self, flag, rp](process_result res) mutable {
    rp.deliver(std::move(res));
    auto& st = self->state;
    st.running.erase(std::find(st.running.begin(), st.running.end(), flag));
    start_next(self);
  };
  // The program's own time limit bounds the wait: no timer needed.
  self->request(worker, caf::infinite, std::move(job.spec))
    .then([finish](process_result& res) mutable { finish(std::move(res)); },
          [self, finish](caf::error& err) mutable {
            process_result res;
            res.error =
              "the process worker failed: " + self->system().render(err);
            finish(std::move(res));
          });
}

caf::behavior process_runner(runner_actor* self, size_t max_concurrent,
                             size_t max_queued) {
  self->state.max_concurrent = std::max<size_t>(max_concurrent, 1);
  self->state.max_queued = max_queued;
  return {
    [self](process_spec& spec) {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      if (st.running.size() < st.max_concurrent) {
        launch(self, {std::move(spec), rp, std::chrono::steady_clock::now()});
      } else if (st.waiting.size() < st.max_queued) {
        st.waiting.push_back(
          {std::move(spec), rp, std::chrono::steady_clock::now()});
      } else {
        process_result res;
        res.error = "too busy: " + std::to_string(st.running.size()) +
                    " commands run and " + std::to_string(st.waiting.size()) +
                    " wait; try again later";
        rp.deliver(std::move(res));
      }
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_process_runner(caf::actor_system& sys, size_t max_concurrent,
                                size_t max_queued) {
  return sys.spawn(process_runner, max_concurrent, max_queued);
}

bool read_run_limit(const std::string& key, const nlohmann::json& val,
                    uint32_t& timeout_ms, uint64_t& max_output_bytes,
                    size_t& max_concurrent, std::string& err) {
  if (key == "timeout_ms")
    err = read_uint(val, key, 100, 600'000, timeout_ms);
  else if (key == "max_output_bytes")
    err = read_uint(val, key, 1024, 64 << 20, max_output_bytes);
  else if (key == "max_concurrent")
    err = read_uint(val, key, 1, 64, max_concurrent);
  else
    return false;
  return true;
}

uint32_t program_timeout(uint32_t limit_ms, uint32_t call_timeout_ms) {
  if (call_timeout_ms == 0)
    return limit_ms;
  return std::max<uint32_t>(1, std::min(limit_ms, call_timeout_ms / 10 * 9));
}

} // namespace sb::modules
