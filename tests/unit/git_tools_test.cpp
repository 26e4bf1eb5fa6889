#define CAF_SUITE git_tools
#include "tests/kit/mcp_module_fixture.hpp"

#include <chrono>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "modules/git_tools/git_tools_module.hpp"

using namespace sb;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

namespace gt = modules::git_tools;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void write_file(const std::string& path, const std::string& text,
                bool executable = false) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  if (executable)
    ::chmod(path.c_str(), 0755);
}

/// A temporary directory holding a repository `repo` and, beside it, what a
/// path must not reach:
///
/// - commit "first": README.md (hello, world) and src/a.txt (alpha)
/// - commit "second": README.md gains "more"
/// - branch `topic` at "second"; `main` checked out
/// - symlinks, committed: `outside` (to ../secret.txt), `outside_dir` (to
///   ../secret_dir), `inside` (to src)
/// - in the working tree: src/a.txt changed, staged.txt added to the index
struct fixture : test::mcp_module_fixture {
  test::temp_dir dir;
  std::string repo = dir / "repo";

  fixture() {
    ::mkdir(repo.c_str(), 0755);
    write_file(dir / "secret.txt", "top secret\n");
    ::mkdir((dir / "secret_dir").c_str(), 0755);
    write_file(dir / "secret_dir/file", "also secret\n");
    git({"init", "-q", "-b", "main"});
    ::mkdir((repo + "/src").c_str(), 0755);
    write_file(repo + "/README.md", "hello\nworld\n");
    write_file(repo + "/src/a.txt", "alpha\n");
    git({"add", "README.md", "src/a.txt"});
    git({"commit", "-q", "-m", "first"});
    write_file(repo + "/README.md", "hello\nworld\nmore\n");
    ::symlink("../secret.txt", (repo + "/outside").c_str());
    ::symlink("../secret_dir", (repo + "/outside_dir").c_str());
    ::symlink("src", (repo + "/inside").c_str());
    git({"add", "README.md", "outside", "outside_dir", "inside"});
    git({"commit", "-q", "-m", "second"});
    git({"branch", "topic"});
    write_file(repo + "/src/a.txt", "alpha\nchanged\n");
    write_file(repo + "/staged.txt", "staged\n");
    git({"add", "staged.txt"});
  }

