#include "protocols/http/server.hpp"

// The Beast side of the HTTP layer. One `connection` per accepted socket reads
// requests with a Beast parser, hands each to the dispatcher and writes the
// results back strictly in request order. Responses are serialized by hand
// into one header string plus the body, written with a single gather write.
//
// The header section alone decides a request: its framing is checked before
// any body byte is parsed, and trailer fields of a chunked body never reach
// the request.
//
// Timeouts use one lazily re-armed timer per connection instead of the
// deadlines of `beast::tcp_stream`: the stream's read deadline cannot change
// while a read is pending, but a pipelining connection reads on while
// requests wait for the dispatcher, and a read must not time out then.
//
// Each I/O thread runs an io_context of its own, and a connection lives on
// one of them for its whole life. Its handlers never run concurrently, so
// it needs no strand, and its socket and timer use the io_context's
// executor type itself: a type-erased executor would allocate on every
// asynchronous operation.

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "actors/ascii.hpp"
#include "protocols/http/target.hpp"

namespace sb::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
using std::chrono::milliseconds;

using request_parser = bhttp::request_parser<bhttp::string_body>;

using executor_type = net::io_context::executor_type;
using socket_type = net::basic_stream_socket<tcp, executor_type>;
using acceptor_type = net::basic_socket_acceptor<tcp, executor_type>;
using timer_type =
  net::basic_waitable_timer<clock_type, net::wait_traits<clock_type>,
                            executor_type>;

constexpr auto never = time_point::max();

/// Bytes read per `read_some` at most, and while a header is expected.
constexpr size_t max_read_size = 64 * 1024;
constexpr size_t header_read_size = 4 * 1024;

/// Responses written by one gather write at most.
constexpr size_t max_batch = 16;

/// Empty lines ignored before a request line at most (RFC 9112, 2.2); more
/// make the request malformed.
constexpr size_t max_empty_lines = 4;

/// After we close our side, the time and the bytes we still read and discard
/// so that the peer receives our last response instead of a reset.
constexpr auto linger_time = milliseconds{2000};
constexpr size_t linger_bytes = 1024 * 1024;

// -- formatting helpers -------------------------------------------------------

/// The `Date` value of this second, formatted once per second and thread.
std::string_view http_date() {
  struct cache {
    std::time_t sec = -1;
    char text[32];
    size_t len = 0;
  };
  thread_local cache c;
  auto now = std::time(nullptr);
  if (now != c.sec) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed",
                                           "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr",
                                             "May", "Jun", "Jul", "Aug",
                                             "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    auto n = std::snprintf(
      c.text, sizeof(c.text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
      days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
      tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    c.len = n > 0 ? static_cast<size_t>(n) : 0;
    c.sec = now;
  }
  return {c.text, c.len};
}

void append_uint(std::string& out, uint64_t x) {
  char digits[20];
  size_t len = 0;
  do {
    digits[len++] = static_cast<char>('0' + x % 10);
    x /= 10;
  } while (x != 0);
  while (len > 0)
    out += digits[--len];
}

void append_field(std::string& out, std::string_view name,
                  std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool valid_field_name(std::string_view str) noexcept {
  return !str.empty() && std::all_of(str.begin(), str.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

// Rejects CR, LF, NUL and the other controls except HTAB: a value must not
// end the field or the header early.
bool valid_field_value(std::string_view str) noexcept {
  return std::all_of(str.begin(), str.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7F);
  });
}

/// Header fields that this layer writes itself; an owner's copies are
/// dropped, since a second framing or connection field breaks the stream.
bool reserved_field(std::string_view name) noexcept {
  static constexpr std::string_view names[] = {
    "content-length", "transfer-encoding", "connection",
    "keep-alive",     "upgrade",           "te",
    "trailer",        "proxy-connection",  "date",
    "server",         "x-request-id",
  };
  for (auto x : names)
    if (iequals(name, x))
      return true;
  return false;
}

std::string_view to_std(beast::string_view str) noexcept {
  return {str.data(), str.size()};
}

/// Strips optional whitespace (SP, HTAB) from both ends.
std::string_view trim_ows(std::string_view str) noexcept {
  auto ows = [](char c) {
    return c == ' ' || c == '\t';
  };
  while (!str.empty() && ows(str.front()))
    str.remove_prefix(1);
  while (!str.empty() && ows(str.back()))
    str.remove_suffix(1);
  return str;
}

/// Returns why the body framing of `msg` is unsafe, or null. Beast frames a
/// body as chunked only if `chunked` is the final coding, and otherwise by
/// Content-Length or as no body at all, where a proxy in front of us may see
/// a different request boundary. We implement no coding but chunked, so
/// anything but a lone `chunked` on HTTP/1.1 is refused (RFC 9112, 6.1 and
/// 6.3).
const char* framing_problem(const bhttp::request_header<>& msg) {
  auto [first, last] = msg.equal_range(bhttp::field::transfer_encoding);
  if (first == last)
    return nullptr;
  if (msg.version() < 11)
    return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  if (msg.count(bhttp::field::content_length) > 0)
    return "Transfer-Encoding and Content-Length must not both be present";
  if (std::next(first) != last ||
      !iequals(trim_ows(to_std(first->value())), "chunked"))
    return "unsupported Transfer-Encoding; only chunked is accepted";
  return nullptr;
}

/// The first X-Request-Id of `msg` if it is valid, else an empty string. One
/// rule for every path: the first occurrence counts.
std::string given_request_id(const bhttp::request_header<>& msg) {
  auto it = msg.find("X-Request-Id");
  if (it == msg.end() || !valid_request_id(to_std(it->value())))
    return {};
  return std::string{to_std(it->value())};
}

std::string remote_string(const socket_type& sock) {
  error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec)
    return {};
  auto addr = ep.address();
  std::string out;
  if (addr.is_v6()) {
    out += '[';
    out += addr.to_string();
    out += ']';
  } else {
    out += addr.to_string();
  }
  out += ':';
  append_uint(out, ep.port());
  return out;
}

