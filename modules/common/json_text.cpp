#include "modules/common/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "actors/ascii.hpp"
#include "actors/errc.hpp"

namespace sb::modules {

namespace {

using json = nlohmann::ordered_json;

/// Bytes that end a run of plain string content: the quote, the backslash,
/// control characters and the lead bytes of multi-byte UTF-8.
constexpr bool special(unsigned char c) {
  return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

struct byte_table {
  bool special[256];
  constexpr byte_table()
      : special() {
    for (int i = 0; i < 256; ++i)
      special[i] = modules::special(static_cast<unsigned char>(i));
  }
};

constexpr byte_table bytes;

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// One pass over a JSON text. With `Build`, values go into a `json` tree;
/// without, the text is only checked and `slot` is a placeholder.
template <bool Build>
class reader {
public:
  using slot = std::conditional_t<Build, json, char>;

  reader(std::string_view text, size_t max_depth, size_t max_members)
      : begin_(text.data())
      , p_(text.data())
      , end_(text.data() + text.size())
      , max_depth_(max_depth)
      , max_members_(max_members) {
    // No text is empty string data: reading stops at once.
    if (begin_ == nullptr)
      begin_ = p_ = end_ = "";
  }

  bool document(slot& out) {
    // A byte order mark is skipped, as the general parser does.
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0)
      p_ += 3;
    skip_space();
    if (!value(out, 0))
      return false;
    skip_space();
    if (p_ != end_)
      return fail("more text after the value");
    return true;
  }

  std::string& error() { return error_; }

private:
  bool fail(const char* what) {
    error_ = "not valid JSON at byte ";
    error_ += std::to_string(p_ - begin_);
    error_ += ": ";
    error_ += what;
    return false;
  }

  bool limit(std::string what) {
    error_ = std::move(what);
    return false;
  }

  void skip_space() {
    while (p_ != end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool value(slot& out, size_t depth) {
    if (p_ == end_)
      return fail("the text ends where a value should be");
    switch (*p_) {
    case '{':
      return object(out, depth + 1);
    case '[':
      return array(out, depth + 1);
    case '"':
      if constexpr (Build) {
        std::string str;
        if (!string(&str))
          return false;
        out = std::move(str);
        return true;
      } else {
        return string(nullptr);
      }
    case 't':
      return word("true", out, true);
    case 'f':
      return word("false", out, false);
    case 'n':
      return word("null", out, nullptr);
    default:
      return number(out);
    }
  }

  template <class T>
  bool word(std::string_view name, slot& out, T x) {
    if (static_cast<size_t>(end_ - p_) < name.size() ||
        std::memcmp(p_, name.data(), name.size()) != 0)
      return fail("expected a value");
    p_ += name.size();
    if constexpr (Build)
      out = x;
    return true;
  }

  bool object(slot& out, size_t depth) {
    if (depth > max_depth_)
      return limit("the JSON nests deeper than " + std::to_string(max_depth_) +
                   " levels");
    ++p_;
    if constexpr (Build) {
      out = json::object();
      // Members live in a vector whose names are const: growing it copies
      // them, so room for a few comes first.
      out.template get_ref<json::object_t&>().reserve(8);
    }
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    size_t members = 0;
    for (;;) {
      if (p_ == end_ || *p_ != '"')
        return fail("expected a member name in double quotes");
      if (++members > max_members_)
        return limit("a JSON object has more than " +
                     std::to_string(max_members_) + " members");
      std::string name;
      if (!string(Build ? &name : nullptr))
        return false;
      skip_space();
      if (p_ == end_ || *p_ != ':')
        return fail("expected ':' after a member name");
      ++p_;
      skip_space();
      if constexpr (Build) {
        // A name given twice keeps its first place and its last value.
        if (!value(out[std::move(name)], depth))
          return false;
      } else {
        char placeholder;
        if (!value(placeholder, depth))
          return false;
      }
      skip_space();
      if (p_ == end_)
        return fail("the text ends inside an object");
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',')
        return fail("expected ',' or '}' after a member");
      ++p_;
      skip_space();
    }
  }

  bool array(slot& out, size_t depth) {
    if (depth > max_depth_)
      return limit("the JSON nests deeper than " + std::to_string(max_depth_) +
                   " levels");
    ++p_;
    if constexpr (Build)
      out = json::array();
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if constexpr (Build) {
        out.push_back(nullptr);
        if (!value(out.back(), depth))
          return false;
      } else {
        char placeholder;
        if (!value(placeholder, depth))
          return false;
      }
      skip_space();
      if (p_ == end_)
        return fail("the text ends inside an array");
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',')
        return fail("expected ',' or ']' after an element");
      ++p_;
      skip_space();
    }
  }

