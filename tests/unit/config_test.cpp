#define CAF_SUITE config
#include "caf/test/unit_test.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "actors/auth_messages.hpp"
#include "actors/config.hpp"

using namespace sb;

namespace {

/// A factory table with two modules and the http protocol; only the names
/// and checks matter here.
factory_table table() {
  factory_table t;
  module_factory a;
  a.name = "system";
  module_factory b;
  b.name = "users";
  b.check = [](const std::string& text) -> std::string {
    return text.find("bad") != std::string::npos ? "max_users: bad value" : "";
  };
  t.modules = {a, b};
  protocol_factory http;
  http.name = "http";
  t.protocols = {http};
  return t;
}

command_line parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"switchboard"};
  argv.insert(argv.end(), args);
  return parse_command_line(static_cast<int>(argv.size()), argv.data(),
                            table());
}

/// Writes `text` to a temporary file that lives as long as the object.
struct temp_file {
  std::string path;

  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/sb-config-XXXXXX";
    auto fd = mkstemp(name);
    CAF_REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream{path} << text;
  }

  ~temp_file() { std::remove(path.c_str()); }
};

/// Whether `x` failed with an error that starts with `prefix`.
bool starts(const command_line& x, const std::string& prefix) {
  CAF_CHECK_EQUAL(x.action, command_line::fail);
  auto ok = x.error.rfind(prefix, 0) == 0;
  if (!ok)
    CAF_MESSAGE("error '" << x.error << "' does not start with " << prefix);
  return ok;
}

/// Whether the config file `text` fails with an error that names `key`.
bool names(const std::string& text, const std::string& key) {
  temp_file f{text};
  auto x = parse({"--config", f.path.c_str()});
  CAF_CHECK_EQUAL(x.action, command_line::fail);
  auto ok = x.error.find(key) != std::string::npos;
  if (!ok)
    CAF_MESSAGE("error '" << x.error << "' does not name " << key);
  return ok;
}

} // namespace

CAF_TEST(both option forms work and the command line beats the file) {
  temp_file f{R"({"port": 9000, "bind": "127.0.0.2"})"};
  auto a = parse({"--config", f.path.c_str(), "--port", "9001"});
  CAF_REQUIRE_EQUAL(a.action, command_line::run);
  CAF_CHECK_EQUAL(a.config.port, 9001);
  CAF_CHECK_EQUAL(a.config.bind, "127.0.0.2");
  auto b = parse({("--config=" + f.path).c_str(), "--port=0", "--bind=::1"});
  CAF_REQUIRE_EQUAL(b.action, command_line::run);
  CAF_CHECK_EQUAL(b.config.port, 0);
  CAF_CHECK_EQUAL(b.config.bind, "::1");
  auto c = parse({"--config", f.path.c_str()});
  CAF_CHECK_EQUAL(c.config.port, 9000);
}

CAF_TEST(defaults apply without a config file) {
  auto a = parse({"--config", "/dev/null", "--port", "1"});
  // /dev/null is empty, hence not JSON.
  CAF_CHECK_EQUAL(a.action, command_line::fail);
  node_config defaults;
  CAF_CHECK_EQUAL(defaults.port, 8080);
  CAF_CHECK_EQUAL(defaults.bind, "127.0.0.1");
  CAF_CHECK_EQUAL(defaults.modules,
                  std::vector<std::string>({"system", "users"}));
  CAF_CHECK(defaults.effective_actor_threads() >= 1);
  CAF_CHECK(defaults.effective_io_threads() >= 1);
}

