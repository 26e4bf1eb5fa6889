// The authorization server's flows: the authorization request, the two ways
// to log in (upstream provider, local link), and the token and revocation
// endpoints.

#include <algorithm>

#include "actors/ascii.hpp"
#include "actors/log.hpp"
#include "modules/auth/auth_server.hpp"
#include "modules/auth/jwt.hpp"
#include "modules/auth/oauth_reply.hpp"
#include "modules/auth/oauth_text.hpp"
#include "modules/auth/pkce.hpp"
#include "modules/auth/secrets.hpp"

namespace sb::modules::auth {

namespace crypto = sb::auth;

namespace {

constexpr size_t max_pending = 1000;
/// Authorization requests of one client that may wait at once.
constexpr size_t max_pending_per_client = 16;
constexpr size_t max_codes = 10000;

const char* const authz_cookie = "sb_authz";

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// The one value of `name` in `xs`; `dup` is set when there are several.
const std::string* single(const field_list& xs, const char* name, bool& dup) {
  const std::string* result = nullptr;
  for (auto& [key, val] : xs)
    if (key == name) {
      if (result != nullptr)
        dup = true;
      result = &val;
    }
  return result;
}

std::string value_or(const std::string* x, std::string fallback = {}) {
  return x != nullptr ? *x : fallback;
}

/// Whether the client would rather read JSON than HTML.
bool wants_json(const http_request& req) {
  auto accept = find_field(req.headers, "accept");
  return accept != nullptr &&
         accept->find("application/json") != std::string::npos &&
         accept->find("text/html") == std::string::npos;
}

/// An error shown to the browser, since the redirect URI is not trusted.
http_response page_error(const http_request& req, const std::string& error,
                         const std::string& description) {
  if (wants_json(req))
    return oauth_error(400, error, description);
  return html_reply(400, "Authorization failed", description);
}

} // namespace

// -- authorization requests ---------------------------------------------------

http_response
auth_server::redirect_error(const pending_request& p, const std::string& error,
                            const std::string& description) const {
  std::vector<std::pair<std::string, std::string>> fields{
    {"error", error}, {"error_description", description}};
  if (!p.state.empty())
    fields.emplace_back("state", p.state);
  fields.emplace_back("iss", public_url_);
  return redirect_reply(with_query(p.redirect_uri, fields));
}

http_response auth_server::issue_code(const pending_request& p,
                                      const std::string& subject, int64_t now) {
  if (codes_.size() >= max_codes)
    maintain(now);
  if (codes_.size() >= max_codes)
    return redirect_error(p, "temporarily_unavailable",
                          "too many authorizations at once");
  auto code = crypto::random_token();
  code_grant grant;
  grant.req = p;
  grant.subject = subject;
  grant.expires_at = now + code_ttl;
  codes_.emplace(crypto::token_hash(code), std::move(grant));
  logger("auth")->info("code issued client_id={} subject={}", p.client_id,
                       subject);
  std::vector<std::pair<std::string, std::string>> fields{{"code", code}};
  if (!p.state.empty())
    fields.emplace_back("state", p.state);
  fields.emplace_back("iss", public_url_);
  return redirect_reply(with_query(p.redirect_uri, fields));
}

http_response auth_server::authorize(const http_request& req,
                                     const scope_catalog& cat, int64_t now) {
  bool dup = false;
  auto q = [&](const char* name) {
    return single(req.query, name, dup);
  };

  // Until the client and its redirect URI are known, errors go to the page.
  auto client_id = q("client_id");
  auto redirect = q("redirect_uri");
  if (dup)
    return page_error(req, "invalid_request", "a parameter appears twice");
  if (client_id == nullptr)
    return page_error(req, "invalid_request", "client_id is missing");
  auto client = find_client(*client_id);
  if (!client)
    return page_error(req, "invalid_client", "the client is not registered");
  pending_request p;
  p.client_id = client->id;
  if (redirect != nullptr) {
    auto& uris = client->redirect_uris;
    if (std::none_of(uris.begin(), uris.end(), [&](const std::string& x) {
          return redirect_uri_matches(x, *redirect);
        }))
      return page_error(req, "invalid_request",
                        "redirect_uri is not registered for this client");
    p.redirect_uri = *redirect;
    p.redirect_given = true;
  } else if (client->redirect_uris.size() == 1) {
    p.redirect_uri = client->redirect_uris.front();
  } else {
    return page_error(req, "invalid_request", "redirect_uri is missing");
  }

  // From here on, errors go back to the client.
  p.state = value_or(q("state"));
  auto response_type = q("response_type");
  auto challenge = q("code_challenge");
  auto method = q("code_challenge_method");
  auto resource = q("resource");
  auto scope = q("scope");
  if (dup)
    return redirect_error(p, "invalid_request", "a parameter appears twice");
  if (response_type == nullptr || *response_type != "code")
    return redirect_error(p, "unsupported_response_type",
                          "response_type must be code");
  if (challenge == nullptr)
    return redirect_error(p, "invalid_request",
                          "code_challenge is required (PKCE with S256)");
  if (method == nullptr || *method != "S256")
    return redirect_error(p, "invalid_request",
                          "code_challenge_method must be S256");
  if (!crypto::valid_code_challenge(*challenge))
    return redirect_error(p, "invalid_request",
                          "code_challenge is not an S256 challenge");
  p.challenge = *challenge;
  p.resource = value_or(resource, public_url_);
  if (!resource_ok(p.resource))
    return redirect_error(p, "invalid_target",
                          "resource must be " + public_url_ +
                            " or a path below it");
  if (scope != nullptr) {
    auto scopes = split_scope(*scope);
    if (!scopes)
      return redirect_error(p, "invalid_scope", "scope is malformed");
    p.scope = join_scope(*scopes);
  } else {
    p.scope = join_scope(default_scopes(p.resource, cat));
  }

  // Then the person logs in.
  auto how = mode();
  if (how == login_mode::none)
    return redirect_error(p, "temporarily_unavailable",
                          "this node has no way to log in: configure an "
                          "upstream provider");
  make_room(p.client_id, now);
  auto id = crypto::random_token();
  p.expires_at = now + pending_ttl;
  if (how == login_mode::upstream) {
    auto& up = *cfg_.upstream;
    p.upstream_verifier = crypto::random_token();
    auto location = with_query(
      up.authorize_url,
      {{"client_id", up.client_id},
       {"redirect_uri", public_url_ + "/oauth/callback"},
       {"response_type", "code"},
       {"state", id},
       {"scope", up.scope},
       {"code_challenge", crypto::pkce_s256_challenge(p.upstream_verifier)},
       {"code_challenge_method", "S256"}});
    pending_.emplace(id, std::move(p));
    return redirect_reply(location);
  }
  pending_.emplace(id, std::move(p));
  if (link_hash_.empty() || link_expires_at_ <= now)
    print_login_link(now);
  auto res = html_reply(200, "Log in to Switchboard",
                        "Open the login link that this node printed on its "
                        "standard error (it starts with " +
                          public_url_ +
                          "/oauth/local) in this browser. It works once and "
                          "for 10 minutes.");
  res.headers.emplace_back("Set-Cookie", std::string{authz_cookie} + "=" + id +
                                           cookie_attributes() +
                                           "; Max-Age=600");
  return res;
}

// -- local login --------------------------------------------------------------

std::string auth_server::cookie_attributes() const {
  std::string result = "; Path=/oauth; HttpOnly; SameSite=Lax";
  if (public_url_.compare(0, 8, "https://") == 0)
    result += "; Secure";
  return result;
}

std::string auth_server::local_subject() const {
  auto user = env_("USER");
  return std::string{"local:"} +
         (user != nullptr && *user != '\0' ? user : "owner");
}

void auth_server::print_login_link(int64_t now) {
  auto token = crypto::random_token();
  link_hash_ = crypto::token_hash(token);
  link_expires_at_ = now + link_ttl;
  link_printed_ = true;
  print_("login link (single use, valid 10 minutes): " + public_url_ +
         "/oauth/local?token=" + token);
}

void auth_server::make_room(const std::string& client_id, int64_t now) {
  // One client holds a few waiting requests at most, and a full table
  // drops its oldest rather than refusing: a flood of requests cannot lock
  // the person out of logging in.
  auto oldest = [&](bool of_client) {
    auto result = pending_.end();
    for (auto i = pending_.begin(); i != pending_.end(); ++i)
      if ((!of_client || i->second.client_id == client_id) &&
          (result == pending_.end() ||
           i->second.expires_at < result->second.expires_at))
        result = i;
    return result;
  };
  auto of_client =
    std::count_if(pending_.begin(), pending_.end(), [&](const auto& x) {
      return x.second.client_id == client_id;
    });
  if (static_cast<size_t>(of_client) >= max_pending_per_client)
    pending_.erase(oldest(true));
  if (pending_.size() >= max_pending)
    maintain(now);
  if (pending_.size() >= max_pending)
    pending_.erase(oldest(false));
}

http_response auth_server::local_login(const http_request& req, int64_t now) {
  if (mode() != login_mode::local)
    return html_reply(404, "Not available",
                      "This node does not offer a local login.");
  auto token = find_field(req.query, "token");
  auto valid =
    token != nullptr && !link_hash_.empty() && now < link_expires_at_ &&
    crypto::constant_time_equal(crypto::token_hash(*token), link_hash_);
  if (!valid)
    return html_reply(403, "Login link refused",
                      "This login link is wrong, used or expired. Start the "
                      "authorization again for a new one on the node's "
                      "standard error.");
  link_hash_.clear();
  auto subject = local_subject();
  logger("auth")->info("local login subject={}", subject);

  // The link logs in for the authorization request that waits in this
  // browser, and for nothing after it: a login cookie would reach every
  // port of this host (cookies do not tell ports apart), a client's own
  // loopback redirect listener among them.
  std::string pending_id;
  if (auto header = find_field(req.headers, "cookie"))
    pending_id = cookie_value(*header, authz_cookie);
  auto i = pending_id.empty() ? pending_.end() : pending_.find(pending_id);
  if (i == pending_.end() || i->second.expires_at <= now ||
      !i->second.upstream_verifier.empty()) {
    return html_reply(200, "No request waits",
                      "The link was right, but no authorization request "
                      "waits in this browser. Start again from your "
                      "application; the node prints a new link.");
  }
  auto p = std::move(i->second);
  pending_.erase(i);
  return ask_consent(std::move(p), subject, now);
}

// -- consent ------------------------------------------------------------------

http_response auth_server::ask_consent(pending_request p,
                                       const std::string& subject,
                                       int64_t now) {
  // A client gets a code only when the person who logged in says so, here:
  // a page elsewhere cannot make a logged-in browser (or a provider that
  // remembers its grant) hand a code to a client of its choosing. The page
  // answers with a POST that carries the request's ID, which only this
  // browser has (in the page and in its cookie, which SameSite=Lax keeps
  // off other sites' POSTs).
  make_room(p.client_id, now);
  auto id = crypto::random_token();
  p.subject = subject;
  p.expires_at = now + pending_ttl;
  auto redirect = p.redirect_uri.substr(0, p.redirect_uri.find('?'));
  auto body =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Allow "
    "access?</title></head><body><h1>Allow access?</h1><p>You are logged in "
    "as <b>" +
    html_escape(subject) + "</b>. The application <b>" +
    html_escape(p.client_id) + "</b> asks for <b>" +
    html_escape(p.scope.empty() ? std::string{"(no scope)"} : p.scope) +
    "</b> on <b>" + html_escape(p.resource) +
    "</b>, and its answer goes to <b>" + html_escape(redirect) +
    "</b>.</p><form method=\"post\" action=\"" + html_escape(public_url_) +
    "/oauth/approve\"><input type=\"hidden\" name=\"request\" value=\"" + id +
    "\"><button name=\"decision\" value=\"allow\">Allow</button> "
    "<button name=\"decision\" value=\"deny\">Deny</button></form>"
    "</body></html>\n";
  pending_.emplace(id, std::move(p));
  auto res = html_reply(200, "Allow access?", "");
  res.body = std::move(body);
  // The form posts to this node only.
  for (auto& [name, value] : res.headers)
    if (name == "Content-Security-Policy")
      value = "default-src 'none'; form-action 'self'; frame-ancestors "
              "'none'";
  res.headers.emplace_back("Set-Cookie", std::string{authz_cookie} + "=" + id +
                                           cookie_attributes() +
                                           "; Max-Age=600");
  return res;
}

http_response auth_server::approve(const http_request& req, int64_t now) {
  auto refused = [&](const std::string& why) {
    return html_reply(400, "Not allowed", why);
  };
  auto type = find_field(req.headers, "content-type");
  if (type == nullptr ||
      type->compare(0, 33, "application/x-www-form-urlencoded") != 0)
    return refused("The answer must come from the consent page's form.");
  auto form = form_decode(req.body);
  if (!form)
    return refused("The form is malformed.");
  std::string id;
  std::string decision;
  for (auto& [key, value] : *form) {
    if (key == "request")
      id = value;
    else if (key == "decision")
      decision = value;
  }
  // The request must be the one this browser's cookie names.
  std::string cookie;
  if (auto header = find_field(req.headers, "cookie"))
    cookie = cookie_value(*header, authz_cookie);
  auto i = id.empty() ? pending_.end() : pending_.find(id);
  if (i == pending_.end() || cookie.empty() ||
      !crypto::constant_time_equal(cookie, id) || i->second.subject.empty() ||
      i->second.expires_at <= now)
    return refused("This request is unknown, expired or answered already. "
                   "Start again from your application.");
  auto p = std::move(i->second);
  pending_.erase(i);
  auto subject = std::move(p.subject);
  http_response res;
  if (decision == "allow") {
    res = issue_code(p, subject, now);
  } else {
    logger("auth")->info("access denied by the person client_id={} "
                         "subject={}",
                         p.client_id, subject);
    res = redirect_error(p, "access_denied", "the person denied access");
  }
  res.headers.emplace_back("Set-Cookie", std::string{authz_cookie} + "=" +
                                           cookie_attributes() + "; Max-Age=0");
  return res;
}

// -- upstream login -----------------------------------------------------------

std::variant<http_response, callback_job>
auth_server::begin_callback(const http_request& req, int64_t now) {
  auto state = find_field(req.query, "state");
  auto i = state == nullptr ? pending_.end() : pending_.find(*state);
  if (i == pending_.end() || i->second.expires_at <= now ||
      i->second.upstream_verifier.empty() || !cfg_.upstream)
    return html_reply(400, "Login failed",
                      "This login is unknown or expired. Start again from "
                      "your application.");
  auto p = std::move(i->second);
  pending_.erase(i);
  auto code = find_field(req.query, "code");
  if (code == nullptr || code->empty()) {
    logger("auth")->info("upstream login refused client_id={}", p.client_id);
    return redirect_error(p, "access_denied",
                          "the login at the provider did not succeed");
  }
  callback_job job;
  job.request = std::move(p);
  job.code = *code;
  return job;
}

http_response auth_server::finish_callback(const callback_job& job,
                                           const upstream_identity& who,
                                           int64_t now) {
  auto p = job.request;
  // Spent at the provider: the request's ID no longer serves a callback.
  p.upstream_verifier.clear();
  auto log = logger("auth");
  if (!who.error.empty()) {
    log->warn("upstream login failed client_id={} error={}", p.client_id,
              who.error);
    return redirect_error(p, "server_error",
                          "the provider could not confirm the login");
  }

  // The allow-list: a login, or the domain of a verified address.
  bool allowed = false;
  for (auto& x : cfg_.allow_logins)
    allowed = allowed || ascii_lowered(x) == ascii_lowered(who.login);
  for (auto& mail : who.verified_emails) {
    auto at = mail.rfind('@');
    if (at == std::string::npos)
      continue;
    auto domain = ascii_lowered(mail.substr(at + 1));
    for (auto& x : cfg_.allow_domains)
      allowed = allowed || ascii_lowered(x) == domain;
  }
  // Logins are case-insensitive at the providers: one person, one subject.
  auto subject = cfg_.upstream->name + ":" + ascii_lowered(who.login);
  if (!allowed) {
    log->info("login not allowed subject={} client_id={}", subject,
              p.client_id);
    return redirect_error(p, "access_denied",
                          "this account may not use this node");
  }
  log->info("upstream login subject={}", subject);
  return ask_consent(std::move(p), subject, now);
}

// -- tokens -------------------------------------------------------------------

std::optional<std::string>
auth_server::access_token(const std::string& client_id,
                          const std::string& subject, const std::string& scope,
                          const std::string& resource, int64_t now) const {
  auto key = current_key();
  if (key == nullptr)
    return std::nullopt;
  nlohmann::ordered_json claims = {
    {"iss", public_url_},
    {"sub", subject},
    {"aud", resource},
    {"client_id", client_id},
    {"scope", scope},
    {"iat", now},
    {"exp", now + int64_t{cfg_.access_token_ttl_s}},
    {"jti", crypto::random_token(16)}};
  return crypto::sign_jwt(key->key, claims);
}

http_response auth_server::issue_tokens(const client_info& client,
                                        const std::string& subject,
                                        const std::string& scope,
                                        const std::string& resource,
                                        std::string* family, int64_t now,
                                        std::optional<std::string> refresh) {
  auto access = access_token(client.id, subject, scope, resource, now);
  if (!access)
    return oauth_error(500, "server_error", "cannot sign the access token");
  json body = {{"access_token", *access},
               {"token_type", "Bearer"},
               {"expires_in", cfg_.access_token_ttl_s},
               {"scope", scope}};
  if (refresh) {
    body["refresh_token"] = *refresh;
  } else if (family != nullptr &&
             contains(client.grant_types, "refresh_token")) {
    // A new grant: the first refresh token of a new family.
    crypto::refresh_token rt;
    auto token = crypto::random_token();
    rt.token_hash = crypto::token_hash(token);
    rt.family_id = crypto::random_token(16);
    rt.client_id = client.id;
    rt.subject = subject;
    rt.scope = scope;
    rt.resource = resource;
    rt.issued_at = now;
    rt.expires_at = now + int64_t{cfg_.refresh_token_ttl_days} * 86400;
    if (auto err = store_.insert_refresh_token(rt); !err.empty()) {
      logger("auth")->error("cannot store a refresh token error={}", err);
      return oauth_error(500, "server_error", "cannot store the grant");
    }
    *family = rt.family_id;
    body["refresh_token"] = token;
  }
  return no_store_reply(200, body);
}

http_response auth_server::token(const http_request& req, int64_t now) {
  auto form = form_decode(req.body);
  if (!form)
    return oauth_error(400, "invalid_request", "the body is not a form");
  bool dup = false;
  auto f = [&](const char* name) {
    return single(*form, name, dup);
  };
  auto grant_type = f("grant_type");
  auto form_id = f("client_id");
  auto form_secret = f("client_secret");
  if (dup)
    return oauth_error(400, "invalid_request", "a parameter appears twice");

  // The client: HTTP Basic, a secret in the form, or a public client's ID.
  std::optional<std::pair<std::string, std::string>> basic;
  if (auto header = find_field(req.headers, "authorization"))
    basic = basic_credentials(*header);
  auto refuse_client = [&](const std::string& why) {
    auto res = oauth_error(401, "invalid_client", why);
    if (basic)
      res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"oauth\"");
    return res;
  };
  if (basic && form_secret != nullptr)
    return oauth_error(400, "invalid_request",
                       "use one way to authenticate the client");
  std::string id = basic ? basic->first : value_or(form_id);
  if (basic && form_id != nullptr && *form_id != id)
    return refuse_client("client_id differs from the credentials");
  const std::string* secret = basic ? &basic->second : form_secret;
  auto client = find_client(id);
  if (!client)
    return refuse_client("unknown client");
  if (client->secret_hash) {
    if (secret == nullptr ||
        !crypto::constant_time_equal(crypto::token_hash(*secret),
                                     *client->secret_hash))
      return refuse_client("wrong or missing client secret");
  } else if (secret != nullptr) {
    return refuse_client("a public client has no secret");
  }

