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

// Length of the UTF-8 sequence starting at `str[i]`, or 0 if invalid.
size_t utf8_sequence_length(const std::string& str, size_t i) noexcept {
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(str[k]);
  };
  auto c = byte(i);
  size_t len = c < 0x80           ? 1
               : (c >> 5) == 0x6  ? 2
               : (c >> 4) == 0xE  ? 3
               : (c >> 3) == 0x1E ? 4
                                  : 0;
  if (len == 0 || i + len > str.size())
    return 0;
  for (size_t k = 1; k < len; ++k)
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
  // Reject overlong forms, surrogates and code points past U+10FFFF.
  if (len == 2 && c < 0xC2)
    return 0;
  if (len == 3) {
    auto c1 = byte(i + 1);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))
      return 0;
  }
  if (len == 4) {
    auto c1 = byte(i + 1);
    if ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90))
      return 0;
  }
  return len;
}

} // namespace

void append_json_string(std::string& out, const std::string& str) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < str.size();) {
    auto c = static_cast<unsigned char>(str[i]);
    if (c >= 0x80) {
      auto len = utf8_sequence_length(str, i);
      if (len == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(str, i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
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
      if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
    }
    ++i;
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
