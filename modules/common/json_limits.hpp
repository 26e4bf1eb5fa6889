#pragma once

// Limits on JSON text from clients, checked before it is parsed. Objects of
// `nlohmann::ordered_json` check every earlier key on each insert, so an
// object with many members costs time that grows with their square; deep
// nesting costs stack. A scan of the bytes finds both without parsing.

#include <cstddef>
#include <string>
#include <string_view>

namespace sb::modules {

/// Members of one JSON object that a client may send at most.
inline constexpr size_t max_json_members = 1000;

/// What makes `text` too costly to parse: arrays and objects nested deeper
/// than `max_depth`, or an object with more than `max_members` members.
/// Returns a message that says which, or an empty string. Strings are
/// skipped; the text is not checked for being valid JSON.
std::string json_shape_problem(std::string_view text, size_t max_depth,
                               size_t max_members = max_json_members);

} // namespace sb::modules
