#define CAF_SUITE process
#include "tests/kit/mcp_module_fixture.hpp"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modules/common/process.hpp"

using namespace sb;
using namespace sb::modules;
using namespace std::chrono_literals;

namespace {

process_spec spec_of(std::vector<std::string> argv, uint32_t timeout_ms = 5000,
                     uint64_t max_output = 1 << 20) {
  process_spec spec;
  spec.argv = std::move(argv);
  spec.timeout_ms = timeout_ms;
  spec.max_output = max_output;
  return spec;
}

process_spec sh(const std::string& script, uint32_t timeout_ms = 5000) {
  return spec_of({"/bin/sh", "-c", script}, timeout_ms);
}

/// Whether process `pid` is gone or only a zombie that someone else (the
/// container's init, say) has yet to reap.
bool gone(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  if (!in)
    return true;
  std::string line;
  std::getline(in, line);
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] == 'Z';
}

/// Waits up to `limit` for `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 3000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

/// The value of `key` in /proc/<pid>/status text `text`.
std::string status_field(const std::string& text, const std::string& key) {
  auto pos = text.find(key + ":\t");
  if (pos == std::string::npos)
    return "<missing>";
  auto end = text.find('\n', pos);
  return text.substr(pos + key.size() + 2, end - pos - key.size() - 2);
}

/// A runner in a real actor system, driven by a scoped actor.
struct runner_fixture {
  test::real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
};

} // namespace

CAF_TEST(echo writes its arguments and exits with 0) {
  auto res = run_process(spec_of({"/bin/echo", "hello", "two words"}));
  CAF_CHECK_EQUAL(res.error, "");
  CAF_CHECK_EQUAL(res.out, "hello two words\n");
  CAF_CHECK_EQUAL(res.err, "");
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_CHECK_EQUAL(res.signal, 0);
  CAF_CHECK(!res.timed_out);
  CAF_CHECK(!res.truncated);
  CAF_CHECK(res.ok());
}

CAF_TEST(the exit status and stderr come back apart from stdout) {
  auto res = run_process(sh("echo out; echo oops >&2; exit 3"));
  CAF_CHECK_EQUAL(res.out, "out\n");
  CAF_CHECK_EQUAL(res.err, "oops\n");
  CAF_CHECK_EQUAL(res.exit_code, 3);
  CAF_CHECK(!res.ok());
}

CAF_TEST(arguments reach the program unchanged without a shell) {
  auto res = run_process(
    spec_of({"/usr/bin/printf", "[%s]", "$HOME", "a b", "*", ";ls", ""}));
  CAF_CHECK_EQUAL(res.out, "[$HOME][a b][*][;ls][]");
}

CAF_TEST(a program that runs too long is killed with its whole group) {
  auto res = run_process(sh("sleep 5 & echo $!; wait", 300));
  CAF_CHECK(res.timed_out);
  CAF_CHECK_EQUAL(res.signal, SIGKILL);
  CAF_CHECK_EQUAL(res.exit_code, -1);
  CAF_CHECK_LESS(res.elapsed_ms, 2000u);
  CAF_CHECK(!res.ok());
  // The background sleep belonged to the group and died with it.
  auto child = static_cast<pid_t>(std::stol(res.out));
  CAF_CHECK(eventually([&] { return gone(child); }));
}

CAF_TEST(output beyond the cap is cut and the program killed) {
  auto res = run_process(spec_of({"/usr/bin/yes"}, 5000, 10000));
  CAF_CHECK(res.truncated);
  CAF_CHECK(!res.timed_out);
  CAF_CHECK_EQUAL(res.out.size(), 10000u);
  CAF_CHECK_EQUAL(res.signal, SIGKILL);
  CAF_CHECK(!res.ok());
  // The cap counts stdout and stderr together.
  auto both =
    run_process(sh("head -c 6000 /dev/zero; head -c 6000 /dev/zero >&2"));
  CAF_CHECK(both.ok());
  CAF_CHECK_EQUAL(both.out.size() + both.err.size(), 12000u);
  auto capped = run_process(
    spec_of({"/bin/sh", "-c",
             "head -c 6000 /dev/zero; head -c 6000 /dev/zero >&2; sleep 5"},
            5000, 10000));
  CAF_CHECK(capped.truncated);
  CAF_CHECK_EQUAL(capped.out.size() + capped.err.size(), 10000u);
  CAF_CHECK_LESS(capped.elapsed_ms, 2000u);
}

CAF_TEST(output up to the cap is kept whole) {
  auto res = run_process(
    spec_of({"/usr/bin/head", "-c", "10000", "/dev/zero"}, 5000, 10000));
  CAF_CHECK(!res.truncated);
  CAF_CHECK_EQUAL(res.out.size(), 10000u);
  CAF_CHECK(res.ok());
}

