#pragma once

// The auth module: the node's OAuth 2.1 authorization server and the auth
// service that the registry asks whether a bearer token lets a request pass.
//
// Endpoints (all open; docs/auth.md tells the flows):
//
// - `GET /.well-known/oauth-authorization-server` (RFC 8414)
// - `GET /.well-known/oauth-protected-resource[/mcp[/<context>]]` (RFC 9728)
// - `GET /oauth/jwks`: the public keys that verify access tokens
// - `POST /oauth/register`: dynamic client registration (RFC 7591)
// - `GET /oauth/authorize`, `GET /oauth/callback`, `GET /oauth/local`: the
//   authorization code flow with PKCE, logging in at an upstream provider
//   (GitHub, or any OAuth provider) or, on a loopback node without one, with
//   a single-use link that the node prints on stderr
// - `POST /oauth/token`, `POST /oauth/revoke` (RFC 6749, RFC 7009)
//
// Access tokens are ES256 JWTs (RFC 9068); refresh tokens are random and
// stored hashed, rotated on every use, with reuse detection.
//
// Settings (`settings.auth`), all optional:
//
// | key | default | meaning |
// | --- | --- | --- |
// | `database` | `switchboard-auth.db` | SQLite file (mode 0600); `:memory:` |
// | `key_rotation_days` | 30 | age at which the signing key is replaced |
// | `access_token_ttl_s` | 600 | lifetime of an access token |
// | `refresh_token_ttl_days` | 30 | lifetime of a refresh token |
// | `max_clients` | 1000 | registered clients at most |
// | `registrations_per_minute` | 20 | registrations, all callers together |
// | `allow` | `{}` | `{logins: [...], domains: [...]}` for upstream logins |
// | `upstream` | none | `{name, authorize_url, token_url, userinfo_url,
//   emails_url, client_id, client_secret or client_secret_env, scope,
//   login_claim, ca_file}` |

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "actors/factory.hpp"
#include "modules/common/http_fetch.hpp"

namespace sb::modules::auth {

/// An OAuth provider where people log in.
struct upstream_settings {
  /// Prefix of the subject: `<name>:<login>`.
  std::string name = "oauth";
  std::string authorize_url;
  std::string token_url;
  std::string userinfo_url;
  /// GitHub's `/user/emails`: verified addresses for the domain allow-list;
  /// empty to take `email` of the userinfo when `email_verified` is true.
  std::string emails_url;
  std::string client_id;
  std::string client_secret;
  /// Space-separated scopes asked of the provider.
  std::string scope;
  /// Member of the userinfo that holds the login.
  std::string login_claim = "preferred_username";
  /// PEM file of CA certificates trusted besides the system's; for tests.
  std::string ca_file;
};

struct auth_settings {
  std::string database = "switchboard-auth.db";
  uint32_t key_rotation_days = 30;
  uint32_t access_token_ttl_s = 600;
  uint32_t refresh_token_ttl_days = 30;
  size_t max_clients = 1000;
  size_t registrations_per_minute = 20;
  /// GitHub logins (compared without case) that may log in upstream.
  std::vector<std::string> allow_logins;
  /// Domains of verified email addresses that may log in upstream.
  std::vector<std::string> allow_domains;
  /// Where people log in; none for the local login of a loopback node.
  std::optional<upstream_settings> upstream;
};

/// Looks up an environment variable; null when unset.
using env_lookup = std::function<const char*(const char*)>;

/// Reads the module's settings section; returns an error naming the key.
/// Without an `upstream` section, `SWITCHBOARD_GITHUB_CLIENT_ID` and
/// `SWITCHBOARD_GITHUB_CLIENT_SECRET` in `env` configure GitHub.
std::string parse_settings(const std::string& text, auth_settings& out,
                           const env_lookup& env);

/// What tests replace; the defaults serve the node.
struct auth_options {
  /// Seconds since the epoch: the one source of every time the module
  /// uses. Defaults to the system clock.
  std::function<int64_t()> now;
  /// Calls an upstream provider; defaults to `http_fetch`. Runs on a
  /// detached actor unless `fetch_detached` is false.
  std::function<fetch_result(const fetch_request&, const fetch_options&)> fetch;
  bool fetch_detached = true;
  /// Prints the login link; defaults to one line on `std::cerr`.
  std::function<void(const std::string&)> print;
  /// Defaults to `std::getenv`.
  env_lookup env;
};

/// Factory entry of the module, named `auth`.
module_factory make_factory();

/// Spawns the auth actor directly, for tests.
caf::actor spawn(caf::actor_system& sys, const module_context& ctx,
                 auth_options opts = {});

} // namespace sb::modules::auth
