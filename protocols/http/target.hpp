#pragma once

// Request-target parsing and request IDs for the HTTP layer. Plain C++: no
// Beast, Asio or CAF header, so that the rules can be tested on their own.

#include <string>
#include <string_view>
#include <vector>

#include "actors/errc.hpp"
#include "actors/messages.hpp"

namespace sb::http {

/// Splits an origin-form request-target (`/a/b?x=1`) into decoded path
/// segments and query fields. The path is split at `/` first and each segment
/// is percent-decoded after, so that `%2F` stays inside its segment. The
/// leading `/` yields no segment, an empty trailing segment is dropped (so
/// `/a/` equals `/a` and `/` is the empty path) and empty middle segments are
/// kept. The query is split at `&`, then at the first `=`; keys and values
/// decode `%XX` and `+` (as a space); a key without `=` has an empty value.
/// Returns `errc::bad_request` with a message for people in `error` when the
/// target is not in origin form, carries a fragment, has malformed percent
/// encoding or decodes to a NUL byte; `path` and `query` are then unspecified.
errc parse_target(std::string_view target, std::vector<std::string>& path,
                  field_list& query, std::string& error);

/// Returns whether `id` may be echoed as `X-Request-Id`: 1 to 128 characters
/// out of `A-Z a-z 0-9 . _ -`.
bool valid_request_id(std::string_view id) noexcept;

/// Returns a new request ID, unique within the process and unlikely to repeat
/// across processes: a random per-process prefix and a counter, in hex.
/// Thread-safe.
std::string make_request_id();

} // namespace sb::http
