#include "modules/common/json_reply.hpp"

#include "actors/errc.hpp"
#include "actors/log.hpp"

namespace sb::modules {

http_response json_reply(uint16_t status, const json& body) {
  http_response res;
  res.status = status;
  res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

http_response error_reply(uint16_t status, const std::string& code,
                          const std::string& message,
                          const std::string& field) {
  json err = {{"code", code}, {"message", message}};
  if (!field.empty())
    err["field"] = field;
  return json_reply(status, {{"error", std::move(err)}});
}

http_response internal_error_reply(const char* component,
                                   const std::exception& ex) {
  logger(component)->error("handler failed error={}", ex.what());
  return error_reply(500, to_code(errc::internal),
                     "the module failed to handle this request");
}

} // namespace sb::modules
