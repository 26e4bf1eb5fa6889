#pragma once

// Where the outcome of one request goes, for the actors that answer requests
// on behalf of others (the registry, and the link of a joining node): the
// reply sink of a protocol handler in this process, or the response promise
// of any actor that sent an `http_request` or `mcp_request`.

#include <string>
#include <type_traits>
#include <utility>

#include "caf/response_promise.hpp"

#include "actors/dispatch.hpp"
#include "actors/error.hpp"
#include "actors/messages.hpp"

namespace sb {

struct completion {
  reply_sink_ptr sink;
  caf::response_promise promise;

  /// Delivers the owner's answer: an `http_response` to a sink or a
  /// promise, any other answer (an `mcp_result`, say) to a promise.
  template <class Response>
  void succeed(Response&& res) {
    if constexpr (std::is_same_v<std::decay_t<Response>, http_response>) {
      if (sink) {
        dispatch_result result;
        result.response = std::forward<Response>(res);
        sink->deliver(std::move(result));
        return;
      }
    } else if (sink) {
      fail(errc::internal, "an answer of the wrong kind for an HTTP request");
      return;
    }
    promise.deliver(std::forward<Response>(res));
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