  if (grant_type == nullptr)
    return oauth_error(400, "invalid_request", "grant_type is missing");
  if (!contains(client->grant_types, *grant_type))
    return oauth_error(400, "unauthorized_client",
                       "the client did not register this grant type");

  // The authorization code grant.
  if (*grant_type == "authorization_code") {
    auto code = f("code");
    auto verifier = f("code_verifier");
    auto redirect = f("redirect_uri");
    auto resource = f("resource");
    if (dup)
      return oauth_error(400, "invalid_request", "a parameter appears twice");
    if (code == nullptr)
      return oauth_error(400, "invalid_request", "code is missing");
    auto i = codes_.find(crypto::token_hash(*code));
    if (i == codes_.end() || i->second.expires_at <= now)
      return oauth_error(400, "invalid_grant", "unknown or expired code");
    auto& grant = i->second;
    if (grant.req.client_id != client->id)
      return oauth_error(400, "invalid_grant", "the code is not for you");
    if (grant.used) {
      // A replayed code: the tokens it gave are suspect too.
      size_t revoked = 0;
      if (!grant.family_id.empty())
        (void)store_.revoke_family(grant.family_id, revoked);
      logger("auth")->warn("code replayed client_id={} revoked={}", client->id,
                           revoked);
      return oauth_error(400, "invalid_grant", "the code was used already");
    }
    grant.used = true;
    if (grant.req.redirect_given
          ? (redirect == nullptr || *redirect != grant.req.redirect_uri)
          : (redirect != nullptr && *redirect != grant.req.redirect_uri))
      return oauth_error(400, "invalid_grant",
                         "redirect_uri differs from the authorization request");
    if (verifier == nullptr)
      return oauth_error(400, "invalid_request", "code_verifier is missing");
    if (!crypto::pkce_s256_matches(*verifier, grant.req.challenge))
      return oauth_error(400, "invalid_grant",
                         "code_verifier does not match the challenge");
    if (resource != nullptr && *resource != grant.req.resource)
      return oauth_error(400, "invalid_target",
                         "resource differs from the authorization request");
    logger("auth")->info("tokens issued client_id={} subject={}", client->id,
                         grant.subject);
    return issue_tokens(*client, grant.subject, grant.req.scope,
                        grant.req.resource, &grant.family_id, now,
                        std::nullopt);
  }

