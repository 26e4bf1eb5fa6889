#include "actors/errc.hpp"

namespace sb {

namespace {

struct errc_info {
  errc code;
  const char* name;
  uint16_t status;
};

// One row per code; the single place where codes meet HTTP statuses.
constexpr errc_info errc_table[] = {
  {errc::none, "none", 200},
  {errc::bad_request, "bad_request", 400},
  {errc::no_route, "no_route", 404},
  {errc::method_not_allowed, "method_not_allowed", 405},
  {errc::conflict, "conflict", 409},
  {errc::owner_down, "owner_down", 503},
  {errc::timeout, "timeout", 504},
  {errc::overloaded, "overloaded", 503},
  {errc::auth_unavailable, "auth_unavailable", 503},
  {errc::payload_too_large, "payload_too_large", 413},
  {errc::uri_too_long, "uri_too_long", 414},
  {errc::header_too_large, "header_too_large", 431},
  {errc::invalid_endpoint, "invalid_endpoint", 400},
  {errc::unknown_module, "unknown_module", 404},
  {errc::unavailable, "unavailable", 503},
  {errc::internal, "internal", 500},
  {errc::request_timeout, "request_timeout", 408},
  {errc::version_mismatch, "version_mismatch", 503},
  {errc::unauthorized, "unauthorized", 401},
  {errc::forbidden, "forbidden", 403},
};

const errc_info* find(errc x) noexcept {
  for (auto& row : errc_table)
    if (row.code == x)
      return &row;
  return nullptr;
}

} // namespace

const char* to_code(errc x) noexcept {
  auto row = find(x);
  return row ? row->name : "internal";
}

std::string to_string(errc x) {
  return to_code(x);
}

uint16_t to_http_status(errc x) noexcept {
  auto row = find(x);
  return row ? row->status : 500;
}

} // namespace sb

namespace sb {

namespace {

/// Bytes that end a run of plain string content: the quote, the backslash,
/// control characters and every byte of multi-byte UTF-8.
struct plain_bytes {
  bool special[256];
  constexpr plain_bytes()
      : special() {
    for (int c = 0; c < 256; ++c)
      special[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
  }
};

constexpr plain_bytes plain;

} // namespace

size_t utf8_sequence_length(const unsigned char* p,
                            const unsigned char* end) noexcept {
  auto in = [](unsigned char c, unsigned char lo, unsigned char hi) {
    return c >= lo && c <= hi;
  };
  auto left = end - p;
  if (left <= 0)
    return 0;
  auto c = p[0];
  if (c < 0x80)
    return 1;
  // RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
  if (in(c, 0xC2, 0xDF))
    return left >= 2 && in(p[1], 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    if (left < 3)
      return 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return in(p[1], lo, hi) && in(p[2], 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    if (left < 4)
      return 0;
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(p[1], lo, hi) && in(p[2], 0x80, 0xBF) && in(p[3], 0x80, 0xBF) ? 4
                                                                            : 0;
  }
  return 0;
}

void append_json_string(std::string& out, std::string_view str) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + str.size() + 2);
  out += '"';
  auto p = reinterpret_cast<const unsigned char*>(str.data());
  auto end = p + str.size();
  while (p != end) {
    auto run = p;
    while (p != end && !plain.special[*p])
      ++p;
    out.append(reinterpret_cast<const char*>(run),
               static_cast<size_t>(p - run));
    if (p == end)
      break;
    auto c = *p;
    if (c >= 0x80) {
      auto n = utf8_sequence_length(p, end);
      if (n == 0) {
        out += "\\ufffd";
        ++p;
      } else {
        out.append(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      continue;
    }
    ++p;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  out += '"';
}

std::string error_body(const char* code, const std::string& message) {
  std::string out = R"({"error":{"code":)";
  append_json_string(out, code);
  out += R"(,"message":)";
  append_json_string(out, message);
  out += "}}";
  return out;
}

} // namespace sb