CAF_TEST(help and version are actions of their own) {
  CAF_CHECK_EQUAL(parse({"--help"}).action, command_line::help);
  CAF_CHECK_EQUAL(parse({"--port", "1", "--version"}).action,
                  command_line::version);
  auto text = usage(table());
  CAF_CHECK_NOT_EQUAL(text.find("--config FILE"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(text.find("users"), std::string::npos);
}

CAF_TEST(bad command lines name the option) {
  CAF_CHECK(starts(parse({"--port", "70000"}), "--port"));
  CAF_CHECK(starts(parse({"--port=abc"}), "--port"));
  CAF_CHECK(starts(parse({"--port"}), "--port"));
  CAF_CHECK(starts(parse({"--bind", "localhost"}), "--bind"));
  CAF_CHECK(starts(parse({"--frobnicate", "1"}), "--frobnicate"));
  CAF_CHECK(starts(parse({"--config", "/nonexistent/x.json"}), "--config"));
  CAF_CHECK(starts(parse({"stray"}), "unexpected argument"));
  CAF_CHECK(starts(parse({"--modules", "system,,users"}), "--modules"));
  CAF_CHECK(starts(parse({"--log-level", "loud"}), "--log-level"));
}

CAF_TEST(bad config files name the key) {
  CAF_CHECK(names(R"({"prot": 1})", "prot: unknown key"));
  CAF_CHECK(names(R"({"port": "80"})", "port:"));
  CAF_CHECK(names(R"({"port": 65536})", "port:"));
  CAF_CHECK(names(R"({"port": -1})", "port:"));
  CAF_CHECK(names(R"({"bind": "example.org"})", "bind:"));
  CAF_CHECK(names(R"({"threads": {"actors": 1, "gpu": 2}})", "threads.gpu"));
  CAF_CHECK(names(R"({"threads": {"io": 1000}})", "threads.io"));
  CAF_CHECK(names(R"({"request_timeout_ms": 0})", "request_timeout_ms"));
  CAF_CHECK(names(R"({"log_level": "loud"})", "log_level"));
  CAF_CHECK(names(R"({"modules": "users"})", "modules:"));
  CAF_CHECK(names(R"({"modules": ["users", "nope"]})", "modules: unknown"));
  CAF_CHECK(names(R"({"modules": ["users", "users"]})", "modules:"));
  CAF_CHECK(names(R"({"protocols": ["gopher"]})", "protocols:"));
  CAF_CHECK(names(R"({"protocols": ["http", "http"]})", "listed twice"));
  CAF_CHECK(names(R"({"settings": {"nope": {}}})", "settings.nope"));
  CAF_CHECK(names(R"({"settings": {"users": {"x": "bad"}}})",
                  "settings.users.max_users"));
  CAF_CHECK(names(R"({"settings": {"users": 3}})", "settings.users"));
  CAF_CHECK(names(R"([1, 2])", "top level"));
  CAF_CHECK(names(R"({"port": 1,})", "not valid JSON"));
}

CAF_TEST(an unknown module from the command line blames the option) {
  temp_file f{R"({"modules": ["system"]})"};
  auto x = parse({"--config", f.path.c_str(), "--modules", "nope"});
  CAF_CHECK_EQUAL(x.action, command_line::fail);
  CAF_CHECK_EQUAL(x.error.rfind("--modules: unknown module 'nope'", 0), 0u);
}

CAF_TEST(the modules option replaces the list of the file) {
  temp_file f{R"({"modules": ["system", "users"]})"};
  auto x = parse({"--config", f.path.c_str(), "--modules", "users"});
  CAF_REQUIRE_EQUAL(x.action, command_line::run);
  CAF_CHECK_EQUAL(x.config.modules, std::vector<std::string>({"users"}));
}

CAF_TEST(publish join and name come from both the file and the command line) {
  temp_file f{R"({"publish": {"port": 7000, "bind": "10.0.0.1"},
                  "cluster": {"name": "front", "heartbeat_interval_ms": 100,
                              "connection_timeout_ms": 900}})"};
  auto a = parse({"--config", f.path.c_str()});
  CAF_REQUIRE_EQUAL(a.action, command_line::run);
  auto& c = a.config.cluster;
  CAF_CHECK(c.publish);
  CAF_CHECK_EQUAL(c.publish_port, 7000);
  CAF_CHECK_EQUAL(c.publish_bind, "10.0.0.1");
  CAF_CHECK_EQUAL(c.name, "front");
  CAF_CHECK_EQUAL(c.heartbeat_interval_ms, 100u);
  CAF_CHECK_EQUAL(c.connection_timeout_ms, 900u);
  CAF_CHECK_EQUAL(a.config.effective_name(), "front");
  auto b = parse({"--publish=0", "--name", "edge-1"});
  CAF_REQUIRE_EQUAL(b.action, command_line::run);
  CAF_CHECK(b.config.cluster.publish);
  CAF_CHECK_EQUAL(b.config.cluster.publish_port, 0);
  CAF_CHECK_EQUAL(b.config.cluster.publish_bind, "127.0.0.1");
  CAF_CHECK_EQUAL(b.config.effective_name(), "edge-1");
  temp_file g{R"({"publish": 7001})"};
  auto d = parse({"--config", g.path.c_str()});
  CAF_REQUIRE_EQUAL(d.action, command_line::run);
  CAF_CHECK(d.config.cluster.publish);
  CAF_CHECK_EQUAL(d.config.cluster.publish_port, 7001);
  // Without a name, the host name and process ID tell nodes apart.
  node_config plain;
  CAF_CHECK_NOT_EQUAL(plain.effective_name().find(':'), std::string::npos);
}

CAF_TEST(join takes host and port and a joining node opens no port unasked) {
  auto a = parse({"--join", "10.1.2.3:7000", "--modules", "users"});
  CAF_REQUIRE_EQUAL(a.action, command_line::run);
  CAF_CHECK_EQUAL(a.config.cluster.join_host, "10.1.2.3");
  CAF_CHECK_EQUAL(a.config.cluster.join_port, 7000);
  CAF_CHECK(a.config.protocols.empty());
  auto b = parse({"--join=[::1]:7000", "--port", "9000"});
  CAF_REQUIRE_EQUAL(b.action, command_line::run);
  CAF_CHECK_EQUAL(b.config.cluster.join_host, "::1");
  CAF_CHECK_EQUAL(b.config.protocols, std::vector<std::string>({"http"}));
  temp_file f{R"({"join": "front.example:7000", "port": 8081})"};
  auto c = parse({"--config", f.path.c_str()});
  CAF_REQUIRE_EQUAL(c.action, command_line::run);
  CAF_CHECK_EQUAL(c.config.cluster.join_host, "front.example");
  CAF_CHECK_EQUAL(c.config.port, 8081);
  CAF_CHECK_EQUAL(c.config.protocols, std::vector<std::string>({"http"}));
  for (auto bad : {"7000", ":7000", "host:", "host:0", "host:70000", "::1:7000",
                   "[::1:7000", "a b:7000", "host:7x"})
    CAF_CHECK(starts(parse({"--join", bad}), "--join"));
  CAF_CHECK(starts(parse({"--publish", "-1"}), "--publish"));
  CAF_CHECK(starts(parse({"--publish", "7000", "--join", "127.0.0.1:7000"}),
                   "join: a node either accepts other nodes"));
  CAF_CHECK(starts(parse({"--name", ""}), "--name"));
}

CAF_TEST(bad cluster keys are named) {
  CAF_CHECK(names(R"({"publish": "7000"})", "publish:"));
  CAF_CHECK(names(R"({"publish": {"port": 1, "tls": true}})", "publish.tls"));
  CAF_CHECK(names(R"({"publish": {"bind": "localhost"}})", "publish.bind"));
  CAF_CHECK(names(R"({"join": 7000})", "join:"));
  CAF_CHECK(names(R"({"join": "nohost"})", "join:"));
  CAF_CHECK(names(R"({"cluster": {"gossip": 1}})", "cluster.gossip"));
  CAF_CHECK(names(R"({"cluster": {"heartbeat_interval_ms": 1}})",
                  "cluster.heartbeat_interval_ms"));
  CAF_CHECK(names(R"({"cluster": {"heartbeat_interval_ms": 1000,
                                  "connection_timeout_ms": 1000}})",
                  "cluster.connection_timeout_ms: must be longer"));
  CAF_CHECK(names(R"({"cluster": {"name": ""}})", "cluster.name"));
  CAF_CHECK(names(R"({"cluster": {"tls": {"certificate": "/etc/hostname"}}})",
                  "cluster.tls: needs all of"));
  CAF_CHECK(names(R"({"cluster": {"tls": {"certificate": "/nonexistent/c",
                                          "key": "/nonexistent/k",
                                          "ca": "/nonexistent/ca"}}})",
                  "cluster.tls.certificate: cannot read"));
  CAF_CHECK(names(R"({"cluster": {"tls": {"certificate": "/etc/hostname",
                                          "key": "/etc/hostname",
                                          "ca": "/etc/hostname"}}})",
                  "cluster.tls.certificate: cannot use"));
  CAF_CHECK(names(R"({"cluster": {"tls": {"pem": "x"}}})", "cluster.tls.pem"));
  // Names go into logs: no line breaks, spaces or other controls.
  CAF_CHECK(
    names(R"({"cluster": {"name": "a\nready address=x"}})", "cluster.name"));
  CAF_CHECK_EQUAL(parse({"--name", "two words"}).action, command_line::fail);
  // A FIFO would block start-up for good; only regular files qualify.
  std::string fifo = "/tmp/sb-config-fifo-" + std::to_string(getpid());
  CAF_REQUIRE_EQUAL(mkfifo(fifo.c_str(), 0600), 0);
  CAF_CHECK(names(R"({"cluster": {"tls": {"certificate": ")" + fifo +
                    R"(", "key": ")" + fifo + R"(", "ca": ")" + fifo +
                    R"("}}})",
                  "cluster.tls.certificate: cannot read"));
  std::remove(fifo.c_str());
}