/// A sequence of buffers that refers to an array instead of copying it, so
/// that a batched write allocates nothing.
struct buffer_range {
  using value_type = net::const_buffer;
  using const_iterator = const net::const_buffer*;
  const net::const_buffer* first;
  const net::const_buffer* last;
  const_iterator begin() const noexcept { return first; }
  const_iterator end() const noexcept { return last; }
};

class connection;

// -- state shared by the server, its connections and the reply sinks ---------

struct shared_state {
  shared_state(server_options o, std::shared_ptr<request_dispatcher> d)
      : opts(std::move(o))
      , dispatcher(std::move(d)) {
    // Zero limits make no sense; keep the server usable.
    opts.max_pipelined = std::max<size_t>(opts.max_pipelined, 1);
    opts.threads = std::max<size_t>(opts.threads, 1);
  }

  server_options opts;
  std::shared_ptr<request_dispatcher> dispatcher;

  /// Guards `conns`, `active` and `stopping`; `cv` tells `stop()` when a
  /// connection goes away.
  std::mutex mtx;
  std::condition_variable cv;
  std::list<std::shared_ptr<connection>> conns;
  /// Connections counted against `max_connections`.
  size_t active = 0;
  bool stopping = false;

  /// Reply sinks post to the I/O executors only while `open`; `stop()`
  /// closes the gate before the io_context may go away.
  std::mutex gate_mtx;
  bool open = true;
};

using shared_state_ptr = std::shared_ptr<shared_state>;

// -- one client connection ----------------------------------------------------

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(shared_state_ptr state, socket_type&& sock, bool counted)
      : state_(std::move(state))
      , opts_(state_->opts)
      , socket_(std::move(sock))
      , timer_(socket_.get_executor())
      , buffer_(opts_.max_header_bytes + max_read_size)
      , gone_(std::make_shared<std::atomic<bool>>(false))
      , counted_(counted) {
    // Nothing to do
  }

  ~connection() { gone_->store(true, std::memory_order_release); }

  executor_type executor() { return socket_.get_executor(); }

  /// Registers with the server; called under `state_->mtx` by the acceptor.
  void registered(std::list<std::shared_ptr<connection>>::iterator pos) {
    pos_ = pos;
    registered_ = true;
  }

  /// Forgets the registration; called by `stop()` once no I/O thread runs.
  void unregistered() noexcept { registered_ = false; }

  /// Starts serving; with `reject`, answers 503 and closes instead.
  void start(bool reject) {
    guarded([&] {
      remote_ = remote_string(socket_);
      idle_since_ = clock_type::now();
      if (reject) {
        fail(errc::overloaded, "too many connections; try again later");
        return;
      }
      parse();
    });
  }

  /// Takes the outcome of the request with sequence number `seq`.
  void on_result(uint64_t seq, dispatch_result&& result) {
    guarded([&] {
      if (closed_ || seq < first_seq_ || seq - first_seq_ >= queue_.size())
        return;
      auto& s = queue_[seq - first_seq_];
      if (s.ready)
        return;
      build_response(s, std::move(result));
      flush();
    });
  }

  /// Starts the streamed response of request `seq` with `head`.
  void on_stream_start(uint64_t seq, http_response&& head) {
    guarded([&] {
      auto s = find_slot(seq);
      if (s == nullptr || s->ready)
        return;
      if (auto problem = check_response(head); !problem.empty()) {
        dispatch_result result;
        result.code = errc::internal;
        result.message = std::move(problem);
        build_response(*s, std::move(result));
        flush();
        return;
      }
      begin_head(*s, head.status);
      write_fields(*s, head);
      s->streaming = true;
      if (s->version >= 11) {
        s->chunked = true;
        s->head += "Transfer-Encoding: chunked\r\n";
      } else {
        // An HTTP/1.0 client learns of the end by the close.
        s->keep_alive = false;
        read_closed_ = true;
      }
      s->ready = true;
      append_stream(*s, std::move(head.body));
      flush();
    });
  }

  /// Appends `data` to the streamed response of request `seq`.
  void on_stream_data(uint64_t seq, std::string&& data) {
    guarded([&] {
      auto s = find_slot(seq);
      if (s == nullptr || !s->streaming || s->stream_ended)
        return;
      if (s->pending.size() + data.size() > opts_.max_stream_buffer_bytes) {
        // The client reads slower than the stream grows.
        close_now();
        return;
      }
      append_stream(*s, std::move(data));
      flush();
    });
  }

  /// Ends the streamed response of request `seq`.
  void on_stream_end(uint64_t seq) {
    guarded([&] {
      auto s = find_slot(seq);
      if (s == nullptr || !s->streaming || s->stream_ended)
        return;
      s->stream_ended = true;
      flush();
    });
  }

  /// Stops reading new requests; closes after the last pending response.
  void drain() {
    guarded([&] {
      draining_ = true;
      if (closed_)
        return;
      if (lingering_) {
        close_now();
        return;
      }
      // A request whose header arrived is in flight: its body may still
      // come, within the drain time; on_request closes reading after it.
      if (parser_ && parser_->is_header_done() && !parser_->is_done())
        return;
      read_closed_ = true;
      // A pending read completes with end of stream.
      error_code ec;
      if (reading_)
        socket_.shutdown(tcp::socket::shutdown_receive, ec);

      // The last response that is still to be written announces the close
      // that follows it; the ones before it do not, or the client would
      // discard them.
      for (auto i = queue_.rbegin(); i != queue_.rend(); ++i) {
        if (i->interim)
          continue;
        if (!i->sealed)
          i->keep_alive = false;
        break;
      }
      maybe_finish();
    });
  }

  /// Closes at once, whatever is pending.
  void force_close() {
    guarded([&] { close_now(); });
  }

