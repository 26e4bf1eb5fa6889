#pragma once

// ASCII helpers for protocol text (header names, percent escapes, JSON
// escapes), where the locale must not matter.

#include <cstddef>
#include <string>
#include <string_view>

namespace sb {

/// The value of the hex digit `c` in either case, or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// `c` in lower case if it is an ASCII upper-case letter.
constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Turns the ASCII upper-case letters of `str` into lower case.
inline void lower_in_place(std::string& str) noexcept {
  for (auto& c : str)
    c = ascii_lower(c);
}

/// `str` with its ASCII upper-case letters in lower case.
inline std::string ascii_lowered(std::string_view str) {
  std::string result{str};
  lower_in_place(result);
  return result;
}

/// Whether `x` and `y` are equal but for the case of ASCII letters.
constexpr bool iequals(std::string_view x, std::string_view y) noexcept {
  if (x.size() != y.size())
    return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (ascii_lower(x[i]) != ascii_lower(y[i]))
      return false;
  return true;
}

} // namespace sb
