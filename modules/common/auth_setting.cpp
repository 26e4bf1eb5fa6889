#include "modules/common/auth_setting.hpp"

#include <nlohmann/json.hpp>

namespace sb::modules {

bool read_auth_setting(const std::string& key, const nlohmann::json& val,
                       auth_requirement& out, std::string& err) {
  if (key != "auth")
    return false;
  if (val == "required")
    out = auth_requirement::required;
  else if (val == "none")
    out = auth_requirement::none;
  else
    err = "auth: expected \"required\" (a token with the context's scope) "
          "or \"none\"";
  return true;
}

void require_auth(std::vector<endpoint>& xs, auth_requirement auth) {
  for (auto& x : xs)
    x.auth = auth;
}

} // namespace sb::modules
