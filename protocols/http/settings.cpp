#include "protocols/http/settings.hpp"

#include <nlohmann/json.hpp>

#include "actors/settings_reader.hpp"

namespace sb::http {

std::string parse_settings(const std::string& text, settings& out) {
  using json = nlohmann::json;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error&) {
    return "<section>: not valid JSON";
  }
  if (!doc.is_object())
    return "<section>: expected an object";
  auto& s = out.server;
  constexpr uint64_t mib = 1024 * 1024;
  for (auto& [key, val] : doc.items()) {
    std::string err;
    if (key == "max_header_bytes")
      err = read_uint(val, key, 256, 1 * mib, s.max_header_bytes);
    else if (key == "max_target_bytes")
      err = read_uint(val, key, 64, 1 * mib, s.max_target_bytes);
    else if (key == "max_body_bytes")
      err = read_uint(val, key, 0, 1024 * mib, s.max_body_bytes);
    else if (key == "read_timeout_ms")
      err = read_uint(val, key, 10, 3'600'000, s.read_timeout_ms);
    else if (key == "idle_timeout_ms")
      err = read_uint(val, key, 10, 3'600'000, s.idle_timeout_ms);
    else if (key == "max_pipelined")
      err = read_uint(val, key, 1, 1024, s.max_pipelined);
    else if (key == "max_connections")
      err = read_uint(val, key, 1, 1'000'000, s.max_connections);
    else if (key == "backlog")
      err = read_uint(val, key, 1, 65535, s.backlog);
    else if (key == "drain_timeout_ms")
      err = read_uint(val, key, 0, 600'000, out.drain_timeout_ms);
    else
      err = key + ": unknown key";
    if (!err.empty())
      return err;
  }
  if (s.max_target_bytes >= s.max_header_bytes)
    return "max_target_bytes: must be below max_header_bytes (" +
           std::to_string(s.max_header_bytes) +
           "), so that 414 and 431 can be told apart";
  return {};
}

} // namespace sb::http
