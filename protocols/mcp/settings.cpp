#include "protocols/mcp/settings.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "actors/settings_reader.hpp"
#include "protocols/mcp/wire.hpp"

namespace sb::mcp {

namespace {

std::string read_list(const nlohmann::json& x, const std::string& key,
                      std::vector<std::string>& out) {
  if (!x.is_array())
    return key + ": expected an array of strings";
  std::vector<std::string> result;
  for (auto& y : x) {
    if (!y.is_string() || y.get<std::string>().empty() ||
        y.get<std::string>().size() > 256)
      return key + ": expected strings of 1 to 256 characters";
    auto str = y.get<std::string>();
    if (std::any_of(str.begin(), str.end(),
                    [](char c) { return c <= 0x20 || c >= 0x7f; }))
      return key + ": '" + str + "' holds spaces or invisible characters";
    for (auto& c : str)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    result.push_back(std::move(str));
  }
  out = std::move(result);
  return {};
}

} // namespace

std::string parse_settings(const std::string& text, settings& out) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return "<section>: expected an object";
  std::vector<uint_key> numbers{
    uint_field("max_sessions", 1, 1'000'000, out.max_sessions),
    uint_field("session_idle_timeout_ms", 1000, 7 * 86'400'000ull,
               out.session_idle_timeout_ms),
    uint_field("page_size", 1, 10'000, out.page_size),
    uint_field("keepalive_interval_ms", 100, 3'600'000,
               out.keepalive_interval_ms),
    uint_field("call_timeout_ms", 100, 600'000, out.call_timeout_ms),
    uint_field("max_json_depth", 4, 1000, out.max_json_depth),
    uint_field("max_calls_per_session", 1, 100'000, out.max_calls_per_session),
  };
  for (auto& [key, val] : doc.items()) {
    std::string err;
    if (key == "default_context") {
      if (!val.is_string() || !valid_context_name(val.get<std::string>()))
        err = key + ": expected a context name of 1 to 64 characters a-z, "
                    "0-9, '-' or '_'";
      else
        out.default_context = val.get<std::string>();
    } else if (key == "allowed_origins") {
      err = read_list(val, key, out.allowed_origins);
    } else if (key == "allowed_hosts") {
      err = read_list(val, key, out.allowed_hosts);
    } else {
      auto k = std::find_if(numbers.begin(), numbers.end(),
                            [&](const uint_key& x) { return key == x.name; });
      if (k == numbers.end())
        return key + ": unknown key";
      uint64_t x = 0;
      err = read_uint(val, key, k->lo, k->hi, x);
      if (err.empty())
        k->store(x);
    }
    if (!err.empty())
      return err;
  }
  return {};
}

} // namespace sb::mcp
