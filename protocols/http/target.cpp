#include "protocols/http/target.hpp"

#include <atomic>
#include <cstdint>
#include <random>

#include "actors/ascii.hpp"

namespace sb::http {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Describes where a decoding error happened, e.g. `path segment 2`.
struct location {
  const char* what;
  size_t index;
};

void append_location(std::string& out, location where) {
  out += where.what;
  if (where.index > 0) {
    out += ' ';
    out += std::to_string(where.index);
  }
}

// Appends the percent-decoded `in` to `out`; with `plus_is_space`, a `+`
// decodes to a space (query syntax). Returns false and fills `error` on
// malformed input or a NUL byte.
bool decode(std::string_view in, bool plus_is_space, std::string& out,
            location where, std::string& error) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = in[i];
    if (c == '%') {
      int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        error = "malformed percent-encoding \"";
        error.append(in.substr(i, 3));
        error += "\" in ";
        append_location(error, where);
        error += ": '%' must be followed by two hex digits";
        return false;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') {
      error = "the ";
      append_location(error, where);
      error += " contains a NUL byte";
      return false;
    }
    out += c;
  }
  return true;
}

errc parse_path(std::string_view str, std::vector<std::string>& path,
                std::string& error) {
  // Skip the leading '/', then split first and decode each segment after.
  str.remove_prefix(1);
  size_t index = 1;
  for (;;) {
    auto pos = str.find('/');
    auto segment = str.substr(0, pos);
    // An empty trailing segment (`/a/` or `/`) is not a segment.
    if (pos == std::string_view::npos && segment.empty())
      return errc::none;
    auto& out = path.emplace_back();
    if (!decode(segment, false, out, {"path segment", index}, error))
      return errc::bad_request;
    if (pos == std::string_view::npos)
      return errc::none;
    str.remove_prefix(pos + 1);
    ++index;
  }
}

errc parse_query(std::string_view str, field_list& query, std::string& error) {
  size_t index = 0;
  while (!str.empty()) {
    auto pos = str.find('&');
    auto item = str.substr(0, pos);
    str =
      pos == std::string_view::npos ? std::string_view{} : str.substr(pos + 1);
    ++index;
    // `a=1&&b=2` and a trailing `&` carry no field.
    if (item.empty())
      continue;
    auto eq = item.find('=');
    auto& [key, value] = query.emplace_back();
    if (!decode(item.substr(0, eq), true, key, {"query field", index}, error))
      return errc::bad_request;
    if (eq != std::string_view::npos &&
        !decode(item.substr(eq + 1), true, value, {"query field", index},
                error))
      return errc::bad_request;
  }
  return errc::none;
}

} // namespace

errc parse_target(std::string_view target, std::vector<std::string>& path,
                  field_list& query, std::string& error) {
  path.clear();
  query.clear();

  // Only origin-form: absolute-form, authority-form and asterisk-form address
  // a proxy or the server as a whole.
  if (target.empty() || target.front() != '/') {
    if (target == "*")
      error = "the request target \"*\" (asterisk-form) is not supported";
    else
      error = "the request target must be a path starting with '/'";
    return errc::bad_request;
  }
  if (target.find('#') != std::string_view::npos) {
    error = "the request target must not contain a fragment ('#')";
    return errc::bad_request;
  }

  // Path up to the first '?', query after it.
  auto qpos = target.find('?');
  if (auto ec = parse_path(target.substr(0, qpos), path, error);
      ec != errc::none)
    return ec;
  if (qpos != std::string_view::npos)
    return parse_query(target.substr(qpos + 1), query, error);
  return errc::none;
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128)
    return false;
  for (auto c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string make_request_id() {
  // 64 random bits per process as 16 hex digits, then '-' and a counter.
  static const std::string prefix = [] {
    std::random_device rd;
    uint64_t bits = (uint64_t{rd()} << 32) ^ rd();
    std::string str(16, '0');
    for (size_t i = 0; i < 16; ++i)
      str[i] = hex_digits[(bits >> (60 - 4 * i)) & 0xF];
    return str;
  }();
  static std::atomic<uint64_t> counter{0};
  auto n = counter.fetch_add(1, std::memory_order_relaxed);
  char digits[16];
  size_t len = 0;
  do {
    digits[len++] = hex_digits[n & 0xF];
    n >>= 4;
  } while (n != 0);
  std::string result;
  result.reserve(prefix.size() + 1 + len);
  result += prefix;
  result += '-';
  while (len > 0)
    result += digits[--len];
  return result;
}

} // namespace sb::http
