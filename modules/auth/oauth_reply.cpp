#include "modules/auth/oauth_reply.hpp"

#include "modules/auth/oauth_text.hpp"

namespace sb::modules::auth {

http_response no_store_reply(uint16_t status, const json& body) {
  auto res = json_reply(status, body);
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("Pragma", "no-cache");
  return res;
}

http_response oauth_error(uint16_t status, const std::string& error,
                          const std::string& description) {
  return no_store_reply(status,
                        {{"error", error}, {"error_description", description}});
}

http_response html_reply(uint16_t status, const std::string& title,
                         const std::string& text) {
  http_response res;
  res.status = status;
  res.content_type = "text/html; charset=utf-8";
  res.body = html_page(title, text);
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; frame-ancestors 'none'");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  return res;
}

http_response redirect_reply(const std::string& location) {
  http_response res;
  res.status = 302;
  res.content_type.clear();
  res.headers.emplace_back("Location", location);
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

} // namespace sb::modules::auth
