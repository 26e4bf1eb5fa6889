#include "actors/messages.hpp"

#include <algorithm>
#include <tuple>

namespace sb {

const char* to_string(auth_requirement x) noexcept {
  return x == auth_requirement::required ? "required" : "none";
}

const char* to_string(module_state x) noexcept {
  switch (x) {
  case module_state::starting:
    return "starting";
  case module_state::running:
    return "running";
  case module_state::restarting:
    return "restarting";
  case module_state::failed:
    return "failed";
  case module_state::stopped:
    return "stopped";
  }
  return "unknown";
}

const char* to_string(node_state x) noexcept {
  switch (x) {
  case node_state::starting:
    return "starting";
  case node_state::running:
    return "running";
  case node_state::stopping:
    return "stopping";
  }
  return "unknown";
}

endpoint make_endpoint(std::string method, std::string pattern,
                       std::string handler, std::string module,
                       auth_requirement auth) {
  endpoint result;
  result.method = std::move(method);
  result.pattern = std::move(pattern);
  result.handler = std::move(handler);
  result.module = std::move(module);
  result.auth = auth;
  return result;
}

bool same_route(const endpoint& x, const endpoint& y) noexcept {
  return x.protocol == y.protocol && x.method == y.method &&
         x.pattern == y.pattern;
}

void sort_for_listing(std::vector<endpoint>& xs) {
  std::sort(xs.begin(), xs.end(), [](const endpoint& x, const endpoint& y) {
    return std::tie(x.protocol, x.pattern, x.method) <
           std::tie(y.protocol, y.pattern, y.method);
  });
}

const std::string* find_field(const field_list& xs,
                              const std::string& name) noexcept {
  for (auto& x : xs)
    if (x.first == name)
      return &x.second;
  return nullptr;
}

} // namespace sb
