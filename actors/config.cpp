#include "actors/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/settings_reader.hpp"

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
                                const factory_table& table) {
  command_line result;
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
      if (name != "config" && name != "port" && name != "bind" &&
          name != "modules" && name != "log-level")
        return fail("--" + name + ": unknown option (see --help)");
      if (i + 1 >= argc)
        return fail("--" + name + ": missing value");
      value = argv[++i];
    }
    if (name == "config") {
      config_path = value;
      config_given = true;
    } else if (name == "port" || name == "bind" || name == "modules" ||
               name == "log-level") {
      overrides.emplace_back(name, value);
    } else {
      return fail("--" + name + ": unknown option (see --help)");
    }
  }
  // Config file: the named one must exist; the default one may not.
  if (!config_given) {
    std::ifstream probe{default_config_path};
    if (probe)
      config_path = default_config_path;
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
    }
  }
  if (auto err = check_config(result.config, table); !err.empty()) {
    // Name the file only for what the file said.
    auto from_cli = err.rfind("modules:", 0) == 0 &&
                    std::any_of(overrides.begin(), overrides.end(),
                                [](auto& x) { return x.first == "modules"; });
    if (from_cli)
      return fail("--" + err);
    return fail((config_path.empty() ? "" : config_path + ": ") + err);
  }
  return result;
}

std::string usage(const factory_table& table) {
  std::string out =
    "usage: switchboard [options]\n"
    "\n"
    "Runs a Switchboard node: HTTP endpoints served by module actors.\n"
    "\n"
    "options (--opt VALUE and --opt=VALUE both work):\n"
    "  --config FILE      config file (default: config/switchboard.json "
    "when present)\n"
    "  --port N           HTTP port, 0 picks a free one (default: 8080)\n"
    "  --bind ADDR        address to listen on (default: 127.0.0.1)\n"
    "  --modules A,B      modules to run, replacing the config's list\n"
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
