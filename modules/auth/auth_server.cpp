// The authorization server: keys, metadata, client registration and the
// token check. The flows (authorize, login, token, revoke) are in
// auth_flow.cpp.

#include "modules/auth/auth_server.hpp"

#include <algorithm>

#include "actors/log.hpp"
#include "modules/auth/base64url.hpp"
#include "modules/auth/jwt.hpp"
#include "modules/auth/oauth_reply.hpp"
#include "modules/auth/oauth_text.hpp"
#include "modules/auth/secrets.hpp"
#include "modules/common/json_text.hpp"

namespace sb::modules::auth {

namespace crypto = sb::auth;

namespace {

/// Context names as the MCP handler takes them: 1 to 64 of a-z, 0-9, '-'
/// and '_'.
bool valid_context_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

constexpr int64_t day = 86400;
constexpr size_t max_registration_body = 16 * 1024;
constexpr size_t max_redirect_uris = 10;
constexpr size_t max_client_name = 200;
constexpr size_t max_verified_cache = 4096;

const char* const well_known_resource = "/.well-known/oauth-protected-resource";

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// The unverified `aud` of a token, to pick the audience its signature is
/// then checked against; empty if the token has no readable claims.
std::vector<std::string> peek_audiences(const std::string& token) {
  std::vector<std::string> result;
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    return result;
  auto payload = crypto::base64url_decode(
    std::string_view{token}.substr(first + 1, second - first - 1));
  if (!payload)
    return result;
  json claims;
  if (!read_json(*payload, claims, crypto::max_jwt_depth).empty() ||
      !claims.is_object() || !claims.contains("aud"))
    return result;
  auto& aud = claims["aud"];
  if (aud.is_string())
    result.push_back(aud.get<std::string>());
  else if (aud.is_array())
    for (auto& x : aud)
      if (x.is_string())
        result.push_back(x.get<std::string>());
  return result;
}

} // namespace

std::vector<std::string> scope_catalog::all() const {
  std::vector<std::string> result;
  for (auto& x : contexts)
    if (!contains(result, mcp_scope(x)))
      result.push_back(mcp_scope(x));
  for (auto& x : route_scopes)
    if (!contains(result, x))
      result.push_back(x);
  return result;
}

auth_server::auth_server(auth_settings cfg,
                         std::function<void(const std::string&)> print,
                         env_lookup env)
    : cfg_(std::move(cfg))
    , print_(std::move(print))
    , env_(std::move(env)) {
  // nop
}

// -- keys ---------------------------------------------------------------------

std::string auth_server::open(int64_t now) {
  std::string warning;
  if (auto err = store_.open(cfg_.database, warning); !err.empty())
    return "cannot open the auth database: " + err;
  if (!warning.empty())
    logger("auth")->warn("{}", warning);
  maintain(now);
  if (current_key() == nullptr)
    return "no signing key";
  return {};
}

std::string auth_server::load_keys() {
  std::vector<crypto::stored_key> stored;
  if (auto err = store_.list_signing_keys(stored); !err.empty())
    return err;
  keys_.clear();
  for (auto& x : stored) {
    std::string why;
    auto key = crypto::signing_key::from_pem(x.private_key_pem, why);
    if (!key) {
      logger("auth")->error("unreadable signing key kid={} error={}", x.kid,
                            why);
      continue;
    }
    keys_.push_back({std::move(*key), x.created_at, x.retired_at});
  }
  return {};
}

const auth_server::key_entry* auth_server::current_key() const {
  for (auto& x : keys_)
    if (!x.retired_at)
      return &x;
  return nullptr;
}

void auth_server::maintain(int64_t now) {
  auto log = logger("auth");
  if (!store_.is_open())
    return;
  if (auto err = load_keys(); !err.empty()) {
    log->error("cannot read the signing keys error={}", err);
    return;
  }

  // One key signs: the newest that is not retired, while it is young enough.
  bool found = false;
  const key_entry* current = nullptr;
  for (auto& x : keys_) {
    if (x.retired_at)
      continue;
    if (current == nullptr &&
        now - x.created_at < int64_t{cfg_.key_rotation_days} * day) {
      current = &x;
      continue;
    }
    if (auto err = store_.retire_signing_key(x.key.kid(), now, found);
        !err.empty())
      log->error("cannot retire a signing key error={}", err);
    else
      log->info("signing key retired kid={}", x.key.kid());
  }
  if (current == nullptr) {
    try {
      auto key = crypto::signing_key::generate();
      if (auto err = store_.add_signing_key(key.kid(), key.to_pem(), now);
          !err.empty())
        log->error("cannot store a new signing key error={}", err);
      else
        log->info("new signing key kid={}", key.kid());
    } catch (const std::exception& ex) {
      log->error("cannot make a signing key error={}", ex.what());
    }
  }

  // A retired key goes once every token it signed has expired.
  size_t deleted = 0;
  auto before = now - int64_t{cfg_.access_token_ttl_s} - leeway;
  if (auto err = store_.delete_retired_signing_keys(before, deleted);
      !err.empty())
    log->error("cannot delete retired keys error={}", err);
  size_t purged = 0;
  if (auto err = store_.purge_expired_refresh_tokens(now, purged); !err.empty())
    log->error("cannot purge refresh tokens error={}", err);
  if (auto err = load_keys(); !err.empty())
    log->error("cannot read the signing keys error={}", err);

  // Forget what expired in memory.
  for (auto i = pending_.begin(); i != pending_.end();)
    i = i->second.expires_at <= now ? pending_.erase(i) : std::next(i);
  for (auto i = codes_.begin(); i != codes_.end();)
    i = i->second.expires_at <= now ? codes_.erase(i) : std::next(i);
  for (auto i = verified_.begin(); i != verified_.end();)
    i = i->second.expires_at <= now ? verified_.erase(i) : std::next(i);
}

// -- the public URL -----------------------------------------------------------

void auth_server::set_public_url(std::string url, int64_t now) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  public_url_ = std::move(url);
  if (mode() == login_mode::local && !link_printed_)
    print_login_link(now);
}