CAF_TEST(a program that does not exist is reported as not run) {
  auto res = run_process(spec_of({"/nonexistent/program", "x"}));
  CAF_CHECK_EQUAL(res.error,
                  "cannot run /nonexistent/program: No such file or directory");
  auto rel = run_process(spec_of({"echo", "x"}));
  CAF_CHECK_EQUAL(rel.error,
                  "the program must be an absolute path, not 'echo'");
  auto none = run_process(spec_of({}));
  CAF_CHECK_EQUAL(none.error, "no program given");
  auto nul = run_process(spec_of({"/bin/echo", std::string("a\0b", 3)}));
  CAF_CHECK_EQUAL(nul.error, "arguments must not contain NUL bytes");
}

CAF_TEST(the program runs in the working directory it is given) {
  test::temp_dir dir;
  auto spec = spec_of({"/bin/pwd"});
  spec.cwd = dir.path();
  auto res = run_process(spec);
  CAF_CHECK_EQUAL(res.out, dir.path() + "\n");
  // Without one it runs in /.
  CAF_CHECK_EQUAL(run_process(spec_of({"/bin/pwd"})).out, "/\n");
  spec.cwd = dir / "missing";
  auto missing = run_process(spec);
  CAF_CHECK_EQUAL(missing.error, "working directory " + dir.path() +
                                   "/missing: No such file or directory");
}

CAF_TEST(the environment holds only the defaults and what the caller adds) {
  ::setenv("SB_PROCESS_TEST_SECRET", "leak", 1);
  auto res = run_process(spec_of({"/usr/bin/env"}));
  CAF_CHECK_EQUAL(res.out, "PATH=/usr/bin:/bin\nLANG=C.UTF-8\n"
                           "HOME=/nonexistent\n");
  auto spec = spec_of({"/usr/bin/env"});
  spec.home = "/srv/home";
  spec.env = {{"GIT_DIR", "/x"}, {"LANG", "C"}};
  CAF_CHECK_EQUAL(run_process(spec).out, "PATH=/usr/bin:/bin\nLANG=C\n"
                                         "HOME=/srv/home\nGIT_DIR=/x\n");
  spec.env = {{"A=B", "x"}};
  CAF_CHECK_EQUAL(run_process(spec).error,
                  "invalid environment variable name 'A=B'");
  ::unsetenv("SB_PROCESS_TEST_SECRET");
}

CAF_TEST(stdin is empty and no other descriptor reaches the program) {
  // cat would wait for input until the time is up.
  auto cat = run_process(spec_of({"/bin/cat"}, 3000));
  CAF_CHECK(cat.ok());
  CAF_CHECK_EQUAL(cat.out, "");
  // A descriptor that we opened without close-on-exec stays with us.
  auto leaky = ::open("/dev/null", O_RDONLY);
  CAF_REQUIRE_GREATER_OR_EQUAL(leaky, 3);
  auto res = run_process(sh("ls /proc/$$/fd"));
  ::close(leaky);
  CAF_CHECK_EQUAL(res.out, "0\n1\n2\n");
}

CAF_TEST(the program gets default signal dispositions and no blocked signals) {
  auto old = ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigset_t prev;
  pthread_sigmask(SIG_BLOCK, &set, &prev);
  auto res = run_process(spec_of({"/bin/cat", "/proc/self/status"}));
  pthread_sigmask(SIG_SETMASK, &prev, nullptr);
  ::signal(SIGPIPE, old);
  // Signals 1 to 31. glibc's posix_spawn leaves its own two internal
  // signals (32 and 33) ignored in the child; no program uses them.
  auto classic = [&](const char* key) {
    return std::stoull(status_field(res.out, key), nullptr, 16) & 0x7fffffff;
  };
  CAF_CHECK_EQUAL(classic("SigIgn"), 0u);
  CAF_CHECK_EQUAL(classic("SigBlk"), 0u);
  // Its own process group: the shell's group ID is its process ID.
  auto group = run_process(sh("cut -d' ' -f5 /proc/$$/stat; echo $$"));
  auto nl = group.out.find('\n');
  CAF_REQUIRE(nl != std::string::npos);
  CAF_CHECK_EQUAL(group.out.substr(0, nl + 1), group.out.substr(nl + 1));
}

CAF_TEST(a background child cannot keep the run open) {
  auto res = run_process(sh("sleep 30 & echo started", 5000));
  CAF_CHECK(!res.timed_out);
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_CHECK_EQUAL(res.out, "started\n");
  CAF_CHECK_LESS(res.elapsed_ms, 2000u);
}