CAF_TEST(a program may start from defaults of its own) {
  program_info info;
  info.name = "switchboard-demo";
  info.default_config.clear();
  info.defaults.modules = {"users"};
  info.defaults.protocols.clear();
  std::vector<const char*> argv{"switchboard-demo", "--join", "127.0.0.1:7"};
  auto x = parse_command_line(static_cast<int>(argv.size()), argv.data(),
                              table(), info);
  CAF_REQUIRE_EQUAL(x.action, command_line::run);
  CAF_CHECK_EQUAL(x.config.modules, std::vector<std::string>({"users"}));
  CAF_CHECK(x.config.protocols.empty());
  CAF_CHECK(x.config.source.empty());
  auto text = usage(table(), info);
  CAF_CHECK_EQUAL(text.rfind("usage: switchboard-demo", 0), 0u);
  CAF_CHECK_NOT_EQUAL(text.find("--port"), std::string::npos);
  // A program that hosts its module on a joining node offers no options
  // for ports or modules.
  info.module_node = true;
  text = usage(table(), info);
  CAF_CHECK_EQUAL(text.find("--port"), std::string::npos);
  CAF_CHECK_EQUAL(text.find("--publish"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(text.find("--join"), std::string::npos);
  for (auto opt :
       {"--port=1", "--bind=::1", "--modules=users", "--publish=1"}) {
    std::vector<const char*> args{"switchboard-demo", "--join", "127.0.0.1:7",
                                  opt};
    auto y = parse_command_line(static_cast<int>(args.size()), args.data(),
                                table(), info);
    CAF_CHECK_EQUAL(y.action, command_line::fail);
    CAF_CHECK_NOT_EQUAL(y.error.find("not an option of switchboard-demo"),
                        std::string::npos);
  }
}

CAF_TEST(
  the public URL defaults to the bound address and must be https off loopback) {
  node_config cfg;
  CAF_CHECK_EQUAL(cfg.effective_public_url(), "http://127.0.0.1:8080");
  cfg.bind = "::1";
  CAF_CHECK_EQUAL(cfg.effective_public_url(), "http://[::1]:8080");
  cfg.port = 0;
  CAF_CHECK_EQUAL(cfg.effective_public_url(), "");
  cfg.public_url = "https://node.example/base/";
  CAF_CHECK_EQUAL(cfg.effective_public_url(), "https://node.example/base");
  auto x = parse({"--public-url", "https://node.example:8443/sb"});
  CAF_REQUIRE_EQUAL(x.action, command_line::run);
  CAF_CHECK_EQUAL(x.config.public_url, "https://node.example:8443/sb");
  // Off loopback, plain http (or none) is refused; https passes.
  CAF_CHECK(starts(parse({"--bind", "0.0.0.0"}), "public_url: a node bound"));
  CAF_CHECK(starts(parse({"--bind", "::", "--public-url", "http://x.example"}),
                   "public_url: a node bound"));
  CAF_CHECK_EQUAL(
    parse({"--bind", "0.0.0.0", "--public-url", "https://x.example"}).action,
    command_line::run);
  CAF_CHECK_EQUAL(parse({"--bind", "127.0.0.2"}).action, command_line::run);
  CAF_CHECK(is_loopback_address("127.1.2.3"));
  CAF_CHECK(is_loopback_address("::1"));
  CAF_CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CAF_CHECK(!is_loopback_address("::"));
  CAF_CHECK(!is_loopback_address("10.0.0.1"));
  for (auto bad :
       {"ftp://x.example", "https://", "https://user@x.example",
        "https://x.example?q=1", "https://x.example/#f", "https://x.example:0",
        "https://x.example:70000", "https://x.example:", "https://[::1",
        "https://x_y.example", "https://x.example/a b"})
    CAF_CHECK(starts(parse({"--public-url", bad}), "--public-url"));
  CAF_CHECK(names(R"({"public_url": 5})", "public_url:"));
  CAF_CHECK(names(R"({"public_url": "x.example"})", "public_url:"));
}

CAF_TEST(a bearer token is read from an Authorization value) {
  CAF_CHECK_EQUAL(bearer_token("Bearer abc.DEF-_~+/="), "abc.DEF-_~+/=");
  CAF_CHECK_EQUAL(bearer_token("bearer   xyz"), "xyz");
  CAF_CHECK_EQUAL(bearer_token("BEARER xyz "), "xyz");
  CAF_CHECK_EQUAL(bearer_token("Bearer"), "");
  CAF_CHECK_EQUAL(bearer_token("Bearer "), "");
  CAF_CHECK_EQUAL(bearer_token("Basic dXNlcjpwdw=="), "");
  CAF_CHECK_EQUAL(bearer_token("Bearerxyz"), "");
  CAF_CHECK_EQUAL(bearer_token("Bearer a b"), "");
  CAF_CHECK_EQUAL(bearer_token("Bearer a=b"), "");
  CAF_CHECK_EQUAL(bearer_token("Bearer a\"b"), "");
  CAF_CHECK_EQUAL(mcp_scope("git-tools"), "mcp:git-tools");
}
