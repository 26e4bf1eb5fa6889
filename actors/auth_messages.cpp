#include "actors/auth_messages.hpp"

namespace sb {

namespace {

/// Characters of a token68 (RFC 9110, 11.2) before its trailing `=`s.
bool token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

} // namespace

std::string bearer_token(const std::string& authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size())
    return {};
  for (size_t i = 0; i < scheme.size(); ++i) {
    auto c = authorization[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i])
      return {};
  }
  auto i = scheme.size();
  if (authorization[i] != ' ')
    return {};
  while (i < authorization.size() && authorization[i] == ' ')
    ++i;
  auto first = i;
  while (i < authorization.size() && token68_char(authorization[i]))
    ++i;
  if (i == first)
    return {};
  while (i < authorization.size() && authorization[i] == '=')
    ++i;
  auto last = i;
  // Trailing spaces are tolerated; anything else makes it no bearer token.
  while (i < authorization.size() && authorization[i] == ' ')
    ++i;
  if (i != authorization.size())
    return {};
  return authorization.substr(first, last - first);
}

std::string mcp_scope(const std::string& context) {
  return "mcp:" + context;
}

} // namespace sb
