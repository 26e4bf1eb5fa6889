#include "modules/auth/base64url.hpp"

#include <array>
#include <cstdint>

namespace sb::auth {

namespace {

constexpr char alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The 6-bit value of each character, or -1 for characters outside the
/// alphabet.
constexpr std::array<int8_t, 256> make_values() {
  std::array<int8_t, 256> values{};
  for (auto& v : values)
    v = -1;
  for (int i = 0; i < 64; ++i)
    values[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return values;
}

constexpr auto values = make_values();

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  auto byte = [&](size_t i) {
    return static_cast<uint8_t>(bytes[i]);
  };

  // Whole groups: 3 bytes become 4 characters.
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(group >> 18) & 63];
    out += alphabet[(group >> 12) & 63];
    out += alphabet[(group >> 6) & 63];
    out += alphabet[group & 63];
  }

  // The tail: 1 byte becomes 2 characters, 2 bytes become 3.
  auto rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t group = byte(i) << 16;
    out += alphabet[(group >> 18) & 63];
    out += alphabet[(group >> 12) & 63];
  } else if (rest == 2) {
    uint32_t group = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(group >> 18) & 63];
    out += alphabet[(group >> 12) & 63];
    out += alphabet[(group >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // A lone character over a multiple of 4 holds only 6 bits: no byte.
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t group = 0;
  size_t bits = 0;
  for (auto c : text) {
    auto v = values[static_cast<uint8_t>(c)];
    if (v < 0)
      return std::nullopt;
    group = (group << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((group >> bits) & 0xFF);
    }
  }

  // The 2 or 4 bits left over after the last byte must be zero.
  if ((group & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

} // namespace sb::auth