CAF_TEST(every child is reaped) {
  for (int i = 0; i < 3; ++i) {
    run_process(spec_of({"/bin/true"}));
    run_process(sh("sleep 5", 100));
    run_process(spec_of({"/usr/bin/yes"}, 5000, 100));
  }
  // No child of ours is left, not even a zombie.
  errno = 0;
  CAF_CHECK_EQUAL(::waitpid(-1, nullptr, WNOHANG), -1);
  CAF_CHECK_EQUAL(errno, ECHILD);
}

CAF_TEST(the cancel flag ends a run) {
  std::atomic<bool> cancel{false};
  std::thread stopper{[&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  }};
  auto res = run_process(sh("sleep 10", 20000), &cancel);
  stopper.join();
  CAF_CHECK(res.timed_out);
  CAF_CHECK_LESS(res.elapsed_ms, 2000u);
}

CAF_TEST_FIXTURE_SCOPE(runner_tests, runner_fixture)

CAF_TEST(the runner answers each spec with the result of its program) {
  auto runner = spawn_process_runner(sys, 2, 4);
  self->request(runner, 10s, spec_of({"/bin/echo", "via", "runner"}))
    .receive(
      [](process_result& res) {
        CAF_CHECK_EQUAL(res.out, "via runner\n");
        CAF_CHECK(res.ok());
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  self->send_exit(runner, caf::exit_reason::user_shutdown);
}

CAF_TEST(the runner queues beyond its limit and refuses beyond its queue) {
  auto runner = spawn_process_runner(sys, 1, 1);
  auto started = std::chrono::steady_clock::now();
  auto first = self->request(runner, 10s, sh("sleep 0.3; echo 1"));
  auto second = self->request(runner, 10s, sh("sleep 0.3; echo 2"));
  auto third = self->request(runner, 10s, sh("echo 3"));
  auto fail = [&](caf::error& err) {
    CAF_FAIL(sys.render(err));
  };
  third.receive(
    [](process_result& res) {
      CAF_CHECK_EQUAL(res.error,
                      "too busy: 1 commands run and 1 wait; try again later");
    },
    fail);
  first.receive([](process_result& res) { CAF_CHECK_EQUAL(res.out, "1\n"); },
                fail);
  second.receive([](process_result& res) { CAF_CHECK_EQUAL(res.out, "2\n"); },
                 fail);
  // One after the other, not side by side.
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - started, 600ms);
  // Room again once they are done.
  self->request(runner, 10s, sh("echo 4"))
    .receive([](process_result& res) { CAF_CHECK_EQUAL(res.out, "4\n"); },
             fail);
  self->send_exit(runner, caf::exit_reason::user_shutdown);
}

CAF_TEST(a job that waited out its time limit in the queue never runs) {
  test::temp_dir dir;
  auto runner = spawn_process_runner(sys, 1, 4);
  auto fail = [&](caf::error& err) {
    CAF_FAIL(sys.render(err));
  };
  auto marker = dir.path() + "/ran";
  auto first = self->request(runner, 10s, sh("sleep 0.5"));
  // Its 200 ms run out while the first runs: nobody waits for it anymore.
  auto late = self->request(runner, 10s, sh("touch " + marker, 200));
  // This one has time left after the wait, and gets what is left.
  auto patient = self->request(runner, 10s, sh("echo ok", 3000));
  first.receive([](process_result& res) { CAF_CHECK(res.ok()); }, fail);
  late.receive(
    [](process_result& res) {
      CAF_CHECK_NOT_EQUAL(res.error.find("for a free slot"), std::string::npos);
    },
    fail);
  patient.receive([](process_result& res) { CAF_CHECK_EQUAL(res.out, "ok\n"); },
                  fail);
  CAF_CHECK(::access(marker.c_str(), F_OK) != 0);
  self->send_exit(runner, caf::exit_reason::user_shutdown);
}

CAF_TEST(programs die with their runner) {
  test::temp_dir dir;
  auto runner = spawn_process_runner(sys, 2, 0);
  auto pid_file = dir / "pid";
  auto spec = sh("echo $$ > " + pid_file + "; exec sleep 30", 60000);
  self->send(runner, spec);
  CAF_REQUIRE(eventually([&] {
    std::ifstream in{pid_file};
    std::string line;
    return std::getline(in, line) && !line.empty();
  }));
  std::ifstream in{pid_file};
  pid_t pid = 0;
  in >> pid;
  CAF_REQUIRE_GREATER(pid, 0);
  CAF_CHECK(!gone(pid));
  self->send_exit(runner, caf::exit_reason::user_shutdown);
  CAF_CHECK(eventually([&] { return gone(pid); }));
}

CAF_TEST_FIXTURE_SCOPE_END()
