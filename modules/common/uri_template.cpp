#include "modules/common/uri_template.hpp"

namespace sb::mcp {

namespace {

/// One piece of a template: literal text, or a variable.
struct piece {
  std::string_view text;
  bool variable = false;
  /// `{+name}`: the value may hold any character.
  bool reserved = false;
};

bool name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/// Splits `tmpl` into pieces; false if it is not a template we understand.
bool split(std::string_view tmpl, std::vector<piece>& out) {
  size_t i = 0;
  while (i < tmpl.size()) {
    auto open = tmpl.find('{', i);
    if (tmpl.substr(i, open - i).find('}') != std::string_view::npos)
      return false;
    if (open == std::string_view::npos) {
      out.push_back({tmpl.substr(i)});
      return true;
    }
    if (open > i)
      out.push_back({tmpl.substr(i, open - i)});
    auto close = tmpl.find('}', open);
    if (close == std::string_view::npos)
      return false;
    piece p;
    p.variable = true;
    p.text = tmpl.substr(open + 1, close - open - 1);
    if (!p.text.empty() && p.text.front() == '+') {
      p.reserved = true;
      p.text.remove_prefix(1);
    }
    if (p.text.empty())
      return false;
    for (auto c : p.text)
      if (!name_char(c))
        return false;
    // Two variables side by side have no boundary between their values.
    if (!out.empty() && out.back().variable)
      return false;
    out.push_back(p);
    i = close + 1;
  }
  return true;
}

bool stops_simple(char c) noexcept {
  return c == '/' || c == '?' || c == '#' || c == ',';
}

/// Matches `uri` from `pos` against `pieces` from `k`, backtracking over the
/// length of each variable's value. `failed` remembers the (piece, position)
/// pairs that cannot match, so that no pair is tried twice: the work stays
/// quadratic in the URI's length whatever the template.
bool match_from(const std::vector<piece>& pieces, size_t k,
                std::string_view uri, size_t pos, template_values_list& out,
                std::vector<bool>& failed) {
  if (k == pieces.size())
    return pos == uri.size();
  auto key = k * (uri.size() + 1) + pos;
  if (failed[key])
    return false;
  auto& p = pieces[k];
  if (!p.variable) {
    if (uri.compare(pos, p.text.size(), p.text) == 0 &&
        match_from(pieces, k + 1, uri, pos + p.text.size(), out, failed))
      return true;
    failed[key] = true;
    return false;
  }
  // Longest value first, at least one character.
  size_t end = pos;
  while (end < uri.size() && (p.reserved || !stops_simple(uri[end])))
    ++end;
  for (size_t stop = end; stop > pos; --stop) {
    out.emplace_back(std::string{p.text},
                     std::string{uri.substr(pos, stop - pos)});
    if (match_from(pieces, k + 1, uri, stop, out, failed))
      return true;
    out.pop_back();
  }
  failed[key] = true;
  return false;
}

} // namespace

bool valid_uri_template(std::string_view tmpl) {
  std::vector<piece> pieces;
  return !tmpl.empty() && split(tmpl, pieces);
}

std::optional<template_values_list> match_uri_template(std::string_view tmpl,
                                                       std::string_view uri) {
  std::vector<piece> pieces;
  if (!split(tmpl, pieces))
    return std::nullopt;
  // Longer URIs than any template needs would make the memo large.
  if (uri.size() > max_uri_bytes)
    return std::nullopt;
  template_values_list out;
  std::vector<bool> failed(pieces.size() * (uri.size() + 1), false);
  if (!match_from(pieces, 0, uri, 0, out, failed))
    return std::nullopt;
  return out;
}

} // namespace sb::mcp
