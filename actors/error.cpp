#include "actors/error.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/message.hpp"
#include "caf/scheduled_actor.hpp"
#include "caf/sec.hpp"

#include "actors/log.hpp"

namespace sb {

caf::error make_error(errc x, std::string detail) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::move(detail))};
}

errc to_errc(const caf::error& err, std::string& detail) {
  if (!err) {
    detail.clear();
    return errc::none;
  }
  if (err.category() == error_category) {
    auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      detail = ctx.get_as<std::string>(0);
    return static_cast<errc>(err.code());
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_receiver_down:
      detail = "the owner of this endpoint is down";
      return errc::owner_down;
    case caf::sec::request_timeout:
      detail = "the owner of this endpoint did not answer in time";
      return errc::timeout;
    default:
      detail = "the owner failed: " +
               caf::to_string(static_cast<caf::sec>(err.code()));
      return errc::internal;
    }
  }
  if (err.category() == caf::atom("exit")) {
    detail = "the owner of this endpoint is down";
    return errc::owner_down;
  }
  detail = "internal error";
  return errc::internal;
}

void drop_stray_errors(caf::scheduled_actor* self, const char* component) {
  auto log = logger(component);
  self->set_error_handler([log](caf::scheduled_actor* ptr, caf::error& err) {
    log->debug("dropped a stray error message error={}",
               ptr->system().render(err));
  });
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      std::string out = to_code(static_cast<errc>(code));
      if (ctx.match_elements<std::string>()) {
        out += ": ";
        out += ctx.get_as<std::string>(0);
      }
      return out;
    });
}

} // namespace sb