login_mode auth_server::mode() const noexcept {
  if (cfg_.upstream)
    return login_mode::upstream;
  auto parts = parse_uri(public_url_);
  if (!parts)
    return login_mode::none;
  auto& host = parts->host;
  if (host == "localhost" || host == "[::1]" || host.compare(0, 4, "127.") == 0)
    return login_mode::local;
  return login_mode::none;
}

// -- metadata -----------------------------------------------------------------

http_response
auth_server::authorization_server_metadata(const scope_catalog& cat) const {
  auto& base = public_url_;
  return json_reply(
    200, {{"issuer", base},
          {"authorization_endpoint", base + "/oauth/authorize"},
          {"token_endpoint", base + "/oauth/token"},
          {"registration_endpoint", base + "/oauth/register"},
          {"revocation_endpoint", base + "/oauth/revoke"},
          {"jwks_uri", base + "/oauth/jwks"},
          {"response_types_supported", {"code"}},
          {"grant_types_supported", {"authorization_code", "refresh_token"}},
          {"code_challenge_methods_supported", {"S256"}},
          {"token_endpoint_auth_methods_supported",
           {"none", "client_secret_basic", "client_secret_post"}},
          {"revocation_endpoint_auth_methods_supported",
           {"none", "client_secret_basic", "client_secret_post"}},
          {"scopes_supported", cat.all()},
          {"authorization_response_iss_parameter_supported", true}});
}

http_response
auth_server::protected_resource_metadata(const http_request& req,
                                         const scope_catalog& cat) const {
  // The path after the well-known prefix: "", "/mcp" or "/mcp/<context>".
  std::string rest;
  std::vector<std::string> scopes;
  auto tail = find_field(req.params, "rest");
  std::vector<std::string> segs;
  if (tail != nullptr && !tail->empty()) {
    size_t pos = 0;
    while (pos <= tail->size()) {
      auto end = tail->find('/', pos);
      if (end == std::string::npos)
        end = tail->size();
      segs.push_back(tail->substr(pos, end - pos));
      pos = end + 1;
    }
  }
  if (segs.empty()) {
    scopes = cat.all();
  } else if (segs.size() == 1 && segs[0] == "mcp") {
    rest = "/mcp";
    for (auto& x : cat.contexts)
      if (!contains(scopes, mcp_scope(x)))
        scopes.push_back(mcp_scope(x));
  } else if (segs.size() == 2 && segs[0] == "mcp" &&
             valid_context_name(segs[1])) {
    rest = "/mcp/" + segs[1];
    scopes.push_back(mcp_scope(segs[1]));
  } else {
    return error_reply(404, "not_found", "no protected resource at this path");
  }
  return json_reply(200, {{"resource", public_url_ + rest},
                          {"authorization_servers", {public_url_}},
                          {"bearer_methods_supported", {"header"}},
                          {"scopes_supported", scopes}});
}

