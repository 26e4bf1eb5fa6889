#pragma once

// Matching URIs against the URI templates of MCP resource templates: the
// simple forms of RFC 6570, `{name}` for one or more characters other than
// `/`, `?`, `#` and `,`, and `{+name}` for one or more characters of any
// kind. Plain C++, no JSON.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::mcp {

/// Variables of a template and their values, in template order.
using template_values_list = std::vector<std::pair<std::string, std::string>>;

/// Whether `tmpl` is a template this matcher understands: balanced braces,
/// variable names of letters, digits and `_`, no two variables side by side,
/// at most `max_template_pieces` pieces.
bool valid_uri_template(std::string_view tmpl);

/// URIs longer than this match no template.
inline constexpr size_t max_uri_bytes = 8192;

/// Literal pieces and variables of a template at most.
inline constexpr size_t max_template_pieces = 64;

/// The values of the variables if `uri` matches `tmpl`, else nothing.
std::optional<template_values_list> match_uri_template(std::string_view tmpl,
                                                       std::string_view uri);

} // namespace sb::mcp
