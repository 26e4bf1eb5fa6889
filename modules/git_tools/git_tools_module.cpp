#include "modules/git_tools/git_tools_module.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>

#include <sys/stat.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/log.hpp"
#include "actors/mcp_messages.hpp"
#include "actors/module.hpp"
#include "actors/settings_reader.hpp"
#include "modules/common/auth_setting.hpp"
#include "modules/common/confined_path.hpp"
#include "modules/common/mcp_kit.hpp"
#include "modules/common/process.hpp"
#include "modules/common/tool_args.hpp"

namespace sb::modules::git_tools {

namespace {

using json = mcp::json;

constexpr const char* component = "git-tools";
constexpr const char* git_binary = "/usr/bin/git";
constexpr size_t max_repositories = 64;
constexpr size_t max_name_bytes = 64;
constexpr size_t max_path_bytes = 4096;
constexpr size_t max_rev_bytes = 256;
constexpr const char* rev_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz"
                                  "0123456789_./~^@{}-";

// -- settings -----------------------------------------------------------------

bool valid_name(const std::string& str) {
  return !str.empty() && str.size() <= max_name_bytes &&
         std::all_of(str.begin(), str.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

std::string read_repositories(const nlohmann::json& x,
                              std::vector<repository>& out) {
  if (!x.is_array())
    return "repositories: expected an array of {\"name\", \"path\"} objects";
  if (x.size() > max_repositories)
    return "repositories: at most " + std::to_string(max_repositories) +
           " repositories";
  out.clear();
  for (size_t i = 0; i < x.size(); ++i) {
    auto key = "repositories[" + std::to_string(i) + "]";
    auto& item = x[i];
    if (!item.is_object())
      return key + ": expected an object with name and path";
    repository repo;
    for (auto& [name, val] : item.items()) {
      if (name == "name") {
        if (!val.is_string() || !valid_name(val.get<std::string>()))
          return key + ".name: expected 1 to 64 of a-z, 0-9, _ and -";
        repo.name = val.get<std::string>();
      } else if (name == "path") {
        if (!val.is_string())
          return key + ".path: expected an absolute path";
        repo.path = val.get<std::string>();
        if (repo.path.empty() || repo.path[0] != '/' ||
            repo.path.size() > max_path_bytes ||
            repo.path.find('\0') != std::string::npos)
          return key + ".path: expected an absolute path";
      } else {
        return key + "." + name + ": unknown key";
      }
    }
    if (repo.name.empty())
      return key + ".name: required";
    if (repo.path.empty())
      return key + ".path: required";
    for (auto& other : out)
      if (other.name == repo.name)
        return key + ".name: '" + repo.name + "' is listed twice";
    out.push_back(std::move(repo));
  }
  return {};
}

// -- tool definitions ---------------------------------------------------------

json string_schema(size_t max_len, const char* description) {
  return {{"type", "string"},
          {"minLength", 1},
          {"maxLength", max_len},
          {"description", description}};
}

json rev_schema(const char* description) {
  auto x = string_schema(max_rev_bytes, description);
  x["pattern"] = "^[A-Za-z0-9_./~^@{}][A-Za-z0-9_./~^@{}-]*$";
  return x;
}

json path_schema(const char* description) {
  return string_schema(max_path_bytes, description);
}

json tool(const char* name, const char* title, const char* description,
          const git_tools_settings& cfg, json properties,
          json required = json::array()) {
  auto names = json::array();
  for (auto& repo : cfg.repositories)
    names.push_back(repo.name);
  json props = {{"repository",
                 {{"type", "string"},
                  {"enum", std::move(names)},
                  {"description", "Name of a configured repository"}}}};
  for (auto& [key, val] : properties.items())
    props[key] = val;
  required.insert(required.begin(), "repository");
  return {{"name", name},
          {"title", title},
          {"description", description},
          {"inputSchema",
           {{"type", "object"},
            {"properties", std::move(props)},
            {"required", std::move(required)},
            {"additionalProperties", false}}},
          {"annotations",
           {{"readOnlyHint", true},
            {"destructiveHint", false},
            {"idempotentHint", true},
            {"openWorldHint", false}}}};
}

std::vector<json> definitions(const git_tools_settings& cfg) {
  auto lines = [](const char* description) {
    return json{{"type", "integer"},
                {"minimum", 1},
                {"maximum", 10000000},
                {"description", description}};
  };
  return {
    tool("git_status", "Git status",
         "Short status of the working tree: the branch, then one line per "
         "changed or untracked file.",
         cfg,
         {{"path", path_schema("Limit to this path, relative to the "
                               "repository root")}}),
    tool("git_log", "Git log",
         "Commits, newest first, with author, ISO date and message.", cfg,
         {{"max_count",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", 1000},
            {"default", 20},
            {"description", "Commits to show at most"}}},
          {"rev", rev_schema("Start here instead of HEAD; a range such as "
                             "main..topic works too")},
          {"path", path_schema("Only commits that touch this path, relative "
                               "to the repository root")}}),
    tool("git_diff", "Git diff",
         "A unified diff: the working tree against the index by default, "
         "the index against HEAD (or from) with staged, or from against the "
         "working tree or to.",
         cfg,
         {{"from", rev_schema("Revision to compare from")},
          {"to", rev_schema("Revision to compare to; needs from")},
          {"staged",
           {{"type", "boolean"},
            {"default", false},
            {"description", "Compare the index instead of the working tree"}}},
          {"path", path_schema("Limit to this path, relative to the "
                               "repository root")},
          {"context_lines",
           {{"type", "integer"},
            {"minimum", 0},
            {"maximum", 1000},
            {"description", "Lines of context around each change"}}}}),
    tool("git_show", "Git show",
         "A commit (message and diff) or another object; with content and "
         "path, the file's content at the revision.",
         cfg,
         {{"rev", rev_schema("Revision to show, e.g. HEAD~1 or a hash")},
          {"path", path_schema("Limit the diff to this path, or the file to "
                               "print with content")},
          {"content",
           {{"type", "boolean"},
            {"default", false},
            {"description", "Print the file at path as it was in rev"}}}},
         json::array({"rev"})),
    tool("git_branches", "Git branches",
         "Local branches with their last commit; the current one is marked "
         "with *.",
         cfg,
         {{"all",
           {{"type", "boolean"},
            {"default", false},
            {"description", "Include remote-tracking branches"}}}}),
    tool("git_blame", "Git blame",
         "Who last changed each line of a file, and in which commit.", cfg,
         {{"path", path_schema("File to blame, relative to the repository "
                               "root")},
          {"rev", rev_schema("Blame the file as of this revision")},
          {"start_line", lines("First line (default: 1)")},
          {"end_line", lines("Last line (default: the end)")}},
         json::array({"path"})),
  };
}

// -- reading calls ------------------------------------------------------------

/// What to run for a call.
struct git_job {
  std::string repo_root;
  /// The git command and its arguments, after the global options.
  std::vector<std::string> args;
  /// What an empty output means.
  std::string empty_text;
};

const repository* read_repository(const git_tools_settings& cfg,
                                  tool_args& args) {
  auto name = args.string("repository", max_name_bytes, true);
  if (!name)
    return nullptr;
  for (auto& repo : cfg.repositories)
    if (repo.name == *name)
      return &repo;
  std::string known;
  for (auto& repo : cfg.repositories)
    known += (known.empty() ? "" : ", ") + repo.name;
  args.fail("repository: unknown repository '" + *name +
            "'; configured: " + known);
  return nullptr;
}

std::optional<std::string> read_rev(tool_args& args, const char* key,
                                    bool required = false) {
  auto rev = args.string(key, max_rev_bytes, required);
  if (!rev)
    return std::nullopt;
  if (!rev->empty() && (*rev)[0] == '-') {
    args.fail(std::string{key} + ": '" + *rev +
              "' begins with '-'; options are not accepted");
    return std::nullopt;
  }
  if (!valid_rev(*rev)) {
    args.fail(std::string{key} + ": '" + *rev +
              "' is not a revision: use letters, digits and _ . / ~ ^ @ "
              "{ } -");
    return std::nullopt;
  }
  return rev;
}

/// Reads a path relative to the repository (`root`, a real path) that stays
/// inside it and out of `.git`; returns it normalized, without `.` and
/// empty components (`.` for the root).
std::optional<std::string> read_path(tool_args& args, const char* key,
                                     const std::string& root,
                                     bool required = false) {
  auto rel = args.string(key, max_path_bytes, required);
  if (!rel)
    return std::nullopt;
  std::string resolved;
  if (auto problem =
        confine_path(root, *rel, false, resolved, "the repository");
      !problem.empty()) {
    args.fail(std::string{key} + ": " + problem);
    return std::nullopt;
  }
  auto refuse_git_dir = [&] {
    args.fail(std::string{key} + ": '" + *rel +
              "' is inside .git; only the working tree is open");
  };
  // Through a symlink, say.
  if (is_inside(root + "/.git", resolved)) {
    refuse_git_dir();
    return std::nullopt;
  }
  std::string norm;
  for (size_t pos = 0; pos <= rel->size();) {
    auto end = std::min(rel->find('/', pos), rel->size());
    auto part = rel->substr(pos, end - pos);
    auto lower = part;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == ".git") {
      refuse_git_dir();
      return std::nullopt;
    }
    if (!part.empty() && part != ".")
      norm += (norm.empty() ? "" : "/") + part;
    pos = end + 1;
  }
  return norm.empty() ? std::string{"."} : norm;
}

/// Appends `--`, then `path` if any.
void add_paths(std::vector<std::string>& xs,
               const std::optional<std::string>& path) {
  xs.emplace_back("--");
  if (path)
    xs.push_back(*path);
}

std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> buf{
    ::realpath(path.c_str(), nullptr), &std::free};
  return buf ? std::string{buf.get()} : std::string{};
}

// Each tool reads its arguments and fills the git command; a problem stays
// in `args`.

void status_job(tool_args& args, git_job& job) {
  auto path = read_path(args, "path", job.repo_root);
  job.args = {"status", "--short", "--branch"};
  add_paths(job.args, path);
}

void log_job(tool_args& args, git_job& job) {
  auto count = args.integer("max_count", 1, 1000).value_or(20);
  auto rev = read_rev(args, "rev");
  auto path = read_path(args, "path", job.repo_root);
  job.args = {"log",
              "--no-ext-diff",
              "--no-textconv",
              "--date=iso-strict",
              "--max-count=" + std::to_string(count),
              "--end-of-options"};
  if (rev)
    job.args.push_back(*rev);
  add_paths(job.args, path);
  job.empty_text = "No commits match.";
}

void diff_job(tool_args& args, git_job& job) {
  auto from = read_rev(args, "from");
  auto to = read_rev(args, "to");
  auto staged = args.boolean("staged");
  auto path = read_path(args, "path", job.repo_root);
  auto context = args.integer("context_lines", 0, 1000);
  if (to && !from)
    args.fail("to: needs from as well");
  if (to && staged)
    args.fail("staged: compares the index with one revision; leave out to");
  job.args = {"diff", "--no-ext-diff", "--no-textconv"};
  if (staged)
    job.args.emplace_back("--cached");
  if (context)
    job.args.push_back("--unified=" + std::to_string(*context));
  job.args.emplace_back("--end-of-options");
  for (auto& rev : {from, to})
    if (rev)
      job.args.push_back(*rev);
  add_paths(job.args, path);
  job.empty_text = "No differences.";
}

void show_job(tool_args& args, git_job& job) {
  auto rev = read_rev(args, "rev", true);
  auto path = read_path(args, "path", job.repo_root);
  auto content = args.boolean("content");
  if (content && !path)
    args.fail("path: is required with content");
  if (!args.ok())
    return;
  job.args = {"show", "--no-ext-diff", "--no-textconv", "--date=iso-strict",
              "--end-of-options"};
  if (content) {
    // `rev:path` names the file in the revision's tree; `./` anchors the
    // path at the repository root, where git runs.
    job.args.push_back(*rev + ":./" + (*path == "." ? "" : *path));
    job.empty_text = "(empty file)";
  } else {
    job.args.push_back(*rev);
    add_paths(job.args, path);
  }
}

void branches_job(tool_args& args, git_job& job) {
  auto all = args.boolean("all");
  job.args = {"branch", "--list", "--no-column", "-v"};
  if (all)
    job.args.emplace_back("--all");
  job.empty_text = "No branches yet.";
}

void blame_job(tool_args& args, git_job& job) {
  auto path = read_path(args, "path", job.repo_root, true);
  auto rev = read_rev(args, "rev");
  auto start = args.integer("start_line", 1, 10000000);
  auto end = args.integer("end_line", 1, 10000000);
  if (start && end && *end < *start)
    args.fail("end_line: must not be less than start_line");
  job.args = {"blame", "--no-textconv"};
  if (start || end) {
    job.args.emplace_back("-L");
    job.args.push_back(std::to_string(start.value_or(1)) + "," +
                       (end ? std::to_string(*end) : std::string{}));
  }
  // Blame of git 2.39 mishandles `--end-of-options` (a usage error, or a
  // revision named `--`); a revision cannot begin with `-`, so it cannot
  // pass for an option anyway.
  if (rev)
    job.args.push_back(*rev);
  add_paths(job.args, path);
  job.empty_text = "(empty file)";
}

struct tool_entry {
  const char* name;
  std::vector<std::string> arguments;
  void (*fill)(tool_args&, git_job&);
};

const std::vector<tool_entry>& tool_table() {
  static const std::vector<tool_entry> table = {
    {"git_status", {"repository", "path"}, status_job},
    {"git_log", {"repository", "max_count", "rev", "path"}, log_job},
    {"git_diff",
     {"repository", "from", "to", "staged", "path", "context_lines"},
     diff_job},
    {"git_show", {"repository", "rev", "path", "content"}, show_job},
    {"git_branches", {"repository", "all"}, branches_job},
    {"git_blame",
     {"repository", "path", "rev", "start_line", "end_line"},
     blame_job},
  };
  return table;
}

/// Builds the job of `tool`; returns what is wrong with the call instead.
std::string build(const git_tools_settings& cfg, const std::string& tool,
                  const json& arguments, git_job& job) {
  auto& table = tool_table();
  auto entry =
    std::find_if(table.begin(), table.end(),
                 [&](const tool_entry& x) { return tool == x.name; });
  if (entry == table.end())
    return "unknown tool '" + tool + "'";
  tool_args args{arguments, entry->arguments};
  auto repo = read_repository(cfg, args);
  if (repo == nullptr)
    return args.problem();
  job.repo_root = real_path(repo->path);
  if (job.repo_root.empty())
    return "repository '" + repo->name + "': " + repo->path + " does not exist";
  entry->fill(args, job);
  return args.problem();
}

/// The whole command line: global options that neutralize what a
/// repository's config or the environment could make git run or write.
process_spec make_spec(const git_tools_settings& cfg, const git_job& job,
                       uint32_t timeout_ms) {
  // Config given on the command line wins over the repository's own.
  static constexpr const char* overrides[] = {
    "core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat",
    "color.ui=never",       "log.showSignature=false",  "blame.ignoreRevsFile=",
    "protocol.allow=never"};
  process_spec spec;
  spec.argv = {git_binary, "--no-pager", "-C", job.repo_root};
  for (auto x : overrides) {
    spec.argv.emplace_back("-c");
    spec.argv.emplace_back(x);
  }
  spec.argv.insert(spec.argv.end(), job.args.begin(), job.args.end());
  spec.cwd = job.repo_root;
  // No system or global config, no prompts, no optional locks (status
  // would refresh the index), pathspecs taken literally.
  spec.env = {{"GIT_CONFIG_NOSYSTEM", "1"},
              {"GIT_CONFIG_GLOBAL", "/dev/null"},
              {"GIT_ATTR_NOSYSTEM", "1"},
              {"GIT_TERMINAL_PROMPT", "0"},
              {"GIT_OPTIONAL_LOCKS", "0"},
              {"GIT_LITERAL_PATHSPECS", "1"},
              {"GIT_NO_REPLACE_OBJECTS", "1"},
              {"GIT_PAGER", "cat"},
              {"PAGER", "cat"}};
  // Git must not look for a repository above the configured one.
  auto slash = job.repo_root.rfind('/');
  if (slash != std::string::npos && slash > 0)
    spec.env.emplace_back("GIT_CEILING_DIRECTORIES",
                          job.repo_root.substr(0, slash));
  spec.timeout_ms = timeout_ms;
  spec.max_output = cfg.max_output_bytes;
  return spec;
}

std::string trimmed(const std::string& str) {
  auto first = str.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  auto last = str.find_last_not_of(" \t\r\n");
  return str.substr(first, last - first + 1);
}

/// The tool result for what git did.
mcp_result reply(const process_result& res, const git_job& job,
                 uint32_t timeout_ms, uint64_t max_output) {
  const auto& cmd = job.args.front();
  if (!res.error.empty())
    return mcp::text_result("git " + cmd + " did not run: " + res.error, true);
  if (res.timed_out)
    return mcp::text_result("git " + cmd + " took longer than " +
                              std::to_string(timeout_ms) +
                              " ms and was stopped",
                            true);
  if (res.truncated)
    return mcp::text_result(res.out +
                            "\n[output truncated: git wrote more "
                            "than " +
                            std::to_string(max_output) +
                            " bytes and was stopped]");
  if (res.exit_code != 0) {
    auto why = trimmed(res.err);
    if (why.empty())
      why = trimmed(res.out);
    auto status =
      res.signal != 0
        ? "ended by signal " + std::to_string(res.signal)
        : "failed with exit status " + std::to_string(res.exit_code);
    return mcp::text_result(
      "git " + cmd + " " + status + (why.empty() ? "" : ": " + why), true);
  }
  auto text = res.out.empty() ? job.empty_text : res.out;
  if (!trimmed(res.err).empty())
    text += "\n[git also said]\n" + res.err;
  return mcp::text_result(text);
}

// -- the actor ----------------------------------------------------------------

struct git_state {
  static inline const char* name = "sb.git_tools";