  /// Runs git in `repo` for setup, without any config but ours.
  std::string git(std::vector<std::string> args,
                  const std::string& where = {}) {
    std::vector<std::string> argv = {
      "/usr/bin/git",   "-C", where.empty() ? repo : where, "-c",
      "user.name=Test", "-c", "user.email=test@example.org"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::must_run(
             argv, {},
             {{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_CONFIG_GLOBAL", "/dev/null"}})
      .out;
  }

  std::string settings(const std::string& extra = {}) {
    json repos = json::array({{{"name", "demo"}, {"path", repo}}});
    auto text = json{{"repositories", repos}}.dump();
    if (!extra.empty())
      text.insert(text.size() - 1, "," + extra);
    return text;
  }

  caf::actor start_git(const std::string& extra = {}) {
    return start(gt::make_factory(), settings(extra));
  }

  test::tool_outcome call(const caf::actor& mod, const std::string& tool,
                          json args, uint32_t timeout_ms = 0) {
    if (!args.contains("repository"))
      args["repository"] = "demo";
    return call_tool(mod, "git-tools", tool, args, timeout_ms);
  }

  /// The message of a refused call; fails the test unless it was refused
  /// as a tool error.
  std::string refused(const caf::actor& mod, const std::string& tool,
                      json args) {
    auto res = call(mod, tool, std::move(args));
    CAF_CHECK_EQUAL(res.rpc_error, 0);
    CAF_CHECK(res.is_error);
    return res.text;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(git_tools_tests, fixture)

CAF_TEST(the module registers six read only tools with strict schemas) {
  start_git();
  auto xs = registered();
  CAF_CHECK_EQUAL(xs.size(), 6u);
  for (auto name : {"git_status", "git_log", "git_diff", "git_show",
                    "git_branches", "git_blame"}) {
    auto def = definition("git-tools", name);
    CAF_REQUIRE(!def.is_null());
    auto& schema = def["inputSchema"];
    CAF_CHECK_EQUAL(schema["type"], "object");
    CAF_CHECK_EQUAL(schema["additionalProperties"], false);
    CAF_CHECK_EQUAL(schema["required"][0], "repository");
    CAF_CHECK_EQUAL(schema["properties"]["repository"]["enum"],
                    json::array({"demo"}));
    CAF_CHECK_EQUAL(def["annotations"]["readOnlyHint"], true);
  }
  for (auto& x : xs) {
    CAF_CHECK_EQUAL(x.protocol, "mcp");
    CAF_CHECK_EQUAL(x.method, "TOOL");
    CAF_CHECK_EQUAL(x.module, "git-tools");
  }
  auto log = definition("git-tools", "git_log");
  auto& count = log["inputSchema"]["properties"]["max_count"];
  CAF_CHECK_EQUAL(count["minimum"], 1);
  CAF_CHECK_EQUAL(count["maximum"], 1000);
  auto show = definition("git-tools", "git_show");
  CAF_CHECK_EQUAL(show["inputSchema"]["required"],
                  json::array({"repository", "rev"}));
}

CAF_TEST(git_status shows the branch and the changes) {
  auto mod = start_git();
  auto res = call(mod, "git_status", json::object());
  CAF_CHECK(!res.is_error);
  CAF_CHECK(contains(res.text, "## main"));
  CAF_CHECK(contains(res.text, " M src/a.txt"));
  CAF_CHECK(contains(res.text, "A  staged.txt"));
  auto only = call(mod, "git_status", {{"path", "src"}});
  CAF_CHECK(contains(only.text, " M src/a.txt"));
  CAF_CHECK(!contains(only.text, "staged.txt"));
}

CAF_TEST(git_log lists commits newest first within max_count and path) {
  auto mod = start_git();
  auto all = call(mod, "git_log", json::object());
  CAF_CHECK(!all.is_error);
  CAF_CHECK_LESS(all.text.find("second"), all.text.find("first"));
  auto one = call(mod, "git_log", {{"max_count", 1}});
  CAF_CHECK(contains(one.text, "second"));
  CAF_CHECK(!contains(one.text, "first"));
  auto path = call(mod, "git_log", {{"path", "src/a.txt"}});
  CAF_CHECK(contains(path.text, "first"));
  CAF_CHECK(!contains(path.text, "second"));
  auto from = call(mod, "git_log", {{"rev", "HEAD~1"}});
  CAF_CHECK(contains(from.text, "first"));
  CAF_CHECK(!contains(from.text, "second"));
  auto none = call(mod, "git_log", {{"rev", "topic..main"}});
  CAF_CHECK(!none.is_error);
  CAF_CHECK_EQUAL(none.text, "No commits match.");
}

CAF_TEST(git_diff shows the working tree the index and revisions) {
  auto mod = start_git();
  auto work = call(mod, "git_diff", json::object());
  CAF_CHECK(!work.is_error);
  CAF_CHECK(contains(work.text, "+changed"));
  CAF_CHECK(!contains(work.text, "staged.txt"));
  auto staged = call(mod, "git_diff", {{"staged", true}});
  CAF_CHECK(contains(staged.text, "+staged"));
  CAF_CHECK(!contains(staged.text, "+changed"));
  auto revs = call(mod, "git_diff", {{"from", "HEAD~1"}, {"to", "HEAD"}});
  CAF_CHECK(contains(revs.text, "+more"));
  auto context = call(mod, "git_diff",
                      {{"from", "HEAD~1"},
                       {"to", "HEAD"},
                       {"path", "README.md"},
                       {"context_lines", 0}});
  CAF_CHECK(contains(context.text, "@@ -2,0 +3 @@"));
  auto clean = call(mod, "git_diff", {{"path", "README.md"}});
  CAF_CHECK(!clean.is_error);
  CAF_CHECK_EQUAL(clean.text, "No differences.");
  CAF_CHECK_EQUAL(refused(mod, "git_diff", {{"to", "HEAD"}}),
                  "to: needs from as well");
  CAF_CHECK(
    contains(refused(mod, "git_diff",
                     {{"from", "HEAD~1"}, {"to", "HEAD"}, {"staged", true}}),
             "staged:"));
}

CAF_TEST(git_show shows a commit or a file as it was) {
  auto mod = start_git();
  auto commit = call(mod, "git_show", {{"rev", "HEAD"}});
  CAF_CHECK(!commit.is_error);
  CAF_CHECK(contains(commit.text, "second"));
  CAF_CHECK(contains(commit.text, "+more"));
  auto limited = call(mod, "git_show", {{"rev", "HEAD~1"}, {"path", "src"}});
  CAF_CHECK(contains(limited.text, "+alpha"));
  CAF_CHECK(!contains(limited.text, "+hello"));
  auto file =
    call(mod, "git_show",
         {{"rev", "HEAD~1"}, {"path", "README.md"}, {"content", true}});
  CAF_CHECK(!file.is_error);
  CAF_CHECK_EQUAL(file.text, "hello\nworld\n");
  CAF_CHECK_EQUAL(
    refused(mod, "git_show", {{"rev", "HEAD"}, {"content", true}}),
    "path: is required with content");
  CAF_CHECK_EQUAL(refused(mod, "git_show", json::object()), "rev: is required");
}

CAF_TEST(git_branches lists the branches and marks the current one) {
  auto mod = start_git();
  auto res = call(mod, "git_branches", json::object());
  CAF_CHECK(!res.is_error);
  CAF_CHECK(contains(res.text, "* main"));
  CAF_CHECK(contains(res.text, "  topic"));
}

CAF_TEST(git_blame names the commit of each line in a range) {
  auto mod = start_git();
  auto res = call(mod, "git_blame",
                  {{"path", "README.md"}, {"start_line", 3}, {"end_line", 3}});
  CAF_CHECK(!res.is_error);
  CAF_CHECK(contains(res.text, "more"));
  CAF_CHECK(!contains(res.text, "hello"));
  auto old = call(mod, "git_blame", {{"path", "README.md"}, {"rev", "HEAD~1"}});
  CAF_CHECK(contains(old.text, "world"));
  CAF_CHECK(!contains(old.text, "more"));
  // Through a symlink that stays inside the repository.
  auto via = call(mod, "git_blame", {{"path", "src/a.txt"}});
  CAF_CHECK(!via.is_error);
  CAF_CHECK_EQUAL(
    refused(mod, "git_blame",
            {{"path", "README.md"}, {"start_line", 3}, {"end_line", 2}}),
    "end_line: must not be less than start_line");
}

CAF_TEST(a path outside the repository is refused) {
  auto mod = start_git();
  CAF_CHECK_EQUAL(refused(mod, "git_blame", {{"path", "../secret.txt"}}),
                  "path: '../secret.txt' contains '..'");
  CAF_CHECK_EQUAL(refused(mod, "git_log", {{"path", "src/../../secret.txt"}}),
                  "path: 'src/../../secret.txt' contains '..'");
  CAF_CHECK_EQUAL(refused(mod, "git_blame", {{"path", "/etc/passwd"}}),
                  "path: '/etc/passwd' is absolute; give a path relative to "
                  "the repository");
  CAF_CHECK_EQUAL(refused(mod, "git_blame", {{"path", "outside"}}),
                  "path: 'outside' leaves the repository through a symlink");
  CAF_CHECK_EQUAL(refused(mod, "git_diff", {{"path", "outside_dir/file"}}),
                  "path: 'outside_dir/file' leaves the repository through a "
                  "symlink");
  CAF_CHECK_EQUAL(
    refused(mod, "git_show",
            {{"rev", "HEAD"}, {"path", ".git/config"}, {"content", true}}),
    "path: '.git/config' is inside .git; only the working tree "
    "is open");
  ::symlink(".git", (repo + "/meta").c_str());
  CAF_CHECK_EQUAL(refused(mod, "git_blame", {{"path", "meta/config"}}),
                  "path: 'meta/config' is inside .git; only the working tree "
                  "is open");
  // Not even a peek at the secret in any answer.
  for (auto tool : {"git_status", "git_log", "git_diff", "git_blame"}) {
    auto res = call(mod, tool, {{"path", "outside"}});
    CAF_CHECK(res.is_error);
    CAF_CHECK(!contains(res.text, "top secret"));
  }
  // A symlink that stays inside is fine, and so is a path that is gone.
  CAF_CHECK(!call(mod, "git_log", {{"path", "inside/a.txt"}}).is_error);
  CAF_CHECK(!call(mod, "git_log", {{"path", "deleted/long/ago"}}).is_error);
}

CAF_TEST(arguments that look like options are refused) {
  auto mod = start_git();
  auto marker = dir / "written-by-git";
  CAF_CHECK_EQUAL(refused(mod, "git_log", {{"rev", "--output=" + marker}}),
                  "rev: '--output=" + marker +
                    "' begins with '-'; options are not accepted");
  CAF_CHECK_EQUAL(refused(mod, "git_diff", {{"from", "-p"}}),
                  "from: '-p' begins with '-'; options are not accepted");
  CAF_CHECK_EQUAL(refused(mod, "git_blame", {{"path", "--help"}}),
                  "path: '--help' begins with '-'");
  CAF_CHECK(contains(refused(mod, "git_show", {{"rev", "HEAD;ls"}}),
                     "rev: 'HEAD;ls' is not a revision"));
  CAF_CHECK(contains(refused(mod, "git_show", {{"rev", "HEAD:secret"}}),
                     "is not a revision"));
  CAF_CHECK(
    contains(refused(mod, "git_show", {{"rev", "a b"}}), "is not a revision"));
  CAF_CHECK(!exists(marker));
  CAF_CHECK(gt::valid_rev("HEAD~2^{tree}"));
  CAF_CHECK(gt::valid_rev("main@{1}"));
  CAF_CHECK(gt::valid_rev("feature/x-y_z.1"));
  CAF_CHECK(!gt::valid_rev("-x"));
  CAF_CHECK(!gt::valid_rev(""));
  CAF_CHECK(!gt::valid_rev(std::string(257, 'a')));
}

CAF_TEST(an unknown repository is refused naming the configured ones) {
  auto mod = start_git();
  CAF_CHECK_EQUAL(refused(mod, "git_status", {{"repository", "other"}}),
                  "repository: unknown repository 'other'; configured: demo");
  CAF_CHECK_EQUAL(refused(mod, "git_status", {{"repository", 7}}),
                  "repository: must be a string");
}

CAF_TEST(unknown arguments and values out of range are refused) {
  auto mod = start_git();
  CAF_CHECK_EQUAL(refused(mod, "git_status", {{"colour", 1}}),
                  "colour: unknown argument");
  CAF_CHECK_EQUAL(refused(mod, "git_log", {{"max_count", 0}}),
                  "max_count: must be a whole number from 1 to 1000");
  CAF_CHECK_EQUAL(refused(mod, "git_log", {{"max_count", "5"}}),
                  "max_count: must be a whole number from 1 to 1000");
  CAF_CHECK_EQUAL(refused(mod, "git_log", {{"max_count", 2.5}}),
                  "max_count: must be a whole number from 1 to 1000");
  CAF_CHECK(!call(mod, "git_log", {{"max_count", 2.0}}).is_error);
  CAF_CHECK_EQUAL(refused(mod, "git_diff", {{"staged", "yes"}}),
                  "staged: must be true or false");
}

CAF_TEST(calls the module does not serve get json rpc or tool errors) {
  auto mod = start_git();
  auto other = tool_call("git-tools", "git_status", {{"repository", "demo"}});
  other.method = "resources/read";
  other.kind = "RESOURCE";
  auto res = parse(send_call(mod, other));
  CAF_CHECK_EQUAL(res.rpc_error, -32601);
  auto push = tool_call("git-tools", "git_push", {{"repository", "demo"}});
  auto unknown = parse(send_call(mod, push));
  CAF_CHECK(unknown.is_error);
  CAF_CHECK_EQUAL(unknown.text, "unknown tool 'git_push'");
}

CAF_TEST(a git failure is a tool error with what git said) {
  auto mod = start_git();
  auto res = call(mod, "git_log", {{"rev", "no-such-branch"}});
  CAF_CHECK_EQUAL(res.rpc_error, 0);
  CAF_CHECK(res.is_error);
  CAF_CHECK(contains(res.text, "git log failed with exit status 128: "));
  CAF_CHECK(contains(res.text, "no-such-branch"));
}

CAF_TEST(the repository config cannot make git run programs) {
  // Programs that a repository's config names, each leaving a marker.
  auto script = [&](const std::string& name) {
    auto path = dir / (name + ".sh");
    write_file(path, "#!/bin/sh\ntouch " + dir / (name + ".ran") + "\n", true);
    return path;
  };
  git({"config", "core.fsmonitor", script("fsmonitor")});
  git({"config", "diff.external", script("external")});
  git({"config", "diff.conv.textconv", script("textconv")});
  git({"config", "core.pager", script("pager")});
  write_file(repo + "/.git/info/attributes", "*.txt diff=conv\n");
  // Plain git runs the fsmonitor: the test can see it.
  modules::process_spec plain;
  plain.argv = {"/usr/bin/git", "-C", repo, "status"};
  plain.env = {{"GIT_CONFIG_NOSYSTEM", "1"}};
  modules::run_process(plain);
  CAF_REQUIRE(exists(dir / "fsmonitor.ran"));
  ::unlink((dir / "fsmonitor.ran").c_str());
  // Through the tools, nothing runs.
  auto mod = start_git();
  CAF_CHECK(!call(mod, "git_status", json::object()).is_error);
  CAF_CHECK(!call(mod, "git_diff", json::object()).is_error);
  CAF_CHECK(!call(mod, "git_show", {{"rev", "HEAD~1"}}).is_error);
  CAF_CHECK(!call(mod, "git_log", {{"max_count", 2}}).is_error);
  CAF_CHECK(!call(mod, "git_blame", {{"path", "src/a.txt"}}).is_error);
  for (auto name : {"fsmonitor", "external", "textconv", "pager"})
    CAF_CHECK(!exists(dir / (std::string{name} + ".ran")));
}

CAF_TEST(status takes no lock and writes nothing into the repository) {
  auto mod = start_git();
  // Make the index look stale, which tempts status to refresh it.
  git({"status"});
  auto index = repo + "/.git/index";
  struct stat before;
  ::stat(index.c_str(), &before);
  write_file(repo + "/README.md", "hello\nworld\nmore\n");
  CAF_CHECK(!call(mod, "git_status", json::object()).is_error);
  struct stat after;
  ::stat(index.c_str(), &after);
  CAF_CHECK_EQUAL(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  CAF_CHECK_EQUAL(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

CAF_TEST(git that takes too long is stopped) {
  // Reading its config blocks git forever on a FIFO without a writer.
  auto fifo = dir / "fifo";
  test::must_run({"/usr/bin/mkfifo", fifo});
  std::ofstream{repo + "/.git/config", std::ios::app}
    << "[include]\n\tpath = " << fifo << "\n";
  auto mod = start_git(R"("timeout_ms":200)");
  auto started = std::chrono::steady_clock::now();
  auto res = call(mod, "git_status", json::object());
  CAF_CHECK(res.is_error);
  CAF_CHECK_EQUAL(res.text, "git status took longer than 200 ms and was "
                            "stopped");
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - started, 3s);
  // A call that must be answered sooner shortens the limit.
  auto mod2 = start_git(R"("timeout_ms":5000)");
  auto quick = call(mod2, "git_status", json::object(), 300);
  CAF_CHECK_EQUAL(quick.text, "git status took longer than 270 ms and was "
                              "stopped");
}

CAF_TEST(calls beyond the limit wait and calls beyond the queue are refused) {
  auto fifo = dir / "fifo";
  test::must_run({"/usr/bin/mkfifo", fifo});
  std::ofstream{repo + "/.git/config", std::ios::app}
    << "[include]\n\tpath = " << fifo << "\n";
  // One runs, eight wait, the tenth is refused. The eight wait out their
  // own time limit behind the first and never run.
  auto mod = start_git(R"("timeout_ms":100,"max_concurrent":1)");
  using handle = decltype(self->request(mod, 30s, mcp_request{}));
  std::vector<handle> handles;
  for (int i = 0; i < 10; ++i)
    handles.push_back(self->request(
      mod, 30s,
      tool_call("git-tools", "git_status", {{"repository", "demo"}})));
  int stopped = 0;
  int waited = 0;
  int busy = 0;
  for (auto& h : handles)
    h.receive(
      [&](mcp_result& res) {
        auto out = parse(res);
        if (contains(out.text, "took longer than"))
          ++stopped;
        else if (contains(out.text, "for a free slot"))
          ++waited;
        else if (contains(out.text, "too busy"))
          ++busy;
        else
          CAF_MESSAGE("unexpected answer: " << out.text);
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK_EQUAL(stopped, 1);
  CAF_CHECK_EQUAL(waited, 8);
  CAF_CHECK_EQUAL(busy, 1);
}

CAF_TEST(output beyond the cap is cut with a note) {
  write_file(repo + "/big.txt", std::string(5000, 'x') + "\n");
  git({"add", "big.txt"});
  git({"commit", "-q", "-m", "big"});
  auto mod = start_git(R"("max_output_bytes":1024)");
  auto res = call(mod, "git_show",
                  {{"rev", "HEAD"}, {"path", "big.txt"}, {"content", true}});
  CAF_CHECK(!res.is_error);
  CAF_CHECK_EQUAL(res.text.substr(0, 1024), std::string(1024, 'x'));
  CAF_CHECK(contains(res.text, "[output truncated: git wrote more than 1024 "
                               "bytes and was stopped]"));
}

CAF_TEST(settings are checked naming the key) {
  gt::git_tools_settings s;
  auto check = [&](const std::string& text) {
    return gt::parse_settings(text, s);
  };
  CAF_CHECK_EQUAL(check(R"({"repositories":[{"name":"a","path":"rel"}]})"),
                  "repositories[0].path: expected an absolute path");
  CAF_CHECK_EQUAL(check(R"({"repositories":[{"name":"A","path":"/x"}]})"),
                  "repositories[0].name: expected 1 to 64 of a-z, 0-9, _ and "
                  "-");
  CAF_CHECK_EQUAL(check(R"({"repositories":[{"name":"a","path":"/x"},)"
                        R"({"name":"a","path":"/y"}]})"),
                  "repositories[1].name: 'a' is listed twice");
  CAF_CHECK_EQUAL(check(R"({"repositories":[{"path":"/x"}]})"),
                  "repositories[0].name: required");
  CAF_CHECK_EQUAL(
    check(R"({"repositories":[{"name":"a","path":"/x","url":"u"}]})"),
    "repositories[0].url: unknown key");
  CAF_CHECK_EQUAL(check(R"({"timeout_ms":0})").rfind("timeout_ms:", 0), 0u);
  CAF_CHECK_EQUAL(check(R"({"max_concurrent":65})").rfind("max_concurrent:", 0),
                  0u);
  CAF_CHECK_EQUAL(check(R"({"colour":1})"), "colour: unknown key");
  CAF_CHECK_EQUAL(check("[]"), "<section>: expected an object");
  CAF_CHECK_EQUAL(check(R"({"repositories":[{"name":"my-repo_2","path":"/x"}],)"
                        R"("timeout_ms":500,"max_output_bytes":2048,)"
                        R"("max_concurrent":2})"),
                  "");
  CAF_CHECK_EQUAL(s.repositories.size(), 1u);
  CAF_CHECK_EQUAL(s.timeout_ms, 500u);
  CAF_CHECK_EQUAL(s.max_output_bytes, 2048u);
  CAF_CHECK_EQUAL(s.max_concurrent, 2u);
}

CAF_TEST(without repositories the module registers no tools) {
  start(gt::make_factory(), "{}");
  CAF_CHECK(registered().empty());
}

CAF_TEST(a repository that is gone is reported as such) {
  auto text =
    json{{"repositories",
          json::array({{{"name", "gone"}, {"path", dir / "nothing-here"}}})}}
      .dump();
  auto mod = start(gt::make_factory(), text);
  auto res = call(mod, "git_status", {{"repository", "gone"}});
  CAF_CHECK(res.is_error);
  CAF_CHECK_EQUAL(res.text, "repository 'gone': " + dir / "nothing-here" +
                              " does not exist");
}

CAF_TEST_FIXTURE_SCOPE_END()
