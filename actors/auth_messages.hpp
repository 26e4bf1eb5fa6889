#pragma once

// Message types between the registry, the protocol handlers and the auth
// service. The registry knows what each endpoint requires (its `auth` and
// `scopes`); the auth service alone knows whether a token meets that. They
// cross the network like those of `messages.hpp` and are registered with
// them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace sb {

/// Who a request comes from, as the auth service vouches for it after it
/// checked a token. Empty for requests to endpoints that need no token.
struct principal {
  /// The person: `<provider>:<login>`, e.g. `github:alice` or `local:alice`.
  std::string subject;
  /// The OAuth client that holds the token.
  std::string client_id;
  /// Scopes the token grants.
  std::vector<std::string> scopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, principal& x) {
  return f(caf::meta::type_name("sb.principal"), x.subject, x.client_id,
           x.scopes);
}

inline bool operator==(const principal& x, const principal& y) {
  return x.subject == y.subject && x.client_id == y.client_id &&
         x.scopes == y.scopes;
}

/// Asks the auth service whether a bearer token lets a request reach a
/// protected resource. Answered with `auth_verdict`.
struct auth_check {
  /// The bearer token as the client sent it; empty if it sent none. Never
  /// logged.
  std::string token;
  /// Path of the protected resource below the node's public URL: `/` for
  /// HTTP routes, `/mcp` or `/mcp/<context>` for MCP.
  std::string resource;
  /// Scopes the token must all carry.
  std::vector<std::string> scopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_check& x) {
  return f(caf::meta::type_name("sb.auth_check"), x.token, x.resource,
           x.scopes);
}

/// The auth service's answer to `auth_check`.
struct auth_verdict {
  /// 200 if the request may pass, 401 if the token is missing or invalid,
  /// 403 if it lacks a scope.
  uint16_t status = 401;
  /// Who the token speaks for (status 200 only).
  principal who;
  /// Value of the `WWW-Authenticate` header of a refusal, e.g.
  /// `Bearer resource_metadata="...", scope="mcp:system"`.
  std::string challenge;
  /// Why a request was refused, for a person; never holds the token.
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_verdict& x) {
  return f(caf::meta::type_name("sb.auth_verdict"), x.status, x.who,
           x.challenge, x.message);
}

/// Asks the registry whether a request to an MCP context may pass: the
/// registry looks up what the context's entries require and, if anything,
/// asks the auth service. Answered with `auth_verdict` (status 200 and an
/// empty principal when the context needs no token).
struct mcp_access {
  /// The context.
  std::string context;
  /// Path the client used: `/mcp` or `/mcp/<context>`.
  std::string resource;
  /// Value of the client's `Authorization` header; empty if none.
  std::string authorization;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_access& x) {
  return f(caf::meta::type_name("sb.mcp_access"), x.context, x.resource,
           x.authorization);
}

/// The bearer token in `authorization`, the value of an `Authorization`
/// header: the scheme `Bearer` in any case, one or more spaces, then a
/// token68 (RFC 6750, 2.1). Empty if the value is anything else.
std::string bearer_token(const std::string& authorization);

/// Scope that grants access to MCP context `context`.
std::string mcp_scope(const std::string& context);

} // namespace sb