private:
  /// One response slot per request, in request order.
  struct slot {
    /// Status line and header fields, or a whole interim response.
    std::string head;
    std::string body;
    std::string request_id;
    unsigned version = 11;
    bool head_only = false;
    bool keep_alive = true;
    bool ready = false;
    /// `head` is complete: the connection field and the empty line are
    /// added right before the write, so that a drain can still add `close`.
    bool sealed = false;
    /// `100 Continue`: written in order but answers no request.
    bool interim = false;
    /// A streamed response: the head goes out once, the body in pieces as
    /// they come. The slot holds the line until the stream ends.
    bool streaming = false;
    /// Pieces are framed as chunks (HTTP/1.1); else the close ends the body.
    bool chunked = false;
    bool head_written = false;
    bool stream_ended = false;
    /// Stream bytes not yet handed to a write; `body` is the one in flight.
    std::string pending;
  };

  // Runs `f`; no exception leaves an I/O callback, the connection closes.
  template <class F>
  void guarded(F&& f) noexcept {
    try {
      f();
    } catch (...) {
      try {
        close_now();
      } catch (...) {
        // Nothing left to do
      }
    }
  }

  // -- reading ----------------------------------------------------------------

  void read_more() {
    if (read_closed_ || reading_ || closed_)
      return;
    if (peer_eof_) {
      // Nothing more will come. While paused, buffered requests wait for
      // their turn; otherwise reading is over.
      if (!paused_) {
        read_closed_ = true;
        maybe_finish();
      }
      return;
    }

    // An idle connection keeps no large buffer: a body may have grown it.
    bool between_requests = !parser_ || !parser_->got_some();
    if (between_requests && buffer_.size() == 0 &&
        buffer_.capacity() > header_read_size)
      buffer_.shrink_to_fit();

    // Small reads for headers keep idle connections small; a body gets
    // large reads.
    auto want =
      parser_ && parser_->is_header_done() ? max_read_size : header_read_size;
    auto room = buffer_.max_size() - buffer_.size();
    auto n =
      std::min(std::max(want, buffer_.capacity() - buffer_.size()), room);
    if (n == 0) {
      // Paused with a full buffer: wait for the pipeline to drain.
      if (paused_)
        return;
      // Unparsed bytes fill the buffer: past the header, only a chunk-size
      // line or the trailer section waits for more; before, the header.
      if (parser_ && parser_->is_header_done())
        on_chunk_line_limit();
      else
        on_parse_error(bhttp::error::header_limit);
      return;
    }
    reading_ = true;
    update_deadline();
    auto dst = buffer_.prepare(n);
    read_dst_ = static_cast<char*>(dst.data());
    socket_.async_read_some(
      dst, [self = shared_from_this()](error_code ec, size_t len) {
        self->guarded([&] { self->on_read(ec, len); });
      });
  }

  void on_read(error_code ec, size_t len) {
    reading_ = false;
    if (closed_)
      return;
    if (lingering_) {
      on_linger_read(ec, len);
      return;
    }
    if (ec) {
      if (read_closed_) {
        // Our own cancel.
        maybe_finish();
        return;
      }
      // The client ended its side. It may still read (a half-close), but
      // usually it went away: its requests are abandoned. After a reset
      // nothing can reach it anymore.
      gone_->store(true, std::memory_order_release);
      if (ec != net::error::eof) {
        read_closed_ = true;
        close_now();
        return;
      }
      // End of stream: complete requests already buffered still get their
      // answers; a partial one gets none (see read_more).
      peer_eof_ = true;
      parse();
      return;
    }
    // A paused connection parses on while its read is pending; once that
    // consumed every buffered byte, the buffer started over at its front, and
    // the bytes read landed where it stood before. Move them where they
    // belong, or stale bytes would count as the new ones.
    auto dst = buffer_.prepare(len);
    if (dst.data() != read_dst_)
      std::memmove(dst.data(), read_dst_, len);
    buffer_.commit(len);
    if (read_closed_) {
      // Closed for reading while this read was pending; drop the bytes.
      maybe_finish();
      return;
    }
    if (!request_started_) {
      request_started_ = true;
      read_since_ = clock_type::now();
      update_deadline();
    }
    parse();
  }

  // Parses buffered bytes; dispatches each complete request. Each pass
  // consumes bytes or leaves the loop, so the loop ends.
  void parse() {
    while (!read_closed_ && !closed_) {
      if (!parser_) {
        // A new request starts: stop reading while too many wait.
        if (pending_requests_ >= opts_.max_pipelined) {
          paused_ = true;
          // Keep a read pending while the buffer has room, so that a client
          // that leaves is noticed even now and its requests are abandoned.
          read_more();
          return;
        }
        new_parser();
      }
      if (!parser_->got_some() && !skip_empty_lines()) {
        read_more();
        return;
      }
      if (buffer_.size() == 0) {
        read_more();
        return;
      }
      error_code ec;
      auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      parsed_bytes_ += used;
      if (ec == bhttp::error::need_more) {
        read_more();
        return;
      }
      if (ec) {
        on_parse_error(ec);
        return;
      }
      // The header decides before any body byte is parsed, and before a
      // request without a body is dispatched: the parser stops after it.
      if (!header_checked_ && parser_->is_header_done() && !on_header())
        return;
      if (parser_->is_done()) {
        on_request();
        continue;
      }
      if (used == 0) {
        read_more();
        return;
      }
    }
  }

  // Drops the empty lines that may precede a request line. Returns false if
  // the buffer holds nothing else yet.
  bool skip_empty_lines() {
    while (empty_lines_ < max_empty_lines) {
      auto bytes = buffer_.data();
      std::string_view buffered{static_cast<const char*>(bytes.data()),
                                bytes.size()};
      if (buffered.empty() || buffered == "\r")
        break;
      if (buffered.compare(0, 2, "\r\n") != 0)
        return true;
      buffer_.consume(2);
      ++empty_lines_;
    }
    if (buffer_.size() > 0 && empty_lines_ == max_empty_lines)
      return true;
    // Nothing of a request arrived yet: the idle clock goes on.
    if (buffer_.size() == 0)
      request_started_ = false;
    return false;
  }

  void new_parser() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(opts_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(opts_.max_body_bytes);
    parsed_bytes_ = 0;
    empty_lines_ = 0;
    header_checked_ = false;
  }

  // Checks the header of the current request and keeps what the request
  // gets from it. Returns false if the request failed.
  bool on_header() {
    auto& msg = parser_->get();
    if (msg.target().size() > opts_.max_target_bytes) {
      fail(errc::uri_too_long, target_limit_message());
      return false;
    }
    if (auto problem = framing_problem(msg)) {
      fail(errc::bad_request, problem);
      return false;
    }
    // RFC 9112, 3.2: an HTTP/1.1 request names exactly one host, and two
    // Host fields leave open which one a check should look at.
    auto hosts = msg.count(bhttp::field::host);
    if (hosts > 1 || (hosts == 0 && msg.version() >= 11)) {
      fail(errc::bad_request, hosts > 1 ? "more than one Host header field"
                                        : "an HTTP/1.1 request needs a Host "
                                          "header field");
      return false;
    }

    // Keep the header fields now: the trailer fields of a chunked body land
    // in the same message later and must not count (RFC 9110, 6.5.1).
    auto& req = next_;
    req = http_request{};
    req.method.assign(msg.method_string().data(), msg.method_string().size());
    req.target.assign(msg.target().data(), msg.target().size());
    req.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (auto& f : msg) {
      auto& name = req.headers
                     .emplace_back(std::string{to_std(f.name_string())},
                                   std::string{to_std(f.value())})
                     .first;
      lower_in_place(name);
    }
    req.request_id = given_request_id(msg);
    if (req.request_id.empty())
      req.request_id = make_request_id();
    req.remote = remote_;
    next_keep_alive_ = parser_->keep_alive();
    header_checked_ = true;

    // Answer `Expect: 100-continue` unless the body is already here.
    if (msg.version() >= 11 && !parser_->is_done()) {
      auto it = msg.find(bhttp::field::expect);
      if (it != msg.end() && beast::iequals(it->value(), "100-continue")) {
        auto len = parser_->content_length();
        bool waiting = len ? buffer_.size() < *len : buffer_.size() == 0;
        if (waiting)
          push_interim("HTTP/1.1 100 Continue\r\n\r\n");
      }
    }
    return true;
  }

  void on_parse_error(error_code ec) {
    if (ec == bhttp::error::body_limit) {
      // A Content-Length above the limit fails before the header counts as
      // done; a forbidden Transfer-Encoding next to it still makes it a 400.
      if (parser_ && !parser_->is_header_done()) {
        if (auto problem = framing_problem(parser_->get())) {
          fail(errc::bad_request, problem);
          return;
        }
      }
      std::string msg = "the request body exceeds the limit of ";
      append_uint(msg, opts_.max_body_bytes);
      msg += " bytes";
      fail(errc::payload_too_large, msg);
    } else if (ec == bhttp::error::header_limit) {
      // The parser consumes the request line once it is complete and keeps
      // the fields buffered until the header ends. Either the target is
      // known, or the request line (so far) is still in the buffer.
      size_t line = 0;
      if (parser_ && parsed_bytes_ > 0) {
        line = parser_->get().target().size();
      } else {
        // Measure the target alone: from the first space to the next one,
        // or to the end of what arrived. A long method is no long target.
        auto bytes = buffer_.data();
        std::string_view buffered{static_cast<const char*>(bytes.data()),
                                  bytes.size()};
        buffered =
          buffered.substr(0, std::min(buffered.find("\r\n"), buffered.size()));
        auto first = buffered.find(' ');
        if (first != std::string_view::npos) {
          auto target = buffered.substr(first + 1);
          line = std::min(target.find(' '), target.size());
        }
      }
      if (line > opts_.max_target_bytes) {
        fail(errc::uri_too_long, target_limit_message());
      } else {
        std::string msg = "the request header exceeds the limit of ";
        append_uint(msg, opts_.max_header_bytes);
        msg += " bytes";
        fail(errc::header_too_large, msg);
      }
    } else {
      fail(errc::bad_request, "malformed HTTP request: " + ec.message());
    }
  }

  // A chunk-size line (with its extensions) or the trailer section of a
  // chunked body fills the buffer without ending. That is a bad body, not a
  // large header: 400, or 413 if the chunk size it starts with already
  // exceeds what is left of the body limit.
  void on_chunk_line_limit() {
    auto bytes = buffer_.data();
    std::string_view line{static_cast<const char*>(bytes.data()), bytes.size()};
    // The parser keeps the CRLF after a chunk's data with the next line.
    if (line.compare(0, 2, "\r\n") == 0)
      line.remove_prefix(2);
    uint64_t size = 0;
    bool too_large = false;
    for (auto c : line) {
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0)
        break;
      size = size * 16 + static_cast<uint64_t>(digit);
      if (size > opts_.max_body_bytes) {
        too_large = true;
        break;
      }
    }
    auto received = parser_->get().body().size();
    if (too_large || received > opts_.max_body_bytes ||
        size > opts_.max_body_bytes - received) {
      on_parse_error(bhttp::error::body_limit);
      return;
    }
    std::string msg = "a chunk-size line or the trailer section exceeds the "
                      "limit of ";
    append_uint(msg, buffer_.max_size());
    msg += " bytes";
    fail(errc::bad_request, msg);
  }

  std::string target_limit_message() const {
    std::string msg = "the request target exceeds the limit of ";
    append_uint(msg, opts_.max_target_bytes);
    msg += " bytes";
    return msg;
  }

  // Turns the complete message in `parser_` into a request and dispatches
  // it; a target that does not parse gets its 400 right away.
  void on_request() {
    // Method, target, fields, ID and keep-alive come from the header alone.
    auto& msg = parser_->get();
    auto req = std::move(next_);
    next_ = http_request{};
    req.body = std::move(msg.body());
    bool keep_alive = next_keep_alive_ && !draining_;
    auto version = msg.version();
    bool head_only = msg.method() == bhttp::verb::head;
    parser_.reset();
    header_checked_ = false;

    // Whatever follows in the buffer already belongs to the next request.
    request_started_ = buffer_.size() > 0;
    read_since_ = clock_type::now();

    // Reserve the response slot in request order.
    auto& s = queue_.emplace_back();
    auto seq = first_seq_ + queue_.size() - 1;
    ++pending_requests_;
    s.request_id = req.request_id;
    s.version = version;
    s.head_only = head_only;
    s.keep_alive = keep_alive;
    if (!keep_alive)
      read_closed_ = true;

    std::string error;
    if (parse_target(req.target, req.path, req.query, error) != errc::none) {
      dispatch_result result;
      result.code = errc::bad_request;
      result.message = std::move(error);
      build_response(s, std::move(result));
      flush();
      return;
    }
    update_deadline();
    dispatch(std::move(req), seq);
  }

  void dispatch(http_request&& req, uint64_t seq);

  // -- writing ----------------------------------------------------------------

  // Answers with an error of this layer and closes after writing it.
  void fail(errc code, const std::string& message) {
    read_closed_ = true;
    auto& s = queue_.emplace_back();
    ++pending_requests_;
    // Echo the client's ID if the header got that far; once it is complete,
    // the ID the request got then, whatever the trailer fields say.
    if (header_checked_)
      s.request_id = next_.request_id;
    else if (parser_)
      s.request_id = given_request_id(parser_->get());
    if (s.request_id.empty())
      s.request_id = make_request_id();
    s.keep_alive = false;
    parser_.reset();
    header_checked_ = false;
    dispatch_result result;
    result.code = code;
    result.message = message;
    build_response(s, std::move(result));
    flush();
  }

  void push_interim(std::string_view text) {
    auto& s = queue_.emplace_back();
    s.interim = true;
    s.ready = true;
    s.head.assign(text.data(), text.size());
    flush();
  }

  // The slot of request `seq` while it waits to be written, or null.
  slot* find_slot(uint64_t seq) {
    if (closed_ || seq < first_seq_ || seq - first_seq_ >= queue_.size())
      return nullptr;
    return &queue_[seq - first_seq_];
  }

  // Appends the content type and the owner's header fields of `res`.
  static void write_fields(slot& s, const http_response& res) {
    bool typed = !res.content_type.empty();
    if (typed)
      append_field(s.head, "Content-Type", res.content_type);
    for (auto& [name, value] : res.headers) {
      if (reserved_field(name) || (typed && iequals(name, "content-type")))
        continue;
      append_field(s.head, name, value);
    }
  }

  // Queues `data` as the next piece of the streamed body of `s`.
  static void append_stream(slot& s, std::string&& data) {
    if (data.empty() || s.head_only)
      return;
    if (!s.chunked) {
      s.pending += data;
      return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    char size[16];
    size_t len = 0;
    for (auto n = data.size(); n != 0; n >>= 4)
      size[len++] = hex[n & 0xf];
    while (len > 0)
      s.pending += size[--len];
    s.pending += "\r\n";
    s.pending += data;
    s.pending += "\r\n";
  }

  // Serializes `result` into `s` and marks it ready.
  void build_response(slot& s, dispatch_result&& result) {
    if (result.code == errc::none) {
      auto& res = result.response;
      if (auto problem = check_response(res); !problem.empty()) {
        result.code = errc::internal;
        result.message = std::move(problem);
      } else {
        begin_head(s, res.status);
        write_fields(s, res);
        s.body = std::move(res.body);
        end_head(s, res.status);
        return;
      }
    }

    // The only place where error codes become HTTP statuses.
    auto status = to_http_status(result.code);
    begin_head(s, status);
    append_field(s.head, "Content-Type", "application/json");
    if (result.code == errc::method_not_allowed && !result.allow.empty() &&
        valid_field_value(result.allow))
      append_field(s.head, "Allow", result.allow);
    s.body = error_body(to_code(result.code), result.message);
    end_head(s, status);
  }

  // Returns what makes `res` unfit for the wire, or an empty string.
  static std::string check_response(const http_response& res) {
    if (res.status < 200 || res.status > 599)
      return "the endpoint answered with the invalid status " +
             std::to_string(res.status);
    if (!valid_field_value(res.content_type))
      return "the endpoint answered with an invalid Content-Type";
    for (auto& [name, value] : res.headers)
      if (!valid_field_name(name) || !valid_field_value(value))
        return "the endpoint answered with an invalid header field";
    return {};
  }

  void begin_head(slot& s, unsigned status) {
    auto& out = s.head;
    out.reserve(192 + s.request_id.size());
    out += s.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    append_uint(out, status);
    out += ' ';
    auto code = bhttp::int_to_status(status);
    if (code != bhttp::status::unknown) {
      auto reason = bhttp::obsolete_reason(code);
      out.append(reason.data(), reason.size());
    }
    out += "\r\nServer: switchboard\r\nDate: ";
    out += http_date();
    out += "\r\n";
    append_field(out, "X-Request-Id", s.request_id);
  }

  void end_head(slot& s, unsigned status) {
    auto& out = s.head;
    // 204 and 304 carry no body; HEAD announces the body it does not send.
    if (status == 204 || status == 304) {
      s.body.clear();
    } else {
      out += "Content-Length: ";
      append_uint(out, s.body.size());
      out += "\r\n";
    }
    if (s.head_only)
      s.body.clear();
    s.ready = true;
  }

  // Completes the head of a response that is about to be written.
  static void seal(slot& s) {
    if (s.interim || s.sealed)
      return;
    auto& out = s.head;
    if (!s.keep_alive)
      out += "Connection: close\r\n";
    else if (s.version == 10)
      out += "Connection: keep-alive\r\n";
    out += "\r\n";
    s.sealed = true;
  }

  // Writes the ready responses at the front of the queue, in order.
  void flush() {
    if (writing_ || closed_ || lingering_)
      return;
    size_t n = 0;
    size_t nbufs = 0;
    while (n < queue_.size() && n < max_batch && queue_[n].ready) {
      auto& s = queue_[n];
      if (s.streaming) {
        if (!s.head_written) {
          seal(s);
          bufs_[nbufs++] = net::buffer(s.head);
          s.head_written = true;
        }
        s.body = std::move(s.pending);
        s.pending.clear();
        if (s.stream_ended && s.chunked && !s.head_only)
          s.body += "0\r\n\r\n";
        if (!s.body.empty())
          bufs_[nbufs++] = net::buffer(s.body);
        // An open stream holds the line: what follows waits for its end.
        if (!s.stream_ended)
          break;
        ++n;
        if (!s.keep_alive)
          break;
        continue;
      }
      ++n;
      seal(s);
      bufs_[nbufs++] = net::buffer(s.head);
      if (!s.body.empty())
        bufs_[nbufs++] = net::buffer(s.body);
      if (!s.interim && !s.keep_alive)
        break;
    }
    if (nbufs == 0) {
      // A stream that ended with nothing left to write is done as well.
      if (n > 0) {
        batch_ = n;
        written();
        return;
      }
      maybe_finish();
      return;
    }
    writing_ = true;
    batch_ = n;
    write_since_ = clock_type::now();
    update_deadline();
    net::async_write(socket_, buffer_range{bufs_.data(), bufs_.data() + nbufs},
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->guarded([&] { self->on_write(ec); });
                     });
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (closed_)
      return;
    if (ec) {
      close_now();
      return;
    }
    written();
  }

  // Takes the `batch_` slots that were written off the queue and goes on.
  void written() {
    bool close = false;
    for (size_t i = 0; i < batch_; ++i) {
      auto& s = queue_.front();
      if (!s.interim) {
        --pending_requests_;
        close = close || !s.keep_alive;
      }
      queue_.pop_front();
      ++first_seq_;
    }
    if (close) {
      linger_close();
      return;
    }
    if (queue_.empty())
      idle_since_ = clock_type::now();
    update_deadline();
    if (paused_ && pending_requests_ < opts_.max_pipelined) {
      paused_ = false;
      parse();
    }
    flush();
  }

  // -- closing ----------------------------------------------------------------

  // Closes once reading stopped and nothing is left to write.
  void maybe_finish() {
    if (!closed_ && read_closed_ && queue_.empty() && !writing_ && !reading_)
      close_now();
  }

  // Sends FIN after our last response, then reads and discards for a while,
  // so that unread request bytes do not turn our close into a reset that
  // destroys the response on its way.
  void linger_close() {
    if (draining_) {
      close_now();
      return;
    }
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close_now();
      return;
    }
    lingering_ = true;
    read_closed_ = true;
    linger_since_ = clock_type::now();
    linger_left_ = linger_bytes;
    update_deadline();
    if (!reading_)
      linger_read();
  }

  void linger_read() {
    buffer_.clear();
    reading_ = true;
    socket_.async_read_some(
      buffer_.prepare(std::min<size_t>(header_read_size, buffer_.max_size())),
      [self = shared_from_this()](error_code ec, size_t len) {
        self->guarded([&] { self->on_read(ec, len); });
      });
  }

  void on_linger_read(error_code ec, size_t len) {
    if (ec || len >= linger_left_) {
      close_now();
      return;
    }
    linger_left_ -= len;
    linger_read();
  }

  void close_now() {
    if (closed_)
      return;
    closed_ = true;
    gone_->store(true, std::memory_order_release);
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
    // The queue stays: a pending write may still refer to its buffers.
    {
      std::lock_guard<std::mutex> guard{state_->mtx};
      if (registered_) {
        registered_ = false;
        if (counted_)
          --state_->active;
        // The caller holds a reference, so erasing ours is safe.
        state_->conns.erase(pos_);
      }
    }
    state_->cv.notify_all();
  }

  // -- timeouts ---------------------------------------------------------------

  // The moment at which the connection times out in its current state.
  time_point deadline() const {
    if (closed_)
      return never;
    if (lingering_)
      return linger_since_ + linger_time;
    auto result = never;
    if (writing_)
      result = write_since_ + milliseconds{opts_.read_timeout_ms};
    // The client's clock runs only while no request waits for us.
    if (reading_ && queue_.empty()) {
      auto t = request_started_
                 ? std::max(read_since_, idle_since_) +
                     milliseconds{opts_.read_timeout_ms}
                 : idle_since_ + milliseconds{opts_.idle_timeout_ms};
      result = std::min(result, t);
    }
    return result;
  }

  // Makes sure the timer fires no later than `deadline()`. A later deadline
  // leaves the timer alone: it fires early and re-arms, which is cheaper than
  // re-arming on every request.
  void update_deadline() {
    auto t = deadline();
    if (t == never || (timer_pending_ && timer_expiry_ <= t))
      return;
    arm_timer(t);
  }

  void arm_timer(time_point t) {
    timer_.expires_at(t);
    timer_expiry_ = t;
    timer_pending_ = true;
    timer_.async_wait(
      [self = shared_from_this(), gen = ++timer_gen_](error_code ec) {
        self->guarded([&] { self->on_timer(ec, gen); });
      });
  }

  void on_timer(error_code ec, uint64_t gen) {
    // A re-armed or cancelled wait.
    if (gen != timer_gen_ || closed_)
      return;
    timer_pending_ = false;
    if (ec)
      return;
    auto t = deadline();
    if (t == never)
      return;
    auto now = clock_type::now();
    if (now < t) {
      arm_timer(t);
      return;
    }
    on_deadline(now);
  }

  void on_deadline(time_point now) {
    if (lingering_ ||
        (writing_ &&
         now >= write_since_ + milliseconds{opts_.read_timeout_ms})) {
      close_now();
      return;
    }
    if (!request_started_) {
      // Idle keep-alive connection: close without a word.
      close_now();
      return;
    }
    // A request started and did not complete in time. Cancelling the read
    // completes it with an error that `on_read` ignores.
    error_code ec;
    socket_.cancel(ec);
    std::string msg = "the request did not arrive within ";
    append_uint(msg, opts_.read_timeout_ms);
    msg += " ms";
    fail(errc::request_timeout, msg);
  }

  // -- member variables -------------------------------------------------------

  shared_state_ptr state_;
  const server_options& opts_;
  socket_type socket_;
  timer_type timer_;
  beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  /// Where the pending read of a request puts its bytes.
  char* read_dst_ = nullptr;
  /// Bytes that `parser_` consumed so far.
  size_t parsed_bytes_ = 0;
  /// Empty lines skipped before the current request.
  size_t empty_lines_ = 0;
  /// The request being read, as its header section made it: set once the
  /// header is checked; the body joins it at the end.
  http_request next_;
  bool next_keep_alive_ = true;
  std::string remote_;
  /// Set once nobody waits for the responses anymore: the connection closed
  /// or the client ended its side. Shared with the reply sinks, which may
  /// outlive the connection.
  std::shared_ptr<std::atomic<bool>> gone_;

  /// Response slots; `queue_[i]` has sequence number `first_seq_ + i`.
  std::deque<slot> queue_;
  uint64_t first_seq_ = 0;
  /// Slots in `queue_` that answer a request (not interim).
  size_t pending_requests_ = 0;
  std::array<net::const_buffer, 2 * max_batch> bufs_;
  size_t batch_ = 0;

  std::list<std::shared_ptr<connection>>::iterator pos_;
  bool registered_ = false;
  bool counted_;

  bool reading_ = false;
  bool writing_ = false;
  /// No further request will be read.
  bool read_closed_ = false;
  /// The client ended its sending side; buffered requests are still served.
  bool peer_eof_ = false;
  /// Reading waits for pending requests to drop below `max_pipelined`.
  bool paused_ = false;
  bool header_checked_ = false;
  /// Bytes of the next request arrived.
  bool request_started_ = false;
  bool lingering_ = false;
  bool draining_ = false;
  bool closed_ = false;
  size_t linger_left_ = 0;

  time_point idle_since_;
  time_point read_since_;
  time_point write_since_;
  time_point linger_since_;
  time_point timer_expiry_;
  bool timer_pending_ = false;
  uint64_t timer_gen_ = 0;
};