  // The refresh token grant: rotate, detect reuse, narrow the scope.
  if (*grant_type == "refresh_token") {
    auto token = f("refresh_token");
    auto scope = f("scope");
    auto resource = f("resource");
    if (dup)
      return oauth_error(400, "invalid_request", "a parameter appears twice");
    if (token == nullptr)
      return oauth_error(400, "invalid_request", "refresh_token is missing");
    auto hash = crypto::token_hash(*token);
    std::optional<crypto::refresh_token> old;
    if (auto err = store_.find_refresh_token(hash, old); !err.empty()) {
      logger("auth")->error("cannot read refresh tokens error={}", err);
      return oauth_error(500, "server_error", "the token store failed");
    }
    if (!old)
      return oauth_error(400, "invalid_grant", "unknown refresh token");
    auto granted = split_scope(old->scope).value_or(std::vector<std::string>{});
    auto new_scope = old->scope;
    if (scope != nullptr) {
      auto asked = split_scope(*scope);
      if (!asked || std::any_of(asked->begin(), asked->end(),
                                [&](auto& x) { return !contains(granted, x); }))
        return oauth_error(400, "invalid_scope",
                           "scope may only narrow the grant");
      new_scope = join_scope(*asked);
    }
    if (resource != nullptr && *resource != old->resource)
      return oauth_error(400, "invalid_target",
                         "resource differs from the grant");
    crypto::successor_token next;
    auto fresh = crypto::random_token();
    next.token_hash = crypto::token_hash(fresh);
    next.issued_at = now;
    next.expires_at = now + int64_t{cfg_.refresh_token_ttl_days} * 86400;
    crypto::rotate_result out;
    if (auto err =
          store_.rotate_refresh_token(hash, client->id, next, now, out);
        !err.empty()) {
      logger("auth")->error("cannot rotate a refresh token error={}", err);
      return oauth_error(500, "server_error", "the token store failed");
    }
    if (out.status == crypto::rotate_status::reused)
      logger("auth")->warn("refresh token reused, family revoked client_id={} "
                           "subject={} revoked={}",
                           client->id, out.old.subject, out.revoked);
    if (out.status != crypto::rotate_status::rotated)
      return oauth_error(400, "invalid_grant",
                         std::string{"the refresh token is "} +
                           crypto::to_string(out.status));
    return issue_tokens(*client, out.old.subject, new_scope, out.old.resource,
                        nullptr, now, fresh);
  }
  return oauth_error(400, "unsupported_grant_type",
                     "grant_type must be authorization_code or refresh_token");
}

