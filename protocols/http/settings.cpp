#include "protocols/http/settings.hpp"

#include "actors/settings_reader.hpp"

namespace sb::http {

std::string parse_settings(const std::string& text, settings& out) {
  auto& s = out.server;
  constexpr uint64_t mib = 1024 * 1024;
  auto err = read_uint_section(
    text, {uint_field("max_header_bytes", 256, 1 * mib, s.max_header_bytes),
           uint_field("max_target_bytes", 64, 1 * mib, s.max_target_bytes),
           uint_field("max_body_bytes", 0, 1024 * mib, s.max_body_bytes),
           uint_field("read_timeout_ms", 10, 3'600'000, s.read_timeout_ms),
           uint_field("idle_timeout_ms", 10, 3'600'000, s.idle_timeout_ms),
           uint_field("max_pipelined", 1, 1024, s.max_pipelined),
           uint_field("max_connections", 1, 1'000'000, s.max_connections),
           uint_field("backlog", 1, 65535, s.backlog),
           uint_field("drain_timeout_ms", 0, 600'000, out.drain_timeout_ms)});
  if (!err.empty())
    return err;
  if (s.max_target_bytes >= s.max_header_bytes)
    return "max_target_bytes: must be below max_header_bytes (" +
           std::to_string(s.max_header_bytes) +
           "), so that 414 and 431 can be told apart";
  return {};
}

} // namespace sb::http
