#include "actors/config.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/settings_reader.hpp"
#include "actors/tls_files.hpp"

namespace sb {

namespace {

using json = nlohmann::json;

constexpr const char* default_config_path = "config/switchboard.json";

bool valid_address(const std::string& str) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, str.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, str.c_str(), buf) == 1;
}

std::string read_string_list(const json& x, const std::string& key,
                             std::vector<std::string>& out) {
  if (!x.is_array())
    return key + ": expected an array of names";
  std::vector<std::string> result;
  for (auto& item : x) {
    if (!item.is_string() || item.get<std::string>().empty())
      return key + ": expected an array of non-empty names";
    result.push_back(item.get<std::string>());
  }
  out = std::move(result);
  return {};
}

std::string read_port(const std::string& str, const std::string& key,
                      uint16_t& out) {
  if (str.empty() || str.size() > 5 ||
      str.find_first_not_of("0123456789") != std::string::npos)
    return key + ": '" + str + "' is not a port number (0 to 65535)";
  auto val = std::stoul(str);
  if (val > 65535)
    return key + ": " + str + " is out of range 0 to 65535";
  out = static_cast<uint16_t>(val);
  return {};
}

/// Node names end up in logs: visible ASCII, no spaces or controls.
bool valid_node_name(const std::string& str) {
  return !str.empty() && str.size() <= 128 &&
         std::all_of(str.begin(), str.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string read_path(const json& x, const std::string& key, std::string& out) {
  if (!x.is_string() || x.get<std::string>().empty())
    return key + ": expected a file path";
  out = x.get<std::string>();
  return {};
}

std::string read_tls(const json& x, tls_config& out) {
  if (!x.is_object())
    return "cluster.tls: expected an object with 'certificate', 'key' and "
           "'ca'";
  for (auto& [key, val] : x.items()) {
    std::string err;
    if (key == "certificate")
      err = read_path(val, "cluster.tls.certificate", out.certificate);
    else if (key == "key")
      err = read_path(val, "cluster.tls.key", out.key);
    else if (key == "ca")
      err = read_path(val, "cluster.tls.ca", out.ca);
    else
      err = "cluster.tls." + key + ": unknown key";
    if (!err.empty())
      return err;
  }
  return {};
}

std::string read_cluster(const json& x, cluster_config& out) {
  if (!x.is_object())
    return "cluster: expected an object";
  for (auto& [key, val] : x.items()) {
    std::string err;
    auto name = "cluster." + key;
    if (key == "name") {
      if (!val.is_string() || !valid_node_name(val.get<std::string>()))
        err = name + ": expected a name of 1 to 128 visible characters";
      else
        out.name = val.get<std::string>();
    } else if (key == "heartbeat_interval_ms") {
      err = read_uint(val, name, 10, 600'000, out.heartbeat_interval_ms);
    } else if (key == "connection_timeout_ms") {
      err = read_uint(val, name, 20, 3'600'000, out.connection_timeout_ms);
    } else if (key == "handshake_timeout_ms") {
      err = read_uint(val, name, 10, 600'000, out.handshake_timeout_ms);
    } else if (key == "reconnect_max_ms") {
      err = read_uint(val, name, 10, 3'600'000, out.reconnect_max_ms);
    } else if (key == "tls") {
      err = read_tls(val, out.tls);
    } else {
      err = name + ": unknown key";
    }
    if (!err.empty())
      return err;
  }
  return {};
}

std::string read_publish(const json& x, cluster_config& out) {
  // `"publish": 7000` is short for `"publish": {"port": 7000}`.
  if (x.is_number()) {
    out.publish = true;
    return read_uint(x, "publish", 0, 65535, out.publish_port);
  }
  if (!x.is_object())
    return "publish: expected a port number or an object with 'port' and "
           "'bind'";
  out.publish = true;
  for (auto& [key, val] : x.items()) {
    std::string err;
    if (key == "port") {
      err = read_uint(val, "publish.port", 0, 65535, out.publish_port);
    } else if (key == "bind") {
      if (!val.is_string() || !valid_address(val.get<std::string>()))
        err = "publish.bind: expected an IPv4 or IPv6 address such as "
              "127.0.0.1";
      else
        out.publish_bind = val.get<std::string>();
    } else {
      err = "publish." + key + ": unknown key";
    }
    if (!err.empty())
      return err;
  }
  return {};
}

/// A regular file we may read: a FIFO or a device would block or never end.
bool readable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         st.st_size < 1024 * 1024 && access(path.c_str(), R_OK) == 0;
}

std::string check_cluster(const cluster_config& x) {
  if (x.publish && x.joins())
    return "join: a node either accepts other nodes (publish) or joins one, "
           "not both";
  if (x.connection_timeout_ms <= x.heartbeat_interval_ms)
    return "cluster.connection_timeout_ms: must be longer than "
           "cluster.heartbeat_interval_ms (" +
           std::to_string(x.heartbeat_interval_ms) + ")";
  auto& tls = x.tls;
  if (!tls.certificate.empty() || !tls.key.empty() || !tls.ca.empty()) {
    if (tls.certificate.empty() || tls.key.empty() || tls.ca.empty())
      return "cluster.tls: needs all of 'certificate', 'key' and 'ca'";
    for (auto [key, path] :
         {std::pair{"certificate", &tls.certificate},
          std::pair{"key", &tls.key}, std::pair{"ca", &tls.ca}})
      if (!readable(*path))
        return std::string{"cluster.tls."} + key + ": cannot read '" + *path +
               "' (a readable regular file below 1 MiB)";
    if (auto err = check_tls_files(tls); !err.empty())
      return err;
  }
  return {};
}

std::vector<std::string> split_names(const std::string& str) {
  std::vector<std::string> result;
  std::string cur;
  for (auto c : str) {
    if (c == ',') {
      result.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  result.push_back(cur);
  return result;
}

} // namespace

std::string node_config::settings_of(const std::string& name) const {
  auto i = settings.find(name);
  return i != settings.end() ? i->second : "{}";
}

size_t node_config::effective_actor_threads() const {
  // Actors do little per request next to the kernel's socket work, which
  // runs on the I/O threads: on two cores, one scheduler thread and two I/O
  // threads served the most requests (tools/bench).
  if (actor_threads > 0)
    return actor_threads;
  return std::max(1u, std::thread::hardware_concurrency() / 2);
}

size_t node_config::effective_io_threads() const {
  if (io_threads > 0)
    return io_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string node_config::effective_name() const {
  if (!cluster.name.empty())
    return cluster.name;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    std::strcpy(host, "node");
  return std::string{host} + ":" + std::to_string(getpid());
}

std::string node_config::effective_public_url() const {
  if (!public_url.empty()) {
    auto url = public_url;
    while (!url.empty() && url.back() == '/')
      url.pop_back();
    return url;
  }
  if (port == 0)
    return {};
  auto host = bind.find(':') != std::string::npos ? "[" + bind + "]" : bind;
  return "http://" + host + ":" + std::to_string(port);
}

bool is_loopback_address(const std::string& address) {
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6) ||
           (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  return false;
}

std::string check_public_url(const std::string& url, const std::string& key) {
  auto bad = [&](const std::string& why) {
    return key + ": '" + url + "' " + why;
  };
  std::string_view rest = url;
  if (rest.compare(0, 8, "https://") == 0)
    rest.remove_prefix(8);
  else if (rest.compare(0, 7, "http://") == 0)
    rest.remove_prefix(7);
  else
    return bad("is not an http or https URL (e.g. https://node.example)");
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path =
    slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.empty())
    return bad("names no host");
  if (authority.find('@') != std::string_view::npos)
    return bad("holds a user name; the public URL takes none");
  std::string_view host = authority;
  std::string_view port;
  if (host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos)
      return bad("has an IPv6 address without its closing ']'");
    auto inside = std::string{host.substr(1, close - 1)};
    in6_addr v6;
    if (inet_pton(AF_INET6, inside.c_str(), &v6) != 1)
      return bad("has a bracketed host that is not an IPv6 address");
    auto after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return bad("has text after its IPv6 address");
    if (!after.empty())
      port = after.substr(1);
    host = host.substr(0, close + 1);
  } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (host.empty())
      return bad("names no host");
  }
  if (host.front() != '[')
    for (auto c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
        return bad("has a host with a character other than letters, digits, "
                   "'-' and '.'");
  if (authority.find(':') != std::string_view::npos && host.front() != '[' &&
      port.empty())
    return bad("has an empty port");
  if (!port.empty()) {
    unsigned long n = 0;
    for (auto c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || n > 65535)
        return bad("has a port that is not a number from 1 to 65535");
      n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    if (n == 0 || n > 65535)
      return bad("has a port that is not a number from 1 to 65535");
  }
  for (auto c : path)
    if (c == '?' || c == '#' || c <= ' ' || c >= 0x7f)
      return bad("has a query, a fragment or a character that needs "
                 "encoding; the public URL is scheme, host, port and path");
  return {};
}

std::string parse_host_port(const std::string& str, const std::string& key,
                            std::string& host, uint16_t& port) {
  auto bad = [&] {
    return key + ": '" + str + "' is not HOST:PORT (e.g. 127.0.0.1:7000)";
  };
  auto colon = str.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return bad();
  auto h = str.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']')
      return bad();
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return key + ": '" + str +
           "': write an IPv6 address in brackets, as in "
           "[::1]:7000";
  }
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
           c == '_';
  };
  if (h.size() > 253 || !std::all_of(h.begin(), h.end(), ok_char))
    return bad();
  uint16_t p = 0;
  if (auto err = read_port(str.substr(colon + 1), key, p); !err.empty())
    return err;
  if (p == 0)
    return key + ": port 0 cannot be joined";
  host = std::move(h);
  port = p;
  return {};
}

