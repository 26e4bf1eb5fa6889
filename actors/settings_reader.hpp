#pragma once

// Reading config values from JSON with messages that name the key. Shared by
// the core's config and by every module's and protocol's settings section.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb {

/// Reads a whole number in [lo, hi] from `x` into `out`. Returns an empty
/// string, or an error that starts with `key`.
template <class T>
std::string read_uint(const nlohmann::json& x, const std::string& key,
                      uint64_t lo, uint64_t hi, T& out) {
  if (!x.is_number_unsigned() && !(x.is_number_integer() && x >= 0))
    return key + ": expected a whole number from " + std::to_string(lo) +
           " to " + std::to_string(hi);
  auto val = x.get<uint64_t>();
  if (val < lo || val > hi)
    return key + ": " + std::to_string(val) + " is out of range " +
           std::to_string(lo) + " to " + std::to_string(hi);
  out = static_cast<T>(val);
  return {};
}

/// One whole-number key of a settings section.
struct uint_key {
  const char* name;
  uint64_t lo;
  uint64_t hi;
  std::function<void(uint64_t)> store;
};

/// A key `name` in [lo, hi] that lands in `out`.
template <class T>
uint_key uint_field(const char* name, uint64_t lo, uint64_t hi, T& out) {
  return {name, lo, hi, [&out](uint64_t x) {
            out = static_cast<T>(x);
          }};
}

/// Reads a settings section, a JSON object `text` whose keys are all among
/// `keys`. Returns an empty string, or an error that starts with the key (or
/// with `<section>` when the text is no JSON object).
std::string read_uint_section(const std::string& text,
                              const std::vector<uint_key>& keys);

} // namespace sb