// -- the reply sink -----------------------------------------------------------

/// Carries one result back to its connection. Holds the connection weakly:
/// the sink may outlive it, and even the server.
class sink_impl final : public reply_sink {
public:
  sink_impl(shared_state_ptr state, std::weak_ptr<connection> conn,
            std::shared_ptr<const std::atomic<bool>> gone, uint64_t seq)
      : state_(std::move(state))
      , conn_(std::move(conn))
      , gone_(std::move(gone))
      , seq_(seq) {
    // Nothing to do
  }

  ~sink_impl() override {
    // A sink dropped without an answer must not leave its client waiting.
    if (streaming_.load(std::memory_order_relaxed)) {
      try {
        end_stream();
      } catch (...) {
        // Nothing left to do
      }
      return;
    }
    if (delivered_.load(std::memory_order_relaxed))
      return;
    try {
      dispatch_result result;
      result.code = errc::internal;
      result.message = "the request was dropped without an answer";
      send(std::move(result));
    } catch (...) {
      // Nothing left to do
    }
  }

  void deliver(dispatch_result result) override {
    if (delivered_.exchange(true))
      return;
    send(std::move(result));
  }

  bool streams_live() const noexcept override { return true; }

  bool start_stream(http_response head) override {
    if (delivered_.exchange(true))
      return false;
    streaming_.store(true, std::memory_order_release);
    return post([seq = seq_, head = std::move(head)](connection& c) mutable {
      c.on_stream_start(seq, std::move(head));
    });
  }