std::string apply_config_text(const std::string& text,
                              const std::string& origin, node_config& cfg) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& ex) {
    return origin + ": not valid JSON (" + ex.what() + ")";
  }
  if (!doc.is_object())
    return origin + ": expected a JSON object at the top level";
  for (auto& [key, val] : doc.items()) {
    std::string err;
    if (key == "bind") {
      if (!val.is_string() || !valid_address(val.get<std::string>()))
        err = "bind: expected an IPv4 or IPv6 address such as 127.0.0.1";
      else
        cfg.bind = val.get<std::string>();
    } else if (key == "port") {
      err = read_uint(val, key, 0, 65535, cfg.port);
      cfg.port_set = err.empty();
    } else if (key == "public_url") {
      if (!val.is_string())
        err = "public_url: expected a URL such as https://switchboard.example";
      else if (err = check_public_url(val.get<std::string>(), key); err.empty())
        cfg.public_url = val.get<std::string>();
    } else if (key == "publish") {
      err = read_publish(val, cfg.cluster);
    } else if (key == "join") {
      if (!val.is_string())
        err = "join: expected \"HOST:PORT\"";
      else
        err = parse_host_port(val.get<std::string>(), key,
                              cfg.cluster.join_host, cfg.cluster.join_port);
    } else if (key == "cluster") {
      err = read_cluster(val, cfg.cluster);
    } else if (key == "threads") {
      if (!val.is_object())
        err = "threads: expected an object with 'actors' and 'io'";
      for (auto& [sub, x] : val.items()) {
        if (!err.empty())
          break;
        if (sub == "actors")
          err = read_uint(x, "threads.actors", 0, 256, cfg.actor_threads);
        else if (sub == "io")
          err = read_uint(x, "threads.io", 0, 256, cfg.io_threads);
        else
          err = "threads." + sub + ": unknown key";
      }
    } else if (key == "request_timeout_ms") {
      err = read_uint(val, key, 1, 3'600'000, cfg.request_timeout_ms);
    } else if (key == "max_pending_requests") {
      err = read_uint(val, key, 1, 10'000'000, cfg.max_pending_requests);
    } else if (key == "log_level") {
      static const char* levels[] = {"trace", "debug", "info",
                                     "warn",  "error", "off"};
      auto ok = val.is_string() &&
                std::find(std::begin(levels), std::end(levels),
                          val.get<std::string>()) != std::end(levels);
      if (!ok)
        err = "log_level: expected one of trace, debug, info, warn, error, "
              "off";
      else
        cfg.log_level = val.get<std::string>();
    } else if (key == "modules") {
      err = read_string_list(val, key, cfg.modules);
    } else if (key == "protocols") {
      err = read_string_list(val, key, cfg.protocols);
    } else if (key == "settings") {
      if (!val.is_object())
        err = "settings: expected an object of sections by name";
      for (auto& [name, section] : val.items()) {
        if (!err.empty())
          break;
        if (!section.is_object())
          err = "settings." + name + ": expected an object";
        else
          cfg.settings[name] = section.dump();
      }
    } else if (key == "$comment" || key == "_comment") {
      // Comments are welcome in a file that has no other way to hold them.
    } else {
      err = key + ": unknown key";
    }
    if (!err.empty())
      return origin + ": " + err;
  }
  return {};
}