http_response auth_server::revoke(const http_request& req, int64_t) {
  auto form = form_decode(req.body);
  if (!form)
    return oauth_error(400, "invalid_request", "the body is not a form");
  bool dup = false;
  auto token = single(*form, "token", dup);
  auto form_id = single(*form, "client_id", dup);
  auto form_secret = single(*form, "client_secret", dup);
  if (dup)
    return oauth_error(400, "invalid_request", "a parameter appears twice");
  std::optional<std::pair<std::string, std::string>> basic;
  if (auto header = find_field(req.headers, "authorization"))
    basic = basic_credentials(*header);
  std::string id = basic ? basic->first : value_or(form_id);
  const std::string* secret = basic ? &basic->second : form_secret;
  auto client = find_client(id);
  auto ok_secret =
    client && (client->secret_hash
                 ? secret != nullptr &&
                     crypto::constant_time_equal(crypto::token_hash(*secret),
                                                 *client->secret_hash)
                 : secret == nullptr);
  if (!ok_secret)
    return oauth_error(401, "invalid_client", "unknown client or wrong secret");
  if (token == nullptr)
    return oauth_error(400, "invalid_request", "token is missing");
  crypto::revoke_status status = crypto::revoke_status::unknown;
  if (auto err = store_.revoke_refresh_token(crypto::token_hash(*token),
                                             client->id, status);
      !err.empty()) {
    logger("auth")->error("cannot revoke a refresh token error={}", err);
    return oauth_error(500, "server_error", "the token store failed");
  }
  if (status == crypto::revoke_status::wrong_client)
    return oauth_error(400, "unauthorized_client",
                       "the token belongs to another client");
  if (status == crypto::revoke_status::revoked)
    logger("auth")->info("grant revoked client_id={}", client->id);
  // Access tokens and unknown tokens: 200 as well (RFC 7009 section 2.2).
  http_response res;
  res.status = 200;
  res.content_type.clear();
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

} // namespace sb::modules::auth