  bool write(std::string data) override {
    if (!streaming_.load(std::memory_order_acquire) || abandoned())
      return false;
    return post([seq = seq_, data = std::move(data)](connection& c) mutable {
      c.on_stream_data(seq, std::move(data));
    });
  }

  void end_stream() override {
    if (!streaming_.exchange(false))
      return;
    post([seq = seq_](connection& c) { c.on_stream_end(seq); });
  }

  // Reads a flag instead of locking the connection: a lock could make this
  // thread the one that destroys the connection, after its io_context.
  bool abandoned() const noexcept override {
    return gone_->load(std::memory_order_acquire);
  }

private:
  void send(dispatch_result&& result) {
    post([seq = seq_, result = std::move(result)](connection& c) mutable {
      c.on_result(seq, std::move(result));
    });
  }

  // Runs `f` on the connection's executor; false if it is gone.
  template <class F>
  bool post(F&& f) {
    // Hold the gate while touching the connection: once closed, the
    // io_context may be gone.
    std::lock_guard<std::mutex> guard{state_->gate_mtx};
    if (!state_->open)
      return false;
    auto conn = conn_.lock();
    if (!conn)
      return false;
    auto ex = conn->executor();
    net::post(ex, [conn = std::move(conn), f = std::forward<F>(f)]() mutable {
      f(*conn);
    });
    return true;
  }