http_response auth_server::jwks() const {
  auto keys = json::array();
  for (auto& x : keys_)
    keys.push_back(x.key.public_jwk());
  auto res = json_reply(200, {{"keys", std::move(keys)}});
  res.headers.emplace_back("Cache-Control", "max-age=300");
  return res;
}

// -- registration -------------------------------------------------------------

http_response auth_server::register_client(const http_request& req,
                                           int64_t now) {
  auto bad = [](const std::string& description) {
    return oauth_error(400, "invalid_client_metadata", description);
  };

  // Limits first: the rate over all callers, then the size.
  while (!registrations_.empty() && registrations_.front() <= now - 60)
    registrations_.pop_front();
  if (registrations_.size() >= cfg_.registrations_per_minute) {
    auto wait = std::max<int64_t>(1, registrations_.front() + 60 - now);
    auto res = oauth_error(429, "temporarily_unavailable",
                           "too many registrations; try again later");
    res.headers.emplace_back("Retry-After", std::to_string(wait));
    return res;
  }
  if (req.body.size() > max_registration_body)
    return oauth_error(413, "invalid_client_metadata",
                       "the body is larger than 16 KiB");
  json body;
  if (auto problem = read_json(req.body, body, 8); !problem.empty())
    return bad("the body is not JSON: " + problem);
  if (!body.is_object())
    return bad("the body must be a JSON object");

  // redirect_uris: required, 1 to 10 acceptable URIs.
  if (!body.contains("redirect_uris") || !body["redirect_uris"].is_array())
    return oauth_error(400, "invalid_redirect_uri",
                       "redirect_uris is required: a list of URIs");
  auto& uris = body["redirect_uris"];
  if (uris.empty() || uris.size() > max_redirect_uris)
    return oauth_error(400, "invalid_redirect_uri",
                       "redirect_uris must hold 1 to 10 URIs");
  std::vector<std::string> redirect_uris;
  for (auto& x : uris) {
    if (!x.is_string())
      return oauth_error(400, "invalid_redirect_uri",
                         "redirect_uris must hold strings");
    auto uri = x.get<std::string>();
    if (auto problem = redirect_uri_problem(uri); !problem.empty())
      return oauth_error(400, "invalid_redirect_uri", problem);
    if (!contains(redirect_uris, uri))
      redirect_uris.push_back(std::move(uri));
  }

  // The other metadata we know; unknown members are ignored (RFC 7591 2).
  std::string method = "none";
  if (body.contains("token_endpoint_auth_method")) {
    auto& x = body["token_endpoint_auth_method"];
    if (!x.is_string() || (x != "none" && x != "client_secret_basic" &&
                           x != "client_secret_post"))
      return bad("token_endpoint_auth_method must be none, "
                 "client_secret_basic or client_secret_post");
    method = x.get<std::string>();
  }
  auto read_set = [&](const char* key, std::vector<std::string> allowed,
                      std::vector<std::string>& out) -> std::string {
    if (!body.contains(key))
      return {};
    auto& x = body[key];
    if (!x.is_array())
      return std::string{key} + " must be a list of strings";
    out.clear();
    for (auto& item : x) {
      if (!item.is_string() || !contains(allowed, item.get<std::string>()))
        return std::string{key} + " may hold only " + join_scope(allowed);
      if (!contains(out, item.get<std::string>()))
        out.push_back(item.get<std::string>());
    }
    return {};
  };
  std::vector<std::string> grant_types{"authorization_code", "refresh_token"};
  std::vector<std::string> response_types{"code"};
  if (auto err = read_set("grant_types",
                          {"authorization_code", "refresh_token"}, grant_types);
      !err.empty())
    return bad(err);
  if (auto err = read_set("response_types", {"code"}, response_types);
      !err.empty())
    return bad(err);
  std::string name;
  if (body.contains("client_name")) {
    auto& x = body["client_name"];
    if (!x.is_string() || count_chars(x.get<std::string>()) > max_client_name)
      return bad("client_name must be a string of at most 200 characters");
    name = x.get<std::string>();
  }

  // Room in the store.
  size_t count = 0;
  if (auto err = store_.count_clients(count); !err.empty()) {
    logger("auth")->error("cannot count clients error={}", err);
    return oauth_error(500, "server_error", "the client store failed");
  }
  if (count >= cfg_.max_clients)
    return oauth_error(507, "server_error",
                       "the client store is full; no more registrations");

  // The client.
  json info = {{"client_id", crypto::random_token(16)},
               {"client_id_issued_at", now},
               {"redirect_uris", redirect_uris},
               {"token_endpoint_auth_method", method},
               {"grant_types", grant_types},
               {"response_types", response_types}};
  if (!name.empty())
    info["client_name"] = name;
  crypto::client_record rec;
  rec.client_id = info["client_id"].get<std::string>();
  rec.metadata = info.dump(-1, ' ', false, json::error_handler_t::replace);
  rec.created_at = now;
  std::string secret;
  if (method != "none") {
    secret = crypto::random_token();
    rec.client_secret_hash = crypto::token_hash(secret);
  }
  if (auto err = store_.insert_client(rec); !err.empty()) {
    logger("auth")->error("cannot store a client error={}", err);
    return oauth_error(500, "server_error", "the client store failed");
  }
  registrations_.push_back(now);
  logger("auth")->info("client registered client_id={}", rec.client_id);
  if (!secret.empty()) {
    info["client_secret"] = secret;
    info["client_secret_expires_at"] = 0;
  }
  return no_store_reply(201, info);
}

