#include "actors/settings_reader.hpp"

#include <algorithm>

namespace sb {

std::string read_uint_section(const std::string& text,
                              const std::vector<uint_key>& keys) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return "<section>: not valid JSON";
  if (!doc.is_object())
    return "<section>: expected an object";
  for (auto& [name, val] : doc.items()) {
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const uint_key& k) { return name == k.name; });
    if (key == keys.end())
      return name + ": unknown key";
    uint64_t x = 0;
    if (auto err = read_uint(val, name, key->lo, key->hi, x); !err.empty())
      return err;
    key->store(x);
  }
  return {};
}

} // namespace sb