  shared_state_ptr state_;
  std::weak_ptr<connection> conn_;
  std::shared_ptr<const std::atomic<bool>> gone_;
  uint64_t seq_;
  std::atomic<bool> delivered_{false};
  /// A stream started and did not end yet.
  std::atomic<bool> streaming_{false};
};

void connection::dispatch(http_request&& req, uint64_t seq) {
  auto sink = std::make_shared<sink_impl>(state_, weak_from_this(), gone_, seq);
  // An exception from the dispatcher destroys the sink, which answers 500.
  try {
    state_->dispatcher->dispatch(std::move(req), std::move(sink));
  } catch (...) {
    // Answered by the sink's destructor
  }
}

} // namespace

// -- server::impl -------------------------------------------------------------

class server::impl {
public:
  impl(server_options opts, std::shared_ptr<request_dispatcher> dispatcher)
      : state_(std::make_shared<shared_state>(std::move(opts),
                                              std::move(dispatcher)))
      , iocs_(make_contexts(state_->opts.threads))
      , acceptor_(iocs_.front()->get_executor())
      , retry_timer_(iocs_.front()->get_executor()) {
    // Nothing to do
  }

  ~impl() { stop(0); }

  std::string start() {
    std::lock_guard<std::mutex> guard{lifecycle_mtx_};
    if (started_ || stopped_)
      return "the server was started before";
    auto& opts = state_->opts;
    if (!state_->dispatcher)
      return "no request dispatcher";

    // Bind and listen.
    error_code ec;
    auto addr = net::ip::make_address(opts.bind, ec);
    if (ec)
      return "invalid bind address '" + opts.bind + "': " + ec.message();
    tcp::endpoint ep{addr, opts.port};
    auto what = [&](const char* step) {
      return std::string{"cannot "} + step + " " + opts.bind + ":" +
             std::to_string(opts.port) + ": " + ec.message();
    };
    if (acceptor_.open(ep.protocol(), ec); ec)
      return what("open a socket for");
    if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec)
      return what("set SO_REUSEADDR on");
    if (acceptor_.bind(ep, ec); ec)
      return what("bind");
    if (acceptor_.listen(opts.backlog, ec); ec)
      return what("listen on");
    auto local = acceptor_.local_endpoint(ec);
    if (ec)
      return what("read the address of");
    port_ = local.port();
    address_ = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                       : local.address().to_string();
    address_ += ":" + std::to_string(port_);

