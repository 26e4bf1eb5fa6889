#include "modules/common/tool_args.hpp"

#include <algorithm>

namespace sb::modules {

namespace {

bool has_nul(const std::string& str) {
  return str.find('\0') != std::string::npos;
}

} // namespace

tool_args::tool_args(mcp::json args, const std::vector<std::string>& known)
    : args_(std::move(args)) {
  if (!args_.is_object()) {
    problem_ = "arguments: must be an object";
    args_ = mcp::json::object();
    return;
  }
  for (auto& [key, value] : args_.items())
    if (std::none_of(known.begin(), known.end(),
                     [&](const std::string& x) { return key == x; })) {
      problem_ = key + ": unknown argument";
      return;
    }
}

const mcp::json* tool_args::find(const char* key, bool required) {
  if (!ok())
    return nullptr;
  auto i = args_.find(key);
  if (i == args_.end() || i->is_null()) {
    if (required)
      fail(std::string{key} + ": is required");
    return nullptr;
  }
  return &*i;
}

std::optional<std::string> tool_args::string(const char* key, size_t max_bytes,
                                             bool required) {
  auto x = find(key, required);
  if (x == nullptr)
    return std::nullopt;
  if (!x->is_string()) {
    fail(std::string{key} + ": must be a string");
    return std::nullopt;
  }
  auto str = x->get<std::string>();
  if (str.size() > max_bytes) {
    fail(std::string{key} + ": must be at most " + std::to_string(max_bytes) +
         " bytes long");
    return std::nullopt;
  }
  if (has_nul(str)) {
    fail(std::string{key} + ": must not contain NUL characters");
    return std::nullopt;
  }
  return str;
}

std::optional<int64_t> tool_args::integer(const char* key, int64_t lo,
                                          int64_t hi) {
  auto x = find(key, false);
  if (x == nullptr)
    return std::nullopt;
  auto range = [&] {
    fail(std::string{key} + ": must be a whole number from " +
         std::to_string(lo) + " to " + std::to_string(hi));
  };
  // 5.0 is a whole number in JSON Schema; 5.5 is not.
  int64_t val = 0;
  if (x->is_number_integer()) {
    if (x->is_number_unsigned() && x->get<uint64_t>() > uint64_t(INT64_MAX)) {
      range();
      return std::nullopt;
    }
    val = x->get<int64_t>();
  } else if (x->is_number_float()) {
    auto d = x->get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d < double(lo) ||
        d > double(hi)) {
      range();
      return std::nullopt;
    }
    val = static_cast<int64_t>(d);
  } else {
    range();
    return std::nullopt;
  }
  if (val < lo || val > hi) {
    range();
    return std::nullopt;
  }
  return val;
}

bool tool_args::boolean(const char* key, bool fallback) {
  auto x = find(key, false);
  if (x == nullptr)
    return fallback;
  if (!x->is_boolean()) {
    fail(std::string{key} + ": must be true or false");
    return fallback;
  }
  return x->get<bool>();
}

std::optional<std::vector<std::string>>
tool_args::strings(const char* key, size_t max_items, size_t max_bytes) {
  auto x = find(key, false);
  if (x == nullptr)
    return std::nullopt;
  if (!x->is_array()) {
    fail(std::string{key} + ": must be an array of strings");
    return std::nullopt;
  }
  if (x->size() > max_items) {
    fail(std::string{key} + ": must have at most " + std::to_string(max_items) +
         " items");
    return std::nullopt;
  }
  std::vector<std::string> result;
  for (size_t i = 0; i < x->size(); ++i) {
    auto& item = (*x)[i];
    auto name = std::string{key} + "[" + std::to_string(i) + "]";
    if (!item.is_string()) {
      fail(name + ": must be a string");
      return std::nullopt;
    }
    auto str = item.get<std::string>();
    if (str.size() > max_bytes) {
      fail(name + ": must be at most " + std::to_string(max_bytes) +
           " bytes long");
      return std::nullopt;
    }
    if (has_nul(str)) {
      fail(name + ": must not contain NUL characters");
      return std::nullopt;
    }
    result.push_back(std::move(str));
  }
  return result;
}

void tool_args::fail(std::string message) {
  if (problem_.empty())
    problem_ = std::move(message);
}

} // namespace sb::modules
