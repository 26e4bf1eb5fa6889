// Reading `settings.auth`.

#include <nlohmann/json.hpp>

#include "actors/settings_reader.hpp"
#include "modules/auth/auth_module.hpp"
#include "modules/auth/oauth_text.hpp"

namespace sb::modules::auth {

namespace {

using json = nlohmann::json;

std::string read_string(const json& x, const std::string& key, std::string& out,
                        bool required = false) {
  if (!x.is_string() || (required && x.get<std::string>().empty()))
    return key + ": expected a non-empty string";
  out = x.get<std::string>();
  return {};
}

std::string read_list(const json& x, const std::string& key,
                      std::vector<std::string>& out) {
  if (!x.is_array())
    return key + ": expected a list of strings";
  out.clear();
  for (auto& item : x) {
    if (!item.is_string() || item.get<std::string>().empty())
      return key + ": expected a list of non-empty strings";
    out.push_back(item.get<std::string>());
  }
  return {};
}

/// An upstream URL: https, or http to a loopback host (a stand-in in tests).
std::string read_url(const json& x, const std::string& key, std::string& out) {
  if (auto err = read_string(x, key, out, true); !err.empty())
    return err;
  std::string why;
  auto url = parse_fetch_url(out, why);
  if (!url)
    return key + ": " + why;
  auto host = url->ipv6() ? "[" + url->host + "]" : url->host;
  if (url->scheme != "https" && !is_loopback_host(host))
    return key + ": must be an https URL";
  return {};
}

std::string read_upstream(const json& x, upstream_settings& out,
                          const env_lookup& env) {
  if (!x.is_object())
    return "upstream: expected an object";
  std::string secret_env;
  for (auto& [key, val] : x.items()) {
    auto name = "upstream." + key;
    std::string err;
    if (key == "name")
      err = read_string(val, name, out.name, true);
    else if (key == "authorize_url")
      err = read_url(val, name, out.authorize_url);
    else if (key == "token_url")
      err = read_url(val, name, out.token_url);
    else if (key == "userinfo_url")
      err = read_url(val, name, out.userinfo_url);
    else if (key == "emails_url")
      err = read_url(val, name, out.emails_url);
    else if (key == "client_id")
      err = read_string(val, name, out.client_id, true);
    else if (key == "client_secret")
      err = read_string(val, name, out.client_secret, true);
    else if (key == "client_secret_env")
      err = read_string(val, name, secret_env, true);
    else if (key == "scope")
      err = read_string(val, name, out.scope);
    else if (key == "login_claim")
      err = read_string(val, name, out.login_claim, true);
    else if (key == "ca_file")
      err = read_string(val, name, out.ca_file, true);
    else
      err = name + ": unknown key";
    if (!err.empty())
      return err;
  }
  for (auto key : {"authorize_url", "token_url", "userinfo_url", "client_id"})
    if (!x.contains(key))
      return std::string{"upstream."} + key + ": required";
  if (!secret_env.empty()) {
    if (!out.client_secret.empty())
      return "upstream.client_secret_env: give client_secret or "
             "client_secret_env, not both";
    auto value = env(secret_env.c_str());
    if (value == nullptr || *value == '\0')
      return "upstream.client_secret_env: the environment variable " +
             secret_env + " is not set";
    out.client_secret = value;
  }
  if (out.client_secret.empty())
    return "upstream.client_secret: required (or client_secret_env)";
  return {};
}

upstream_settings github(const char* id, const char* secret) {
  upstream_settings result;
  result.name = "github";
  result.authorize_url = "https://github.com/login/oauth/authorize";
  result.token_url = "https://github.com/login/oauth/access_token";
  result.userinfo_url = "https://api.github.com/user";
  result.emails_url = "https://api.github.com/user/emails";
  result.client_id = id;
  result.client_secret = secret;
  result.scope = "read:user user:email";
  result.login_claim = "login";
  return result;
}

} // namespace

std::string parse_settings(const std::string& text, auth_settings& out,
                           const env_lookup& env) {
  json obj;
  try {
    obj = json::parse(text);
  } catch (const std::exception&) {
    return "<section>: expected a JSON object";
  }
  if (!obj.is_object())
    return "<section>: expected a JSON object";
  for (auto& [key, val] : obj.items()) {
    std::string err;
    if (key == "database") {
      err = read_string(val, key, out.database, true);
    } else if (key == "key_rotation_days") {
      err = read_uint(val, key, 1, 3650, out.key_rotation_days);
    } else if (key == "access_token_ttl_s") {
      err = read_uint(val, key, 30, 86400, out.access_token_ttl_s);
    } else if (key == "refresh_token_ttl_days") {
      err = read_uint(val, key, 1, 365, out.refresh_token_ttl_days);
    } else if (key == "max_clients") {
      err = read_uint(val, key, 1, 1000000, out.max_clients);
    } else if (key == "registrations_per_minute") {
      err = read_uint(val, key, 1, 100000, out.registrations_per_minute);
    } else if (key == "allow") {
      if (!val.is_object())
        return "allow: expected an object with logins and domains";
      for (auto& [sub, list] : val.items()) {
        if (sub == "logins")
          err = read_list(list, "allow.logins", out.allow_logins);
        else if (sub == "domains")
          err = read_list(list, "allow.domains", out.allow_domains);
        else
          err = "allow." + sub + ": unknown key";
        if (!err.empty())
          return err;
      }
    } else if (key == "upstream") {
      upstream_settings up;
      err = read_upstream(val, up, env);
      out.upstream = std::move(up);
    } else {
      err = key + ": unknown key";
    }
    if (!err.empty())
      return err;
  }
  if (!out.upstream) {
    auto id = env("SWITCHBOARD_GITHUB_CLIENT_ID");
    auto secret = env("SWITCHBOARD_GITHUB_CLIENT_SECRET");
    if (id != nullptr && *id != '\0' && secret != nullptr && *secret != '\0')
      out.upstream = github(id, secret);
  }
  return {};
}

} // namespace sb::modules::auth
