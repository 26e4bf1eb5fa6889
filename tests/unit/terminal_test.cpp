#define CAF_SUITE terminal
#include "tests/kit/mcp_module_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "modules/terminal/terminal_module.hpp"

using namespace sb;
using json = nlohmann::json;

namespace {

namespace term = modules::terminal;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A working directory with a subdirectory `sub` and a symlink `out`
/// that points outside it.
struct fixture : test::mcp_module_fixture {
  test::temp_dir top;
  std::string work = top / "work";

  fixture() {
    ::mkdir(work.c_str(), 0755);
    ::mkdir((work + "/sub").c_str(), 0755);
    ::mkdir((top / "elsewhere").c_str(), 0755);
    ::symlink("../elsewhere", (work + "/out").c_str());
  }

  json settings(json extra = json::object()) {
    json x = {{"enabled", true},
              {"commands",
               {{"echo", "/bin/echo"},
                {"false", "/bin/false"},
                {"ls", "/bin/ls"},
                {"pwd", "/bin/pwd"},
                {"sleep", "/bin/sleep"},
                {"yes", "/usr/bin/yes"},
                {"env", "/usr/bin/env"},
                {"ghost", "/nonexistent/ghost"}}},
              {"working_directory", work},
              {"timeout_ms", 5000}};
    for (auto& [key, val] : extra.items())
      x[key] = val;
    return x;
  }

  caf::actor start_terminal(json extra = json::object()) {
    return start(term::make_factory(), settings(std::move(extra)).dump());
  }

  test::tool_outcome run(const caf::actor& mod, const std::string& command,
                         std::vector<std::string> args = {},
                         json extra = json::object()) {
    json x = {{"command", command}, {"args", args}};
    for (auto& [key, val] : extra.items())
      x[key] = val;
    return call_tool(mod, "terminal", "run", x);
  }

  /// The message of a refused call.
  std::string refused(const caf::actor& mod, const json& args) {
    auto res = call_tool(mod, "terminal", "run", args);
    CAF_CHECK_EQUAL(res.rpc_error, 0);
    CAF_CHECK(res.is_error);
    return res.text;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(terminal_tests, fixture)

CAF_TEST(a terminal that is not enabled registers nothing) {
  auto mod = start(term::make_factory(), "{}");
  start(term::make_factory(), settings({{"enabled", false}}).dump());
  CAF_CHECK(registered().empty());
  // A call that reaches it anyway is refused.
  auto res = run(mod, "echo", {"hi"});
  CAF_CHECK(res.is_error);
  CAF_CHECK_EQUAL(res.text, "the terminal is disabled");
}

CAF_TEST(the run tool lists the allowed commands in a strict schema) {
  start_terminal();
  auto xs = registered();
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK_EQUAL(xs[0].pattern, "terminal/run");
  CAF_CHECK_EQUAL(xs[0].module, "terminal");
  auto def = definition("terminal", "run");
  auto& schema = def["inputSchema"];
  CAF_CHECK_EQUAL(schema["properties"]["command"]["enum"],
                  json::array({"echo", "env", "false", "ghost", "ls", "pwd",
                               "sleep", "yes"}));
  CAF_CHECK_EQUAL(schema["properties"]["args"]["maxItems"], 64);
  CAF_CHECK_EQUAL(schema["properties"]["args"]["items"]["maxLength"], 4096);
  CAF_CHECK_EQUAL(schema["required"], json::array({"command"}));
  CAF_CHECK_EQUAL(schema["additionalProperties"], false);
}

CAF_TEST(run shows the exit code stdout and stderr) {
  auto mod = start_terminal();
  auto res = run(mod, "echo", {"hello", "world"});
  CAF_CHECK(!res.is_error);
  CAF_CHECK_EQUAL(res.text, "exit code: 0\n--- stdout ---\nhello world\n"
                            "--- stderr ---\n(empty)\n");
  CAF_CHECK_EQUAL(res.structured["exit_code"], 0);
  CAF_CHECK_EQUAL(res.structured["stdout"], "hello world\n");
  CAF_CHECK_EQUAL(res.structured["timed_out"], false);
  auto missing = run(mod, "ls", {"no-such-file"});
  CAF_CHECK(missing.is_error);
  CAF_CHECK(starts_with(missing.text, "exit code: 2\n"));
  CAF_CHECK(contains(missing.text, "No such file or directory"));
  auto fails = run(mod, "false");
  CAF_CHECK(fails.is_error);
  CAF_CHECK(starts_with(fails.text, "exit code: 1\n"));
}

CAF_TEST(arguments reach the command as they are without a shell) {
  auto mod = start_terminal();
  auto res = run(mod, "echo", {"$HOME", "*", ";", "ls", "|", "$(id)"});
  CAF_CHECK_EQUAL(res.structured["stdout"], "$HOME * ; ls | $(id)\n");
  auto env = run(mod, "env");
  CAF_CHECK_EQUAL(env.structured["stdout"],
                  "PATH=/usr/bin:/bin\nLANG=C.UTF-8\nHOME=/nonexistent\n");
}

CAF_TEST(a command that is not allowed is refused) {
  auto mod = start_terminal();
  CAF_CHECK_EQUAL(refused(mod, {{"command", "rm"}}),
                  "command: 'rm' is not allowed; allowed: echo, env, false, "
                  "ghost, ls, pwd, sleep, yes");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "/bin/rm"}}),
                  "command: '/bin/rm' is not allowed; allowed: echo, env, "
                  "false, ghost, ls, pwd, sleep, yes");
  CAF_CHECK_EQUAL(refused(mod, {{"args", json::array()}}),
                  "command: is required");
}

