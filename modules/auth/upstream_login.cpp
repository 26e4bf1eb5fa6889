#include "modules/auth/upstream_login.hpp"

#include <nlohmann/json.hpp>

#include "modules/common/json_text.hpp"

namespace sb::modules::auth {

namespace {

using json = nlohmann::ordered_json;

constexpr uint32_t call_timeout_ms = 10000;
constexpr size_t max_answer_bytes = 256 * 1024;

/// Calls the provider and reads a JSON answer of status 200, or says what
/// went wrong in `error`.
json call_json(const fetch_function& fetch, const fetch_request& req,
               const upstream_settings& up, const char* what,
               std::string& error) {
  fetch_options opts;
  opts.timeout_ms = call_timeout_ms;
  opts.max_body = max_answer_bytes;
  opts.ca_file = up.ca_file;
  auto res = fetch(req, opts);
  if (!res.ok()) {
    error = std::string{what} + " failed: " + res.error;
    return {};
  }
  if (res.status != 200) {
    error =
      std::string{what} + " answered status " + std::to_string(res.status);
    return {};
  }
  json body;
  if (auto problem = read_json(res.body, body, 16); !problem.empty()) {
    error = std::string{what} + " answered no JSON: " + problem;
    return {};
  }
  return body;
}

} // namespace

upstream_identity fetch_identity(const upstream_settings& up,
                                 const std::string& redirect_uri,
                                 const std::string& code,
                                 const std::string& verifier,
                                 const fetch_function& fetch) {
  upstream_identity result;

  // The code for the provider's access token.
  fetch_request req;
  req.method = "POST";
  req.url = up.token_url;
  req.headers = {{"Accept", "application/json"},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = form_encode({{"grant_type", "authorization_code"},
                          {"code", code},
                          {"redirect_uri", redirect_uri},
                          {"client_id", up.client_id},
                          {"client_secret", up.client_secret},
                          {"code_verifier", verifier}});
  auto tok = call_json(fetch, req, up, "token exchange", result.error);
  if (!result.error.empty())
    return result;
  if (!tok.is_object() || !tok.contains("access_token") ||
      !tok["access_token"].is_string()) {
    result.error = "token exchange refused";
    if (tok.is_object() && tok.contains("error") && tok["error"].is_string())
      result.error += ": " + tok["error"].get<std::string>();
    return result;
  }
  auto bearer = "Bearer " + tok["access_token"].get<std::string>();

  // Who logged in.
  fetch_request who;
  who.url = up.userinfo_url;
  who.headers = {{"Accept", "application/json"}, {"Authorization", bearer}};
  auto info = call_json(fetch, who, up, "userinfo", result.error);
  if (!result.error.empty())
    return result;
  if (!info.is_object() || !info.contains(up.login_claim) ||
      !info[up.login_claim].is_string() ||
      info[up.login_claim].get<std::string>().empty()) {
    result.error = "userinfo has no string " + up.login_claim;
    return result;
  }
  result.login = info[up.login_claim].get<std::string>();

  // Verified addresses, for the domain allow-list.
  if (up.emails_url.empty()) {
    if (info.contains("email") && info["email"].is_string() &&
        info.contains("email_verified") && info["email_verified"] == true)
      result.verified_emails.push_back(info["email"].get<std::string>());
    return result;
  }
  fetch_request mails;
  mails.url = up.emails_url;
  mails.headers = who.headers;
  std::string mail_error;
  auto list = call_json(fetch, mails, up, "emails", mail_error);
  // Without the list, the login alone decides.
  if (!mail_error.empty() || !list.is_array())
    return result;
  for (auto& x : list)
    if (x.is_object() && x.contains("email") && x["email"].is_string() &&
        x.contains("verified") && x["verified"] == true)
      result.verified_emails.push_back(x["email"].get<std::string>());
  return result;
}

} // namespace sb::modules::auth
