#include "modules/auth/oauth_text.hpp"

#include <algorithm>
#include <cctype>

#include "actors/ascii.hpp"
#include "modules/common/http_fetch.hpp"

namespace sb::modules::auth {

namespace {

constexpr size_t max_redirect_uri = 2048;

bool scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' ||
         c == '.';
}

/// The six bits of a standard base64 character, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (auto c : text) {
    auto v = base64_value(c);
    if (v < 0)
      return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  if (count >= 6)
    return std::nullopt;
  return out;
}

} // namespace

std::optional<uri_parts> parse_uri(std::string_view uri) {
  for (auto c : uri)
    if (c <= 0x20 || c >= 0x7F)
      return std::nullopt;
  if (uri.find('#') != std::string_view::npos)
    return std::nullopt;
  auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(uri[0])))
    return std::nullopt;
  auto scheme = uri.substr(0, colon);
  if (!std::all_of(scheme.begin(), scheme.end(), scheme_char))
    return std::nullopt;
  uri_parts result;
  result.scheme = ascii_lowered(scheme);
  auto rest = uri.substr(colon + 1);
  if (rest.compare(0, 2, "//") != 0) {
    if (result.scheme == "http" || result.scheme == "https" || rest.empty())
      return std::nullopt;
    result.rest = std::string{rest};
    return result;
  }
  rest.remove_prefix(2);
  auto end = rest.find_first_of("/?");
  auto authority = rest.substr(0, end);
  result.rest =
    end == std::string_view::npos ? "" : std::string{rest.substr(end)};
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return std::nullopt;
  auto port_sep = authority.rfind(':');
  if (authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    port_sep = close + 1 < authority.size() ? close + 1 : std::string::npos;
    if (port_sep != std::string::npos && authority[port_sep] != ':')
      return std::nullopt;
  }
  if (port_sep != std::string_view::npos) {
    auto port = authority.substr(port_sep + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    result.port = std::string{port};
    authority = authority.substr(0, port_sep);
  }
  if (authority.empty())
    return std::nullopt;
  result.host = ascii_lowered(authority);
  return result;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

std::string redirect_uri_problem(std::string_view uri) {
  if (uri.size() > max_redirect_uri)
    return "a redirect URI is longer than 2048 bytes";
  auto parts = parse_uri(uri);
  if (!parts)
    return "a redirect URI is not an absolute URI without a fragment";
  if (parts->scheme == "https")
    return {};
  if (parts->scheme == "http")
    return is_loopback_host(parts->host)
             ? std::string{}
             : "http redirect URIs must point to 127.0.0.1, [::1] or "
               "localhost; use https";
  if (parts->scheme.find('.') == std::string::npos)
    return "a redirect URI must use https, http on loopback, or a "
           "private-use scheme such as com.example.app";
  return {};
}

bool redirect_uri_matches(const std::string& registered,
                          const std::string& given) {
  if (registered == given)
    return true;
  auto x = parse_uri(registered);
  auto y = parse_uri(given);
  return x && y && x->scheme == "http" && y->scheme == "http" &&
         is_loopback_host(x->host) && x->host == y->host && x->rest == y->rest;
}

std::string
with_query(const std::string& uri,
           const std::vector<std::pair<std::string, std::string>>& fields) {
  auto query = form_encode(fields);
  if (query.empty())
    return uri;
  auto sep = uri.find('?') == std::string::npos ? '?' : '&';
  if (!uri.empty() && (uri.back() == '?' || uri.back() == '&'))
    return uri + query;
  return uri + sep + query;
}

std::optional<std::vector<std::string>> split_scope(std::string_view text) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(' ', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty())
      continue;
    for (auto c : item)
      if (c < 0x21 || c > 0x7E || c == '"' || c == '\\')
        return std::nullopt;
    if (std::find(result.begin(), result.end(), item) == result.end())
      result.emplace_back(item);
  }
  return result;
}

std::string join_scope(const std::vector<std::string>& scopes) {
  std::string result;
  for (auto& x : scopes) {
    if (!result.empty())
      result += ' ';
    result += x;
  }
  return result;
}

std::string cookie_value(const std::string& header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(';', pos);
    if (end == std::string::npos)
      end = header.size();
    auto item = std::string_view{header}.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      auto value = item.substr(eq + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return std::string{value};
    }
  }
  return {};
}

std::optional<std::pair<std::string, std::string>>
basic_credentials(const std::string& authorization) {
  if (authorization.size() < 6 ||
      ascii_lowered(authorization.substr(0, 6)) != "basic ")
    return std::nullopt;
  auto text = std::string_view{authorization}.substr(6);
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  auto raw = base64_decode(text);
  if (!raw)
    return std::nullopt;
  auto colon = raw->find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  auto id = percent_decode(std::string_view{*raw}.substr(0, colon), true);
  auto secret = percent_decode(std::string_view{*raw}.substr(colon + 1), true);
  if (!id || !secret)
    return std::nullopt;
  return std::make_pair(std::move(*id), std::move(*secret));
}

std::string html_escape(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (auto c : text) {
    switch (c) {
    case '&':
      result += "&amp;";
      break;
    case '<':
      result += "&lt;";
      break;
    case '>':
      result += "&gt;";
      break;
    case '"':
      result += "&quot;";
      break;
    case '\'':
      result += "&#39;";
      break;
    default:
      result += c;
    }
  }
  return result;
}

std::string html_page(const std::string& title, const std::string& text) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
         html_escape(title) + "</title></head><body><h1>" + html_escape(title) +
         "</h1><p>" + html_escape(text) + "</p></body></html>\n";
}

size_t count_chars(std::string_view str) {
  size_t n = 0;
  for (auto c : str)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

} // namespace sb::modules::auth
