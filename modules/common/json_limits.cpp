#include "modules/common/json_limits.hpp"

#include <vector>

namespace sb::modules {

std::string json_shape_problem(std::string_view text, size_t max_depth,
                               size_t max_members) {
  // Per open bracket: members so far if an object, or npos for an array.
  constexpr auto array = static_cast<size_t>(-1);
  std::vector<size_t> open;
  bool in_string = false;
  bool escaped = false;
  for (auto c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
    case '"':
      in_string = true;
      break;
    case '{':
    case '[':
      if (open.size() >= max_depth)
        return "the JSON nests deeper than " + std::to_string(max_depth) +
               " levels";
      open.push_back(c == '{' ? 0 : array);
      break;
    case '}':
    case ']':
      if (!open.empty())
        open.pop_back();
      break;
    case ':':
      // Each member of an object has one colon at the object's level.
      if (!open.empty() && open.back() != array && ++open.back() > max_members)
        return "a JSON object has more than " + std::to_string(max_members) +
               " members";
      break;
    default:
      break;
    }
  }
  return {};
}

} // namespace sb::modules