  /// Reads a string at the opening quote; appends its value to `out` unless
  /// null.
  bool string(std::string* out) {
    ++p_;
    for (;;) {
      auto run = p_;
      while (p_ != end_ && !bytes.special[static_cast<unsigned char>(*p_)])
        ++p_;
      if (out != nullptr)
        out->append(run, p_);
      if (p_ == end_)
        return fail("a string is not closed");
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!escape(out))
          return false;
        continue;
      }
      if (c < 0x20)
        return fail("a control character in a string must be escaped");
      auto n =
        sb::utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                 reinterpret_cast<const unsigned char*>(end_));
      if (n == 0)
        return fail("a string holds bytes that are not valid UTF-8");
      if (out != nullptr)
        out->append(p_, n);
      p_ += n;
    }
  }

  /// Four hex digits after `\u`, or -1.
  int32_t hex4() {
    if (end_ - p_ < 4)
      return -1;
    int32_t x = 0;
    for (int i = 0; i < 4; ++i) {
      auto digit = hex_value(p_[i]);
      if (digit < 0)
        return -1;
      x = (x << 4) | digit;
    }
    p_ += 4;
    return x;
  }

  bool escape(std::string* out) {
    ++p_;
    if (p_ == end_)
      return fail("a string is not closed");
    char plain = 0;
    switch (*p_) {
    case '"':
      plain = '"';
      break;
    case '\\':
      plain = '\\';
      break;
    case '/':
      plain = '/';
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case 'u':
      break;
    default:
      return fail("an unknown escape in a string");
    }
    ++p_;
    if (plain != 0) {
      if (out != nullptr)
        *out += plain;
      return true;
    }
    auto cp = hex4();
    if (cp < 0)
      return fail("\\u must be followed by four hex digits");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return fail("a low surrogate without a high one before it");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
        return fail("a high surrogate without a low one after it");
      p_ += 2;
      auto low = hex4();
      if (low < 0xDC00 || low > 0xDFFF)
        return fail("a high surrogate without a low one after it");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (out != nullptr)
      append_utf8(*out, static_cast<uint32_t>(cp));
    return true;
  }

  bool number(slot& out) {
    auto first = p_;
    bool negative = *p_ == '-';
    if (negative)
      ++p_;
    if (p_ == end_ || !is_digit(*p_)) {
      if (negative)
        return fail("a digit must follow '-'");
      if (sb::utf8_sequence_length(
            reinterpret_cast<const unsigned char*>(p_),
            reinterpret_cast<const unsigned char*>(end_)) == 0)
        return fail("a byte that is not valid UTF-8");
      return fail("expected a value");
    }
    if (*p_ == '0')
      ++p_;
    else
      while (p_ != end_ && is_digit(*p_))
        ++p_;
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !is_digit(*p_))
        return fail("a digit must follow the decimal point");
      while (p_ != end_ && is_digit(*p_))
        ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-'))
        ++p_;
      if (p_ == end_ || !is_digit(*p_))
        return fail("a digit must follow the exponent");
      while (p_ != end_ && is_digit(*p_))
        ++p_;
    }
    // Integers that fit stay integers, signed when negative; the others
    // become doubles, and those beyond any double are refused.
    if (integer) {
      if (negative) {
        int64_t x = 0;
        if (std::from_chars(first, p_, x).ec == std::errc{}) {
          if constexpr (Build)
            out = x;
          return true;
        }
      } else {
        uint64_t x = 0;
        if (std::from_chars(first, p_, x).ec == std::errc{}) {
          if constexpr (Build)
            out = x;
          return true;
        }
      }
    }
    double x = 0;
    auto res = std::from_chars(first, p_, x);
    if (res.ec == std::errc::result_out_of_range) {
      // Too small rounds to zero, as strtod does; too large is an error.
      x = std::strtod(std::string(first, p_).c_str(), nullptr);
    } else if (res.ec != std::errc{} || res.ptr != p_) {
      return fail("a number that cannot be read");
    }
    if (!std::isfinite(x))
      return fail("a number too large for a double");
    if constexpr (Build)
      out = x;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  size_t max_depth_;
  size_t max_members_;
  std::string error_;
};

} // namespace

std::string read_json(std::string_view text, json& out, size_t max_depth,
                      size_t max_members) {
  reader<true> r{text, max_depth, max_members};
  if (r.document(out))
    return {};
  return std::move(r.error());
}

bool is_json(std::string_view text, size_t max_depth) {
  reader<false> r{text, max_depth, static_cast<size_t>(-1)};
  char placeholder;
  return r.document(placeholder);
}

void append_json(std::string& out, const json& x) {
  switch (x.type()) {
  case json::value_t::object: {
    out += '{';
    bool first = true;
    for (auto& [name, value] : x.get_ref<const json::object_t&>()) {
      if (!first)
        out += ',';
      first = false;
      sb::append_json_string(out, name);
      out += ':';
      append_json(out, value);
    }
    out += '}';
    break;
  }
  case json::value_t::array: {
    out += '[';
    bool first = true;
    for (auto& value : x) {
      if (!first)
        out += ',';
      first = false;
      append_json(out, value);
    }
    out += ']';
    break;
  }
  case json::value_t::string:
    sb::append_json_string(out, x.get_ref<const std::string&>());
    break;
  case json::value_t::boolean:
    out += x.get<bool>() ? "true" : "false";
    break;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned: {
    char buf[24];
    auto res = x.is_number_unsigned()
                 ? std::to_chars(buf, buf + sizeof buf, x.get<uint64_t>())
                 : std::to_chars(buf, buf + sizeof buf, x.get<int64_t>());
    out.append(buf, res.ptr);
    break;
  }
  case json::value_t::number_float:
    // The general writer's form of doubles ("1.0", "1e+100") is kept.
    out += x.dump();
    break;
  default:
    out += "null";
  }
}

std::string write_json(const json& x) {
  std::string out;
  append_json(out, x);
  return out;
}

} // namespace sb::modules