CAF_TEST(cwd runs the command in a directory inside the working directory) {
  auto mod = start_terminal();
  auto here = run(mod, "pwd");
  CAF_CHECK_EQUAL(here.structured["stdout"], work + "\n");
  auto sub = run(mod, "pwd", {}, {{"cwd", "sub"}});
  CAF_CHECK_EQUAL(sub.structured["stdout"], work + "/sub\n");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "pwd"}, {"cwd", ".."}}),
                  "cwd: '..' contains '..'");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "pwd"}, {"cwd", "/tmp"}}),
                  "cwd: '/tmp' is absolute; give a path relative to the "
                  "working directory");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "pwd"}, {"cwd", "out"}}),
                  "cwd: 'out' leaves the working directory through a symlink");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "pwd"}, {"cwd", "nowhere"}}),
                  "cwd: 'nowhere' does not exist");
}

CAF_TEST(bad arguments are refused naming them) {
  auto mod = start_terminal();
  json many = json::array();
  for (int i = 0; i < 65; ++i)
    many.push_back("x");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "echo"}, {"args", many}}),
                  "args: must have at most 64 items");
  CAF_CHECK_EQUAL(
    refused(mod, {{"command", "echo"}, {"args", {std::string(4097, 'x')}}}),
    "args[0]: must be at most 4096 bytes long");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "echo"},
                                {"args", {"a", std::string("b\0c", 3)}}}),
                  "args[1]: must not contain NUL characters");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "echo"}, {"args", "a b"}}),
                  "args: must be an array of strings");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "echo"}, {"args", {1}}}),
                  "args[0]: must be a string");
  CAF_CHECK_EQUAL(refused(mod, {{"command", "echo"}, {"shell", true}}),
                  "shell: unknown argument");
  // 64 arguments of 4096 bytes are fine.
  json full = json::array();
  for (int i = 0; i < 64; ++i)
    full.push_back(std::string(4096, 'y'));
  auto res =
    call_tool(mod, "terminal", "run", {{"command", "echo"}, {"args", full}});
  CAF_CHECK(!res.is_error);
}

CAF_TEST(a command that runs too long is killed) {
  auto mod = start_terminal({{"timeout_ms", 200}});
  auto res = run(mod, "sleep", {"5"});
  CAF_CHECK(res.is_error);
  CAF_CHECK(starts_with(res.text, "timed out after 200 ms; the command was "
                                  "killed\n"));
  CAF_CHECK_EQUAL(res.structured["timed_out"], true);
  CAF_CHECK(res.structured["exit_code"].is_null());
  CAF_CHECK_LESS(res.structured["elapsed_ms"].get<int>(), 2000);
}

CAF_TEST(output beyond the cap is cut and the command killed) {
  auto mod = start_terminal({{"max_output_bytes", 1024}});
  auto res = run(mod, "yes");
  CAF_CHECK(!res.is_error);
  CAF_CHECK(starts_with(res.text, "output truncated at 1024 bytes; the "
                                  "command was killed\n"));
  CAF_CHECK_EQUAL(res.structured["truncated"], true);
  CAF_CHECK_EQUAL(res.structured["stdout"].get<std::string>().size(), 1024u);
}

CAF_TEST(a program that is missing is reported) {
  auto mod = start_terminal();
  auto res = run(mod, "ghost");
  CAF_CHECK(res.is_error);
  CAF_CHECK_EQUAL(res.text, "ghost did not run: cannot run "
                            "/nonexistent/ghost: No such file or directory");
}

CAF_TEST(settings are checked naming the key) {
  term::terminal_settings s;
  auto check = [&](const std::string& text) {
    term::terminal_settings tmp;
    return term::parse_settings(text, tmp);
  };
  CAF_CHECK_EQUAL(check(R"({"enabled":true,"working_directory":"/tmp"})"),
                  "commands: name at least one command when enabled");
  CAF_CHECK_EQUAL(check(R"({"enabled":true,"commands":{"ls":"/bin/ls"}})"),
                  "working_directory: required when enabled");
  CAF_CHECK_EQUAL(check(R"({"commands":{"ls":"ls"}})"),
                  "commands.ls: expected an absolute program path");
  CAF_CHECK_EQUAL(check(R"({"commands":{"a b":"/bin/ls"}})"),
                  "commands.a b: names are 1 to 64 of a-z, 0-9, _, . and -");
  CAF_CHECK_EQUAL(check(R"({"working_directory":"rel"})"),
                  "working_directory: expected an absolute path");
  CAF_CHECK_EQUAL(check(R"({"enabled":"yes"})"),
                  "enabled: expected true or false");
  CAF_CHECK_EQUAL(check(R"({"shell":"/bin/sh"})"), "shell: unknown key");
  CAF_CHECK_EQUAL(check(R"({"max_concurrent":0})").rfind("max_concurrent:", 0),
                  0u);
  // Off by default, and checked even while off.
  CAF_CHECK_EQUAL(term::parse_settings("{}", s), "");
  CAF_CHECK(!s.enabled);
  CAF_CHECK_EQUAL(s.timeout_ms, 10000u);
  CAF_CHECK_EQUAL(s.max_output_bytes, 262144u);
  CAF_CHECK_EQUAL(s.max_concurrent, 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
