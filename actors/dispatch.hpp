#pragma once

// The seam between a protocol's I/O layer and the actor world. Plain C++: the
// I/O side (Beast, Asio) includes this header without any CAF header, and the
// actor side implements `request_dispatcher`.

#include <memory>
#include <string>

#include "actors/errc.hpp"
#include "actors/messages.hpp"

namespace sb {

/// Outcome of one dispatched request: either a response of the owner
/// (`code == errc::none`) or an error of the node.
struct dispatch_result {
  errc code = errc::none;
  /// Human-readable detail of an error.
  std::string message;
  /// With `errc::method_not_allowed`: the allowed methods, comma-separated.
  std::string allow;
  /// The owner's response when `code == errc::none`.
  http_response response;
};

/// Receives the outcome of one request, from any thread; the implementation
/// hands it to its own executor. The outcome is either one `deliver`, or a
/// stream: `start_stream`, any number of `write`, then `end_stream`. Only the
/// first `deliver` or `start_stream` counts. A sink dropped without an
/// outcome answers an error; one dropped with an open stream ends it.
class reply_sink {
public:
  virtual ~reply_sink() = default;

  virtual void deliver(dispatch_result result) = 0;

  /// Whether nobody waits for the outcome anymore (the client went away);
  /// the dispatcher may drop the request early. Thread-safe.
  virtual bool abandoned() const noexcept { return false; }

  /// Whether pieces of a stream reach the client as they come. A sink that
  /// collects a stream to pass it on whole says no; an endless stream makes
  /// no sense there.
  virtual bool streams_live() const noexcept { return false; }

  /// Starts a response whose body follows in pieces: `head` holds status,
  /// content type, header fields and the first piece of the body. Returns
  /// false if this sink cannot stream or the client is gone.
  virtual bool start_stream(http_response head) {
    (void)head;
    return false;
  }

  /// Appends to the body of a started stream. Returns false once the client
  /// is gone or reads too slowly; the stream is over then.
  virtual bool write(std::string data) {
    (void)data;
    return false;
  }

  /// Ends a started stream.
  virtual void end_stream() {
    // Nothing to end
  }
};

using reply_sink_ptr = std::shared_ptr<reply_sink>;

/// Accepts requests from an I/O layer. Thread-safe; never blocks.
class request_dispatcher {
public:
  virtual ~request_dispatcher() = default;

  /// Routes `req` to the owner of the matching endpoint; the outcome arrives
  /// at `sink`.
  virtual void dispatch(http_request req, reply_sink_ptr sink) = 0;
};

} // namespace sb
