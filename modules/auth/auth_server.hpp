#pragma once

// The authorization server without its actor: every endpoint of the auth
// module as a function from a request and the time to a response, and the
// token check that the registry asks for. The actor (auth_module.cpp) owns
// one, feeds it the time, the node's public URL and what the registry
// lists, and runs the calls to an upstream provider off its thread.
//
// Secrets (tokens, codes, client secrets, the login link) are kept only as
// hashes, and never logged: the log names subjects and client IDs.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "actors/messages.hpp"
#include "modules/auth/auth_module.hpp"
#include "modules/auth/signing_key.hpp"
#include "modules/auth/store.hpp"
#include "modules/auth/upstream_login.hpp"

namespace sb::modules::auth {

/// What the registry lists as protected: MCP contexts, and the scopes of
/// HTTP routes that require a token.
struct scope_catalog {
  std::vector<std::string> contexts;
  std::vector<std::string> route_scopes;

  /// `mcp:<context>` for each context, then the route scopes.
  std::vector<std::string> all() const;
};

/// How people log in.
enum class login_mode {
  /// No upstream and no loopback node: nobody can.
  none,
  /// The single-use link on stderr, then a session cookie.
  local,
  /// At the upstream provider.
  upstream,
};

/// An authorization request that waits for its person: to log in, then to
/// allow or deny it.
struct pending_request {
  std::string client_id;
  std::string redirect_uri;
  bool redirect_given = false;
  std::string challenge;
  std::string scope;
  std::string resource;
  std::string state;
  std::string upstream_verifier;
  int64_t expires_at = 0;
  /// Who logged in, once someone did: the request then waits for that
  /// person to allow or deny it on the consent page.
  std::string subject;
};

/// A login at the upstream provider, between the callback and the answer
/// of the provider.
struct callback_job {
  /// The authorization request that the login is for.
  pending_request request;
  /// The code that the provider gave.
  std::string code;
};

class auth_server {
public:
  /// Seconds an authorization request waits for its login.
  static constexpr int64_t pending_ttl = 600;
  /// Seconds an authorization code lives.
  static constexpr int64_t code_ttl = 60;
  /// Seconds a login link lives.
  static constexpr int64_t link_ttl = 600;
  /// Seconds a local login session lives.
  /// Seconds by which clocks may disagree on token times.
  static constexpr int64_t leeway = 30;

  /// `print` receives the login link line; `env` reads `$USER`.
  auth_server(auth_settings cfg, std::function<void(const std::string&)> print,
              env_lookup env);

  /// Opens the store and loads, rotates or makes the signing keys.
  [[nodiscard]] std::string open(int64_t now);

  /// Rotates keys, deletes keys no token needs, purges expired refresh
  /// tokens and forgets expired requests, codes and sessions.
  void maintain(int64_t now);

  /// The node's external URL, without a trailing slash; empty if unknown.
  const std::string& public_url() const noexcept { return public_url_; }

  /// Sets the public URL; in local mode, prints the login link the first
  /// time it is known.
  void set_public_url(std::string url, int64_t now);

  login_mode mode() const noexcept;

  // -- endpoints
  // ---------------------------------------------------------------

  http_response authorization_server_metadata(const scope_catalog& cat) const;

  http_response protected_resource_metadata(const http_request& req,
                                            const scope_catalog& cat) const;

  http_response jwks() const;

  http_response register_client(const http_request& req, int64_t now);

  http_response authorize(const http_request& req, const scope_catalog& cat,
                          int64_t now);

  http_response local_login(const http_request& req, int64_t now);

  /// `POST /oauth/approve`: the person's answer on the consent page.
  http_response approve(const http_request& req, int64_t now);

  /// The callback of the upstream provider: a response at once (an unknown
  /// state, an error from the provider), or the job to run off the actor.
  std::variant<http_response, callback_job>
  begin_callback(const http_request& req, int64_t now);

  /// Completes a login at the upstream provider with who logged in.
  http_response finish_callback(const callback_job& job,
                                const upstream_identity& who, int64_t now);

  http_response token(const http_request& req, int64_t now);

  http_response revoke(const http_request& req, int64_t now);

  /// The verdict on a bearer token for a protected resource.
  auth_verdict check(const auth_check& req, int64_t now);

  /// The upstream provider, if one is configured.
  const std::optional<upstream_settings>& upstream() const noexcept {
    return cfg_.upstream;
  }

private:
  struct key_entry {
    sb::auth::signing_key key;
    int64_t created_at = 0;
    std::optional<int64_t> retired_at;
  };

  struct client_info {
    std::string id;
    std::optional<std::string> secret_hash;
    std::vector<std::string> redirect_uris;
    std::vector<std::string> grant_types;
  };

  struct code_grant {
    pending_request req;
    std::string subject;
    int64_t expires_at = 0;
    bool used = false;
    /// Refresh token family issued for the code; revoked on reuse.
    std::string family_id;
  };

  struct verified_token {
    principal who;
    std::vector<std::string> audiences;
    int64_t expires_at = 0;
  };

  // -- helpers of auth_server.cpp ---------------------------------------------

  std::string load_keys();
  const key_entry* current_key() const;
  std::optional<client_info> find_client(const std::string& id);
  /// Keeps `p`, for which `subject` logged in, and asks that person on a
  /// page of ours whether its client may have the access it asks for.
  http_response ask_consent(pending_request p, const std::string& subject,
                            int64_t now);
  bool resource_ok(const std::string& resource) const;
  std::vector<std::string> default_scopes(const std::string& resource,
                                          const scope_catalog& cat) const;
  auth_verdict refuse(uint16_t status, const auth_check& req,
                      const std::string& error, std::string message) const;
  std::string resource_metadata_url(const std::string& resource) const;

  // -- helpers of auth_flow.cpp -----------------------------------------------

  http_response issue_code(const pending_request& p, const std::string& subject,
                           int64_t now);
  http_response redirect_error(const pending_request& p,
                               const std::string& error,
                               const std::string& description) const;
  http_response issue_tokens(const client_info& client,
                             const std::string& subject,
                             const std::string& scope,
                             const std::string& resource, std::string* family,
                             int64_t now, std::optional<std::string> refresh);
  std::optional<std::string> access_token(const std::string& client_id,
                                          const std::string& subject,
                                          const std::string& scope,
                                          const std::string& resource,
                                          int64_t now) const;
  /// Makes room in `pending_` for a request of `client_id`.
  void make_room(const std::string& client_id, int64_t now);
  void print_login_link(int64_t now);
  std::string cookie_attributes() const;
  std::string local_subject() const;

  auth_settings cfg_;
  std::function<void(const std::string&)> print_;
  env_lookup env_;
  sb::auth::store store_;
  std::string public_url_;
  /// Newest first; the first key that is not retired signs.
  std::vector<key_entry> keys_;
  std::map<std::string, pending_request> pending_;
  /// By the hash of the code.
  std::unordered_map<std::string, code_grant> codes_;
  /// Hash of the login link's token; empty when used or none.
  std::string link_hash_;
  int64_t link_expires_at_ = 0;
  bool link_printed_ = false;
  /// Times of the registrations in the last minute.
  std::deque<int64_t> registrations_;
  /// By the hash of the token.
  std::unordered_map<std::string, verified_token> verified_;
};

} // namespace sb::modules::auth