std::optional<auth_server::client_info>
auth_server::find_client(const std::string& id) {
  std::optional<crypto::client_record> rec;
  if (id.empty() || !store_.find_client(id, rec).empty() || !rec)
    return std::nullopt;
  json meta;
  if (!read_json(rec->metadata, meta, 8).empty() || !meta.is_object())
    return std::nullopt;
  client_info result;
  result.id = id;
  result.secret_hash = rec->client_secret_hash;
  try {
    result.redirect_uris =
      meta.value("redirect_uris", std::vector<std::string>{});
    result.grant_types = meta.value("grant_types", std::vector<std::string>{});
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return result;
}

// -- resources and scopes
// ------------------------------------------------------

bool auth_server::resource_ok(const std::string& resource) const {
  if (resource == public_url_)
    return true;
  if (resource.size() <= public_url_.size() + 1 ||
      resource.compare(0, public_url_.size(), public_url_) != 0 ||
      resource[public_url_.size()] != '/')
    return false;
  auto path = std::string_view{resource}.substr(public_url_.size());
  for (auto c : path)
    if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#')
      return false;
  return true;
}

std::vector<std::string>
auth_server::default_scopes(const std::string& resource,
                            const scope_catalog& cat) const {
  auto path = resource.substr(public_url_.size());
  if (path.compare(0, 5, "/mcp/") == 0 && path.size() > 5 &&
      path.find('/', 5) == std::string::npos)
    return {mcp_scope(path.substr(5))};
  if (path == "/mcp") {
    scope_catalog mcp_only{cat.contexts, {}};
    return mcp_only.all();
  }
  return cat.all();
}

// -- the token check ----------------------------------------------------------

std::string
auth_server::resource_metadata_url(const std::string& resource) const {
  auto path = resource == "/" ? std::string{} : resource;
  return public_url_ + well_known_resource + path;
}

auth_verdict auth_server::refuse(uint16_t status, const auth_check& req,
                                 const std::string& error,
                                 std::string message) const {
  auth_verdict result;
  result.status = status;
  result.message = std::move(message);
  auto scope = join_scope(req.scopes);
  auto metadata =
    "resource_metadata=\"" + resource_metadata_url(req.resource) + "\"";
  if (status == 403) {
    result.challenge = "Bearer error=\"insufficient_scope\", scope=\"" + scope +
                       "\", " + metadata;
    return result;
  }
  result.challenge = "Bearer ";
  if (!error.empty())
    result.challenge += "error=\"" + error + "\", ";
  result.challenge += metadata;
  if (!scope.empty())
    result.challenge += ", scope=\"" + scope + "\"";
  return result;
}

auth_verdict auth_server::check(const auth_check& req, int64_t now) {
  if (req.token.empty())
    return refuse(401, req, {}, "a bearer token is required");
  if (public_url_.empty())
    return refuse(401, req, "invalid_token", "the issuer is not known yet");

  // The URL of the resource; a token for it or for a path above it serves.
  auto path = req.resource == "/" ? std::string{} : req.resource;
  auto target = public_url_ + path;
  auto serves = [&](const std::string& aud) {
    return aud.size() >= public_url_.size() &&
           target.compare(0, aud.size(), aud) == 0 &&
           (aud.size() == target.size() || target[aud.size()] == '/') &&
           (aud.size() == public_url_.size() || aud[public_url_.size()] == '/');
  };

  // A token seen before skips the signature check until it expires.
  auto hash = crypto::token_hash(req.token);
  auto i = verified_.find(hash);
  if (i != verified_.end() && i->second.expires_at + leeway <= now) {
    verified_.erase(i);
    i = verified_.end();
  }
  if (i == verified_.end()) {
    auto audiences = peek_audiences(req.token);
    if (audiences.empty())
      return refuse(401, req, "invalid_token",
                    "the token is malformed: not a token this server "
                    "issues");
    std::string audience;
    for (auto& aud : audiences)
      if (serves(aud)) {
        audience = aud;
        break;
      }
    if (audience.empty())
      return refuse(401, req, "invalid_token",
                    "the token is not for this resource");
    crypto::jwt_expectations expect;
    expect.issuer = public_url_;
    expect.audience = audience;
    expect.now = now;
    expect.leeway = leeway;
    crypto::key_lookup keys =
      [this](const std::string& kid) -> std::optional<crypto::public_key> {
      for (auto& x : keys_)
        if (x.key.kid() == kid)
          return x.key.public_part();
      return std::nullopt;
    };
    auto res = crypto::verify_jwt(req.token, keys, expect);
    if (!res)
      return refuse(401, req, "invalid_token",
                    std::string{"the token is invalid: "} +
                      crypto::to_string(res.error));
    verified_token entry;
    auto& claims = res.claims;
    auto str = [&](const char* key) {
      return claims.contains(key) && claims[key].is_string()
               ? claims[key].get<std::string>()
               : std::string{};
    };
    entry.who.subject = str("sub");
    entry.who.client_id = str("client_id");
    if (auto scopes = split_scope(str("scope")))
      entry.who.scopes = std::move(*scopes);
    entry.audiences = peek_audiences(req.token);
    auto& exp = claims["exp"];
    entry.expires_at = exp.is_number_integer()
                         ? exp.get<int64_t>()
                         : static_cast<int64_t>(exp.get<double>());
    if (entry.who.subject.empty())
      return refuse(401, req, "invalid_token", "the token names no subject");
    if (verified_.size() >= max_verified_cache) {
      for (auto j = verified_.begin(); j != verified_.end();)
        j = j->second.expires_at <= now ? verified_.erase(j) : std::next(j);
      if (verified_.size() >= max_verified_cache)
        verified_.clear();
    }
    i = verified_.emplace(hash, std::move(entry)).first;
  } else if (std::none_of(i->second.audiences.begin(),
                          i->second.audiences.end(), serves)) {
    return refuse(401, req, "invalid_token",
                  "the token is not for this resource");
  }

  // Every scope the resource requires.
  auto& entry = i->second;
  for (auto& x : req.scopes)
    if (!contains(entry.who.scopes, x))
      return refuse(403, req, "insufficient_scope",
                    "the token lacks the scope " + x);
  auth_verdict result;
  result.status = 200;
  result.who = entry.who;
  return result;
}

} // namespace sb::modules::auth
