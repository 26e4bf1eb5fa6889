#pragma once

// Where the outcome of one HTTP request goes, for the actors that answer
// requests on behalf of others (the registry, and the link of a joining
// node): the reply sink of a protocol handler in this process, or the
// response promise of any actor that sent an `http_request`.

#include <string>
#include <utility>

#include "caf/response_promise.hpp"

#include "actors/dispatch.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"

namespace sb {

struct completion {
  reply_sink_ptr sink;
  caf::response_promise promise;

  void succeed(http_response&& res) {
    if (sink) {
      dispatch_result result;
      result.response = std::move(res);
      sink->deliver(std::move(result));
    } else {
      promise.deliver(std::move(res));
    }
  }

  /// `allow` lists the allowed methods with `errc::method_not_allowed`.
  void fail(errc code, std::string message, std::string allow = {}) {
    if (sink) {
      dispatch_result result;
      result.code = code;
      result.message = std::move(message);
      result.allow = std::move(allow);
      sink->deliver(std::move(result));
    } else {
      promise.deliver(make_error(code, std::move(message)));
    }
  }
};

} // namespace sb
