#pragma once

// JSON text read and written on the hot paths: the bodies of MCP requests,
// the results that owners answer with, and strings written into replies.
// The reader follows RFC 8259 to the letter (UTF-8 checked, no comments, no
// trailing commas, one value per text) and builds the same tree that
// nlohmann's parser builds, with its limits on depth and members checked as
// it goes instead of in a scan of its own. It does one pass over the bytes
// with no token buffer, which makes it several times cheaper than the
// general parser on small messages.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "modules/common/json_limits.hpp"

namespace sb::modules {

/// Reads the JSON text `text` into `out`. Returns an empty string on
/// success, otherwise what is wrong for a person to read: a syntax error
/// says "not valid JSON" and the byte where reading stopped; a text nested
/// deeper than `max_depth` or with an object of more than `max_members`
/// members says which limit it broke. `out` is unspecified after a failure.
/// Duplicate member names keep their first place and their last value, and
/// numbers too large for any type (1e400) are errors, as with nlohmann.
std::string read_json(std::string_view text, nlohmann::ordered_json& out,
                      size_t max_depth, size_t max_members = max_json_members);

/// Whether `text` is one valid JSON value nested at most `max_depth` deep,
/// checked like `read_json` without building anything.
bool is_json(std::string_view text, size_t max_depth = 512);

/// Appends `x` to `out` as compact JSON text, as `x.dump()` writes it;
/// bytes in strings that are not valid UTF-8 become `\ufffd`. Strings
/// alone are written by `sb::append_json_string`.
void append_json(std::string& out, const nlohmann::ordered_json& x);

/// `x` as compact JSON text (see `append_json`).
std::string write_json(const nlohmann::ordered_json& x);

} // namespace sb::modules