  git_tools_settings cfg;
  caf::actor runner;
};

using git_actor_type = caf::stateful_actor<git_state>;

caf::response_promise handle(git_actor_type* self, mcp_request& call) {
  auto rp = self->make_response_promise();
  auto& st = self->state;
  if (call.kind != mcp::tool_kind || call.method != "tools/call") {
    rp.deliver(
      mcp::error(mcp::method_not_found, "git-tools answers tools/call only"));
    return rp;
  }
  auto job = std::make_shared<git_job>();
  if (auto problem = build(st.cfg, call.handler, mcp::arguments(call), *job);
      !problem.empty()) {
    rp.deliver(mcp::text_result(problem, true));
    return rp;
  }
  auto timeout = program_timeout(st.cfg.timeout_ms, call.timeout_ms);
  auto max_output = st.cfg.max_output_bytes;
  self->request(st.runner, caf::infinite, make_spec(st.cfg, *job, timeout))
    .then(
      [rp, job, timeout, max_output](process_result& res) mutable {
        rp.deliver(reply(res, *job, timeout, max_output));
      },
      [self, rp](caf::error& err) mutable {
        rp.deliver(mcp::text_result(
          "git did not run: " + self->system().render(err), true));
      });
  return rp;
}

caf::behavior git_actor(git_actor_type* self, module_context ctx) {
  auto& st = self->state;
  if (auto err = parse_settings(ctx.settings, st.cfg); !err.empty())
    logger(component)->error("bad settings, using what parsed error={}", err);
  st.runner = spawn_runner_of(self, st.cfg.max_concurrent);
  return {
    [self, ctx](start_atom) {
      std::vector<endpoint> xs;
      if (self->state.cfg.repositories.empty())
        logger(component)->warn("no repositories configured, no tools");
      // A repository that is not there now may come later; each call that
      // names it says so, and the log says it at once.
      for (auto& repo : self->state.cfg.repositories) {
        struct stat st {};
        auto git_dir = repo.path + "/.git";
        if (::stat(git_dir.c_str(), &st) != 0)
          logger(component)->warn("repository has no .git here yet name={} "
                                  "path={}",
                                  repo.name, repo.path);
      }
      if (!self->state.cfg.repositories.empty())
        for (auto& def : definitions(self->state.cfg)) {
          auto name = def["name"].get<std::string>();
          xs.push_back(mcp::tool(context, std::move(def), name, ctx.name));
        }
      require_auth(xs, self->state.cfg.auth);
      return register_endpoints(self, ctx, std::move(xs));
    },
    [self](mcp_request& call) {
      try {
        return handle(self, call);
      } catch (const std::exception& ex) {
        logger(component)->error("call failed tool={} error={}", call.handler,
                                 ex.what());
        auto rp = self->make_response_promise();
        rp.deliver(mcp::error(mcp::internal_error,
                              "git-tools failed to handle this call"));
        return rp;
      }
    },
  };
}

} // namespace

bool valid_rev(const std::string& rev) {
  return !rev.empty() && rev.size() <= max_rev_bytes && rev[0] != '-' &&
         rev.find_first_not_of(rev_chars) == std::string::npos;
}

std::string parse_settings(const std::string& text, git_tools_settings& out) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return "<section>: not valid JSON";
  if (!doc.is_object())
    return "<section>: expected an object";
  for (auto& [key, val] : doc.items()) {
    std::string err;
    if (key == "repositories")
      err = read_repositories(val, out.repositories);
    else if (!read_run_limit(key, val, out.timeout_ms, out.max_output_bytes,
                             out.max_concurrent, err) &&
             !read_auth_setting(key, val, out.auth, err))
      err = key + ": unknown key";
    if (!err.empty())
      return err;
  }
  return {};
}

caf::actor spawn(caf::actor_system& sys, const module_context& ctx) {
  return sys.spawn(git_actor, ctx);
}

module_factory make_factory() {
  module_factory result;
  result.name = "git-tools";
  result.summary = "MCP tools for read-only git on configured repositories";
  result.check = [](const std::string& text) {
    git_tools_settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = spawn;
  return result;
}

} // namespace sb::modules::git_tools