std::string check_config(const node_config& cfg, const factory_table& table) {
  if (auto err = check_cluster(cfg.cluster); !err.empty())
    return err;
  // Tokens and login links name the public URL: on a port that others can
  // reach, it must be https (TLS ends at a proxy in front of the node).
  if (!cfg.protocols.empty() && !is_loopback_address(cfg.bind) &&
      cfg.public_url.compare(0, 8, "https://") != 0)
    return "public_url: a node bound to " + cfg.bind +
           ", which is not a loopback address, needs an https public_url "
           "(TLS ends at a proxy in front of it)";
  auto known_modules = [&] {
    std::string out;
    for (auto& x : table.modules)
      out += (out.empty() ? "" : ", ") + x.name;
    return out;
  };
  for (size_t i = 0; i < cfg.modules.size(); ++i) {
    auto& name = cfg.modules[i];
    if (!table.find_module(name))
      return "modules: unknown module '" + name +
             "' (known: " + known_modules() + ")";
    for (size_t j = 0; j < i; ++j)
      if (cfg.modules[j] == name)
        return "modules: '" + name + "' is listed twice";
  }
  for (size_t i = 0; i < cfg.protocols.size(); ++i) {
    auto& name = cfg.protocols[i];
    if (!table.find_protocol(name))
      return "protocols: unknown protocol '" + name + "'";
    for (size_t j = 0; j < i; ++j)
      if (cfg.protocols[j] == name)
        return "protocols: '" + name + "' is listed twice";
  }
  for (auto& [name, text] : cfg.settings) {
    settings_check check;
    if (auto m = table.find_module(name))
      check = m->check;
    else if (auto p = table.find_protocol(name))
      check = p->check;
    else
      return "settings." + name + ": no module or protocol named '" + name +
             "'";
    if (check)
      if (auto err = check(text); !err.empty()) {
        // A check names a key of its section, or "<section>" for all of it.
        constexpr std::string_view whole = "<section>";
        if (err.compare(0, whole.size(), whole) == 0)
          return "settings." + name + err.substr(whole.size());
        return "settings." + name + "." + err;
      }
  }
  return {};
}

