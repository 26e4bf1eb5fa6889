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

/// For each position of `uri`, the first position at or after it that holds
/// a character a simple variable stops at (`uri.size()` if none).
std::vector<size_t> stops_of(std::string_view uri) {
  std::vector<size_t> result(uri.size() + 1, uri.size());
  for (size_t i = uri.size(); i-- > 0;)
    result[i] = stops_simple(uri[i]) ? i : result[i + 1];
  return result;
}

/// Whether piece `p` can take `uri[from, to)`.
bool takes(const piece& p, std::string_view uri, size_t from, size_t to,
           const std::vector<size_t>& stops) {
  if (!p.variable)
    return to - from == p.text.size() &&
           uri.compare(from, p.text.size(), p.text) == 0;
  return to > from && (p.reserved || stops[from] >= to);
}

/// Matches like an automaton: `reach[k][i]` says whether the first `k`
/// pieces can take exactly `uri[0, i)`. Each piece costs time linear in the
/// URI (literal pieces times their length), whatever the template, so that
/// no URI a client sends makes matching slow.
bool match_pieces(const std::vector<piece>& pieces, std::string_view uri,
                  template_values_list& out) {
  auto n = uri.size();
  auto stops = stops_of(uri);
  std::vector<std::vector<bool>> reach(pieces.size() + 1,
                                       std::vector<bool>(n + 1, false));
  reach[0][0] = true;
  for (size_t k = 0; k < pieces.size(); ++k) {
    auto& p = pieces[k];
    auto& from = reach[k];
    auto& to = reach[k + 1];
    if (!p.variable) {
      for (size_t i = 0; i + p.text.size() <= n; ++i)
        if (from[i] && uri.compare(i, p.text.size(), p.text) == 0)
          to[i + p.text.size()] = true;
      continue;
    }
    // The last start seen so far reaches furthest (stops never decrease).
    bool seen = false;
    size_t last = 0;
    for (size_t q = 1; q <= n; ++q) {
      if (from[q - 1]) {
        seen = true;
        last = q - 1;
      }
      to[q] = seen && (p.reserved || stops[last] >= q);
    }
  }
  if (!reach[pieces.size()][n])
    return false;
  // Walk back from the end, giving each variable the leftmost start that
  // the pieces before it can reach.
  std::vector<std::pair<size_t, size_t>> spans(pieces.size());
  auto end = n;
  for (size_t k = pieces.size(); k-- > 0;) {
    auto& p = pieces[k];
    size_t start = 0;
    bool found = false;
    if (!p.variable) {
      start = end - p.text.size();
      found = reach[k][start];
    } else {
      for (size_t i = 0; i < end && !found; ++i)
        if (reach[k][i] && takes(p, uri, i, end, stops)) {
          start = i;
          found = true;
        }
    }
    if (!found)
      return false;
    spans[k] = {start, end};
    end = start;
  }
  for (size_t k = 0; k < pieces.size(); ++k)
    if (pieces[k].variable)
      out.emplace_back(std::string{pieces[k].text},
                       std::string{uri.substr(
                         spans[k].first, spans[k].second - spans[k].first)});
  return true;
}

} // namespace

bool valid_uri_template(std::string_view tmpl) {
  std::vector<piece> pieces;
  return !tmpl.empty() && split(tmpl, pieces) &&
         pieces.size() <= max_template_pieces;
}

std::optional<template_values_list> match_uri_template(std::string_view tmpl,
                                                       std::string_view uri) {
  std::vector<piece> pieces;
  if (!split(tmpl, pieces))
    return std::nullopt;
  // The tables grow with pieces times URI length.
  if (uri.size() > max_uri_bytes || pieces.size() > max_template_pieces)
    return std::nullopt;
  template_values_list out;
  if (!match_pieces(pieces, uri, out))
    return std::nullopt;
  return out;
}

} // namespace sb::mcp
