#pragma once

// Node configuration: built-in defaults, overridden by the config file,
// overridden by the command line. Every key is documented in
// docs/configuration.md.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/factory.hpp"

namespace sb {

/// Mutual TLS between nodes through CAF's OpenSSL module. Off while all three
/// paths are empty; on, every node must present a certificate signed by `ca`.
struct tls_config {
  /// PEM certificate of this node.
  std::string certificate;
  /// PEM private key of `certificate`, unencrypted.
  std::string key;
  /// PEM file of the certificate authorities whose nodes may connect.
  std::string ca;

  bool enabled() const noexcept { return !certificate.empty(); }
};

/// How this node meets other nodes over CAF's network layer.
struct cluster_config {
  /// This node's name in its own logs and in those of the nodes it meets;
  /// empty picks `<hostname>:<pid>`.
  std::string name;
  /// Whether other nodes may join this one on `publish_bind:publish_port`.
  bool publish = false;
  std::string publish_bind = "127.0.0.1";
  /// 0 picks a free port.
  uint16_t publish_port = 0;
  /// The node to join; empty for none.
  std::string join_host;
  uint16_t join_port = 0;
  /// Interval of heartbeats on every node connection.
  uint32_t heartbeat_interval_ms = 500;
  /// A connection that carries nothing, heartbeats included, for this long
  /// is closed and its node counts as lost.
  uint32_t connection_timeout_ms = 2000;
  /// Time to connect and shake hands with the node to join.
  uint32_t handshake_timeout_ms = 5000;
  /// Upper bound of the backoff between attempts to reach the node to join.
  uint32_t reconnect_max_ms = 5000;
  tls_config tls;

  bool joins() const noexcept { return !join_host.empty(); }
};

struct node_config {
  /// Config file the values came from; empty for built-in defaults only.
  std::string source;
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  /// The node's external URL (scheme, host, optional port and path, no
  /// trailing slash): the issuer of its tokens and the base of its resource
  /// identifiers and metadata URLs. Empty for `http://<bind>:<port>`. A node
  /// bound to an address other than loopback needs an https URL here.
  std::string public_url;
  /// Whether the config file or the command line set `port`. A node that
  /// joins another opens no port unless asked to.
  bool port_set = false;
  /// Scheduler threads of the actor system; 0 picks one per two cores.
  size_t actor_threads = 0;
  /// I/O threads of the protocol handlers; 0 picks one per core.
  size_t io_threads = 0;
  /// Time an endpoint owner has to answer a request.
  uint32_t request_timeout_ms = 5000;
  /// Requests that may wait for owners at once.
  size_t max_pending_requests = 20000;
  std::string log_level = "info";
  std::vector<std::string> modules{"system", "users"};
  std::vector<std::string> protocols{"http"};
  cluster_config cluster;
  /// Sections of `settings` by module or protocol name, as JSON text.
  std::map<std::string, std::string> settings;

  /// Settings section of `name`, or `{}`.
  std::string settings_of(const std::string& name) const;

  /// `actor_threads` with 0 resolved for this machine.
  size_t effective_actor_threads() const;

  /// `io_threads` with 0 resolved for this machine.
  size_t effective_io_threads() const;

  /// `cluster.name` with the empty default resolved.
  std::string effective_name() const;

  /// `public_url`, or `http://<bind>:<port>` without one; empty when that
  /// port is 0 (the real one is known once the port is bound).
  std::string effective_public_url() const;
};

/// What the command line asks for.
struct command_line {
  enum action_t { run, help, version, fail } action = run;
  /// With `fail`: what is wrong, naming the option or key.
  std::string error;
  node_config config;
};

/// What a program built on the node library calls itself and starts from.
struct program_info {
  /// Name in `--help` and in error messages.
  std::string name = "switchboard";
  /// One line under the usage line of `--help`.
  std::string summary =
    "Runs a Switchboard node: HTTP endpoints served by module actors.";
  /// Config file read when `--config` is absent, if it exists; empty for
  /// none.
  std::string default_config = "config/switchboard.json";
  /// Values before any config file or option.
  node_config defaults;
  /// A program that hosts its own modules on a node that joins a front node
  /// (see `run_module_node`): `--join` is required, and `--port`, `--bind`,
  /// `--modules` and `--publish` are not options of it.
  bool module_node = false;
};

/// Parses `argv`, reads the config file and checks every key, including
/// each module's and protocol's settings through `table`. Accepts both
/// `--opt VALUE` and `--opt=VALUE`.
command_line parse_command_line(int argc, const char* const* argv,
                                const factory_table& table,
                                const program_info& program = {});

/// Reads config JSON `text` over `cfg`; returns an error naming the key, or
/// an empty string. `origin` names the text in messages.
std::string apply_config_text(const std::string& text,
                              const std::string& origin, node_config& cfg);

/// Checks that every module and protocol exists in `table` and that their
/// settings are valid; returns an error naming the key, or empty.
std::string check_config(const node_config& cfg, const factory_table& table);

/// Checks a public URL as `public_url` takes it: `http` or `https`, a host,
/// an optional port and path, nothing else; returns an error that starts
/// with `key`, or an empty string.
std::string check_public_url(const std::string& url, const std::string& key);

/// Whether `address` (an IPv4 or IPv6 literal) is a loopback address.
bool is_loopback_address(const std::string& address);

/// Splits `HOST:PORT` (or `[IPv6]:PORT`); returns an error that starts with
/// `key`, or an empty string.
std::string parse_host_port(const std::string& str, const std::string& key,
                            std::string& host, uint16_t& port);

/// The text of `--help`.
std::string usage(const factory_table& table, const program_info& program = {});

/// Version string of the binary.
const char* version_string() noexcept;

} // namespace sb