    // Start accepting and the I/O threads.
    for (auto& ioc : iocs_)
      work_.emplace_back(ioc->get_executor());
    net::dispatch(acceptor_.get_executor(), [this] { do_accept(); });
    threads_.reserve(iocs_.size());
    for (auto& ioc : iocs_)
      threads_.emplace_back([this, &ioc = *ioc] { run(ioc); });
    started_ = true;
    return {};
  }

  std::string address() const { return address_; }

  uint16_t port() const { return port_; }

  void stop(uint32_t drain_ms) {
    std::lock_guard<std::mutex> guard{lifecycle_mtx_};
    if (stopped_)
      return;
    stopped_ = true;
    if (!started_)
      return;

    // Stop accepting; new connections close at once.
    std::vector<std::shared_ptr<connection>> conns;
    {
      std::lock_guard<std::mutex> lock{state_->mtx};
      state_->stopping = true;
      conns.assign(state_->conns.begin(), state_->conns.end());
    }
    net::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
    });

    // Drain: no new requests; connections close after their last response.
    for (auto& c : conns)
      net::post(c->executor(), [c] { c->drain(); });
    conns.clear();
    wait_for_connections(milliseconds{drain_ms});

    // Close whatever is left, then stop the I/O threads.
    {
      std::lock_guard<std::mutex> lock{state_->mtx};
      conns.assign(state_->conns.begin(), state_->conns.end());
    }
    for (auto& c : conns)
      net::post(c->executor(), [c] { c->force_close(); });
    conns.clear();
    wait_for_connections(milliseconds{1000});
    work_.clear();
    for (auto& ioc : iocs_)
      ioc->stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    threads_.clear();

    // No sink may touch a connection or the io_context from now on.
    {
      std::lock_guard<std::mutex> lock{state_->gate_mtx};
      state_->open = false;
    }
    std::list<std::shared_ptr<connection>> rest;
    {
      std::lock_guard<std::mutex> lock{state_->mtx};
      for (auto& c : state_->conns)
        c->unregistered();
      rest.swap(state_->conns);
      state_->active = 0;
    }
    // `rest` releases the connections while the io_context still exists.
  }