command_line parse_command_line(int argc, const char* const* argv,
                                const factory_table& table,
                                const program_info& program) {
  static const char* value_options[] = {"config",  "port",      "bind",
                                        "modules", "log-level", "publish",
                                        "join",    "name",      "public-url"};
  auto takes_value = [](const std::string& name) {
    return std::find_if(std::begin(value_options), std::end(value_options),
                        [&](const char* x) { return name == x; }) !=
           std::end(value_options);
  };
  command_line result;
  result.config = program.defaults;
  auto fail = [&](std::string msg) {
    result.action = command_line::fail;
    result.error = std::move(msg);
    return result;
  };
  // First pass: collect options, so that the config file is read before the
  // other options override it.
  std::string config_path;
  bool config_given = false;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      result.action = command_line::help;
      return result;
    }
    if (arg == "--version") {
      result.action = command_line::version;
      return result;
    }
    if (arg.compare(0, 2, "--") != 0)
      return fail("unexpected argument '" + arg + "' (see --help)");
    std::string name;
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(2, eq - 2);
      value = arg.substr(eq + 1);
    } else {
      name = arg.substr(2);
      if (!takes_value(name))
        return fail("--" + name + ": unknown option (see --help)");
      if (i + 1 >= argc)
        return fail("--" + name + ": missing value");
      value = argv[++i];
    }
    if (!takes_value(name))
      return fail("--" + name + ": unknown option (see --help)");
    if (program.module_node && (name == "port" || name == "bind" ||
                                name == "modules" || name == "publish"))
      return fail("--" + name + ": not an option of " + program.name +
                  ", which hosts its module on a node that serves through "
                  "its front node (see --help)");
    if (name == "config") {
      config_path = value;
      config_given = true;
    } else {
      overrides.emplace_back(name, value);
    }
  }
  // Config file: the named one must exist; the default one may not.
  if (!config_given && !program.default_config.empty()) {
    std::ifstream probe{program.default_config};
    if (probe)
      config_path = program.default_config;
  }
  if (!config_path.empty()) {
    std::ifstream in{config_path};
    if (!in)
      return fail("--config: cannot read '" + config_path + "'");
    std::stringstream buf;
    buf << in.rdbuf();
    if (auto err = apply_config_text(buf.str(), config_path, result.config);
        !err.empty())
      return fail(err);
    result.config.source = config_path;
  }
  // Command line over config file.
  for (auto& [name, value] : overrides) {
    auto& cfg = result.config;
    if (name == "port") {
      if (auto err = read_port(value, "--port", cfg.port); !err.empty())
        return fail(err);
      cfg.port_set = true;
    } else if (name == "bind") {
      if (!valid_address(value))
        return fail("--bind: '" + value + "' is not an IPv4 or IPv6 address");
      cfg.bind = value;
    } else if (name == "modules") {
      cfg.modules =
        value.empty() ? std::vector<std::string>{} : split_names(value);
      for (auto& x : cfg.modules)
        if (x.empty())
          return fail("--modules: empty module name in '" + value + "'");
    } else if (name == "log-level") {
      json tmp = {{"log_level", value}};
      if (auto err = apply_config_text(tmp.dump(), "--log-level", cfg);
          !err.empty())
        return fail("--log-level: expected one of trace, debug, info, warn, "
                    "error, off");
    } else if (name == "publish") {
      if (auto err = read_port(value, "--publish", cfg.cluster.publish_port);
          !err.empty())
        return fail(err);
      cfg.cluster.publish = true;
    } else if (name == "join") {
      if (auto err = parse_host_port(value, "--join", cfg.cluster.join_host,
                                     cfg.cluster.join_port);
          !err.empty())
        return fail(err);
    } else if (name == "public-url") {
      if (auto err = check_public_url(value, "--public-url"); !err.empty())
        return fail(err);
      cfg.public_url = value;
    } else if (name == "name") {
      if (!valid_node_name(value))
        return fail("--name: expected a name of 1 to 128 visible characters");
      cfg.cluster.name = value;
    }
  }
  // A node that joins another serves through the front node; it opens a
  // port of its own only when asked to.
  if (result.config.cluster.joins() && !result.config.port_set)
    result.config.protocols.clear();
  if (auto err = check_config(result.config, table); !err.empty()) {
    // Name the file only for what the file said.
    auto from_cli = [&](const char* key, const char* option) {
      return err.rfind(key, 0) == 0 &&
             std::any_of(overrides.begin(), overrides.end(),
                         [&](auto& x) { return x.first == option; });
    };
    if (from_cli("modules:", "modules"))
      return fail("--" + err);
    if (from_cli("join:", "join") || from_cli("join:", "publish"))
      return fail(err);
    return fail((config_path.empty() ? "" : config_path + ": ") + err);
  }
  return result;
}

std::string usage(const factory_table& table, const program_info& program) {
  std::string out =
    "usage: " + program.name + " [options]\n\n" + program.summary + "\n\n";
  out += "options (--opt VALUE and --opt=VALUE both work):\n";
  if (!program.default_config.empty())
    out +=
      "  --config FILE      config file (default: " + program.default_config +
      " when present)\n";
  else
    out += "  --config FILE      config file\n";
  if (!program.module_node)
    out +=
      "  --port N           HTTP port, 0 picks a free one (default: 8080; a\n"
      "                     node that joins another opens none unless set)\n"
      "  --bind ADDR        address to listen on (default: 127.0.0.1)\n"
      "  --public-url URL   the node's external URL, issuer of its tokens\n"
      "                     (default: http://BIND:PORT; https off loopback)\n"
      "  --modules A,B      modules to run, replacing the config's list\n"
      "  --publish PORT     let other nodes join this one on PORT (0 picks a\n"
      "                     free one), on 127.0.0.1 unless publish.bind says\n";
  out += "  --join HOST:PORT   join the node that publishes on HOST:PORT; its\n"
         "                     HTTP port then serves this node's modules\n"
         "  --name NAME        this node's name in logs (default: host:pid)\n"
         "  --log-level LEVEL  trace, debug, info, warn, error or off\n"
         "  --help, -h         print this text and exit\n"
         "  --version          print the version and exit\n"
         "\n"
         "modules:\n";
  for (auto& x : table.modules)
    out += "  " + x.name +
           std::string(x.name.size() < 19 ? 19 - x.name.size() : 1, ' ') +
           x.summary + "\n";
  out += "\nThe command line overrides the config file, which overrides the "
         "defaults.\nExit codes: 0 clean stop, 1 start-up failure, 2 bad "
         "command line or config.\n";
  return out;
}

const char* version_string() noexcept {
  return "switchboard 0.1.0";
}

} // namespace sb