private:
  static std::vector<std::unique_ptr<net::io_context>> make_contexts(size_t n) {
    std::vector<std::unique_ptr<net::io_context>> result;
    result.reserve(n);
    // One thread runs each: the hint lets Asio skip what only several
    // threads on one io_context need.
    for (size_t i = 0; i < n; ++i)
      result.push_back(std::make_unique<net::io_context>(1));
    return result;
  }

  void run(net::io_context& ioc) noexcept {
    // A name of its own, for top -H and profilers; threads would otherwise
    // inherit the name of whoever started the server.
    pthread_setname_np(pthread_self(), "sb.http.io");
    // These threads wake for every answer an actor posts. A woken thread
    // would preempt whatever runs on its core, often the scheduler thread
    // that posted the answer and has more messages queued (on two cores,
    // about 10,000 such preemptions a second). SCHED_BATCH keeps their fair
    // share of the CPU and waives only that preemption; it needs no
    // privilege, and where it is refused the threads run as they are.
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
    // An exception escaping a handler skips that handler, not the thread.
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (...) {
        // Keep serving
      }
    }
  }

  void wait_for_connections(milliseconds timeout) {
    std::unique_lock<std::mutex> lock{state_->mtx};
    state_->cv.wait_for(lock, timeout, [&] { return state_->conns.empty(); });
  }

  void do_accept() {
    // Connections go to the I/O threads in turn.
    auto& ioc = *iocs_[next_context_++ % iocs_.size()];
    acceptor_.async_accept(ioc, [this](error_code ec, socket_type sock) {
      on_accept(ec, std::move(sock));
    });
  }

  void on_accept(error_code ec, socket_type sock) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      // Out of descriptors or a connection reset before accept: retry soon
      // instead of spinning.
      retry_timer_.expires_after(milliseconds{50});
      retry_timer_.async_wait([this](error_code ec) {
        if (!ec && acceptor_.is_open())
          do_accept();
      });
      return;
    }
    try {
      error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      std::shared_ptr<connection> conn;
      bool reject = false;
      {
        std::lock_guard<std::mutex> lock{state_->mtx};
        if (!state_->stopping) {
          reject = state_->active >= state_->opts.max_connections;
          conn = std::make_shared<connection>(state_, std::move(sock), !reject);
          if (!reject)
            ++state_->active;
          state_->conns.push_front(conn);
          conn->registered(state_->conns.begin());
        }
      }
      if (conn) {
        auto ex = conn->executor();
        net::dispatch(ex, [conn, reject] { conn->start(reject); });
      }
    } catch (...) {
      // Out of memory: the socket closes, the server goes on.
    }
    do_accept();
  }

  shared_state_ptr state_;
  /// One per I/O thread; the first also runs the acceptor.
  std::vector<std::unique_ptr<net::io_context>> iocs_;
  std::vector<net::executor_work_guard<executor_type>> work_;
  acceptor_type acceptor_;
  timer_type retry_timer_;
  size_t next_context_ = 0;
  std::vector<std::thread> threads_;
  std::mutex lifecycle_mtx_;
  bool started_ = false;
  bool stopped_ = false;
  std::string address_;
  uint16_t port_ = 0;
};

// -- server -------------------------------------------------------------------

server::server(server_options opts,
               std::shared_ptr<request_dispatcher> dispatcher)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(dispatcher))) {
  // Nothing to do
}

server::~server() {
  impl_->stop(0);
}

std::string server::start() {
  return impl_->start();
}

std::string server::address() const {
  return impl_->address();
}

uint16_t server::port() const {
  return impl_->port();
}

void server::stop(uint32_t drain_ms) {
  impl_->stop(drain_ms);
}

} // namespace sb::http
