#define CAF_SUITE json_text
#include "caf/test/unit_test.hpp"

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "modules/common/json_text.hpp"

using json = nlohmann::ordered_json;
using sb::append_json_string;
using sb::modules::append_json;
using sb::modules::is_json;
using sb::modules::read_json;
using sb::modules::write_json;

namespace {

/// What the general parser makes of `text`: its tree written out, or
/// "error".
std::string reference(const std::string& text) {
  auto x = json::parse(text, nullptr, false);
  return x.is_discarded() ? "error" : x.dump();
}

/// The same from `read_json` with limits too high to matter.
std::string ours(const std::string& text) {
  json x;
  return read_json(text, x, 10000, 1000000).empty() ? x.dump() : "error";
}

/// Checks that both readers agree on `text`, and that `is_json` agrees with
/// them; returns whether they all did.
bool agree(const std::string& text) {
  auto expected = reference(text);
  auto got = ours(text);
  bool accepted = is_json(text, 10000);
  if (got == expected && accepted == (expected != "error"))
    return true;
  CAF_MESSAGE("disagreement on "
              << json(text).dump(-1, ' ', false, json::error_handler_t::replace)
              << ": nlohmann " << expected << ", ours " << got << ", is_json "
              << accepted);
  return false;
}

/// A random JSON value, at most `depth` deep.
json random_value(std::mt19937_64& rng, int depth) {
  auto pick = [&](int n) {
    return static_cast<int>(rng() % n);
  };
  auto random_string = [&] {
    static const std::vector<std::string> pieces = {
      "a",    "Z",  " ",  "\"",   "\\",
      "/",    "\n", "\t", "\x01", "\x1f",
      "\x7f", "é",  "€",  "😀",    "\xf4\x8f\xbf\xbf",
      "key",  ":",  ",",  "{",    "]",
      "0"};
    std::string s;
    for (int i = pick(6); i > 0; --i)
      s += pieces[pick(static_cast<int>(pieces.size()))];
    return s;
  };
  switch (depth <= 0 ? pick(6) : pick(8)) {
  case 0:
    return nullptr;
  case 1:
    return pick(2) == 0;
  case 2:
    return static_cast<int64_t>(rng()) >> pick(64);
  case 3:
    return rng() >> pick(64);
  case 4:
    return std::ldexp(static_cast<double>(static_cast<int64_t>(rng())),
                      pick(200) - 100);
  case 5:
    return random_string();
  case 6: {
    auto x = json::array();
    for (int i = pick(4); i > 0; --i)
      x.push_back(random_value(rng, depth - 1));
    return x;
  }
  default: {
    auto x = json::object();
    for (int i = pick(4); i > 0; --i)
      x[random_string()] = random_value(rng, depth - 1);
    return x;
  }
  }
}

/// `text` with a few random edits drawn from bytes that matter to JSON.
std::string mutate(std::mt19937_64& rng, std::string text) {
  static const std::string alphabet =
    "{}[]\",:\\/ \t\n0123456789-+.eEtrufalsn\x01\x7f\x80\xbf\xc3\xe2\xed\xf0"
    "\xf5\xff";
  auto edits = 1 + rng() % 3;
  for (size_t i = 0; i < edits; ++i) {
    auto at = text.empty() ? 0 : rng() % (text.size() + 1);
    auto c = alphabet[rng() % alphabet.size()];
    switch (rng() % 4) {
    case 0:
      text.insert(at, 1, c);
      break;
    case 1:
      if (at < text.size())
        text[at] = c;
      break;
    case 2:
      if (at < text.size())
        text.erase(at, 1);
      break;
    default:
      text.resize(at);
    }
  }
  return text;
}

} // namespace

CAF_TEST(the reader builds the tree the general parser builds) {
  std::vector<std::string> texts = {
    "null",
    " true ",
    "false",
    "0",
    "-0",
    "12345678901234567890",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "1.5e3",
    "1E-2",
    "-0.0",
    "1e-400",
    "\"\"",
    R"("a\"b\\c\/d\b\f\n\r\t")",
    R"("\u0000\u00e9\u20AC\ud83d\ude00")",
    "\"é€😀\"",
    "[]",
    "[1,[2,[3]],{}]",
    R"({"a":1,"b":{"c":[true,null]}})",
    R"({"a":1,"b":2,"a":3})",
    "\xEF\xBB\xBF{\"bom\":1}",
    " \t\r\n[ 1 , 2 ] \n",
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{}}})",
  };
  for (auto& text : texts) {
    CAF_CHECK(agree(text));
    CAF_CHECK_NOT_EQUAL(ours(text), "error");
  }
}

CAF_TEST(the reader refuses what the general parser refuses) {
  std::vector<std::string> texts = {
    "",
    " ",
    "nul",
    "True",
    "01",
    "-",
    "+1",
    "1.",
    ".5",
    "1e",
    "1e+",
    "0x10",
    "NaN",
    "1e400",
    "-1e400",
    "\"abc",
    "\"a\nb\"",
    "\"\\x41\"",
    "\"\\u12\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\xc3\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xff\"",
    "[1,]",
    "[1 2]",
    "{\"a\" 1}",
    "{\"a\":1,}",
    "{a:1}",
    "{'a':1}",
    "[1]]",
    "{} {}",
    "/* c */ 1",
    "[1] x",
  };
  for (auto& text : texts) {
    CAF_CHECK(agree(text));
    CAF_CHECK_EQUAL(ours(text), "error");
  }
}

CAF_TEST(random texts and random damage to them are read alike) {
  std::mt19937_64 rng{20261205};
  size_t valid = 0;
  size_t disagreements = 0;
  for (int i = 0; i < 20000; ++i) {
    auto text = random_value(rng, 4).dump();
    if (i % 2 == 1)
      text = mutate(rng, text);
    if (reference(text) != "error")
      ++valid;
    if (!agree(text) && ++disagreements > 5)
      break;
  }
  CAF_CHECK_EQUAL(disagreements, 0u);
  // The damage must leave some texts valid and make others invalid, or the
  // comparison would test one side only.
  CAF_CHECK_GREATER(valid, 11000u);
  CAF_CHECK_LESS(valid, 19000u);
}

CAF_TEST(errors say what and where) {
  json x;
  CAF_CHECK_EQUAL(read_json(R"({"a" 1})", x, 64),
                  "not valid JSON at byte 5: expected ':' after a member name");
  CAF_CHECK_EQUAL(read_json("[1,", x, 64),
                  "not valid JSON at byte 3: the text ends where a value "
                  "should be");
  CAF_CHECK_EQUAL(read_json("\"\xff\"", x, 64),
                  "not valid JSON at byte 1: a string holds bytes that are "
                  "not valid UTF-8");
  CAF_CHECK_EQUAL(read_json("\xff", x, 64),
                  "not valid JSON at byte 0: a byte that is not valid UTF-8");
  CAF_CHECK_EQUAL(read_json("[x]", x, 64),
                  "not valid JSON at byte 1: expected a value");
  CAF_CHECK_EQUAL(read_json("", x, 64),
                  "not valid JSON at byte 0: the text ends where a value "
                  "should be");
}

CAF_TEST(depth and members are limited as the text is read) {
  json x;
  auto nested = [](size_t n) {
    return std::string(n, '[') + std::string(n, ']');
  };
  CAF_CHECK_EQUAL(read_json(nested(3), x, 3), "");
  CAF_CHECK_EQUAL(read_json(nested(4), x, 3),
                  "the JSON nests deeper than 3 levels");
  CAF_CHECK_EQUAL(read_json(R"({"a":{"b":{}}})", x, 3), "");
  CAF_CHECK_EQUAL(read_json(R"({"a":{"b":{"c":{}}}})", x, 3),
                  "the JSON nests deeper than 3 levels");
  // Far past any stack: refused at the limit, not read to the end.
  CAF_CHECK(!read_json(nested(1000000), x, 64).empty());
  CAF_CHECK(!is_json(nested(1000000), 512));
  CAF_CHECK(is_json(nested(512), 512));
  auto members = [](size_t n) {
    std::string text = "{";
    for (size_t i = 0; i < n; ++i)
      text +=
        (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    return text + "}";
  };
  CAF_CHECK_EQUAL(read_json(members(5), x, 64, 5), "");
  CAF_CHECK_EQUAL(x.size(), 5u);
  CAF_CHECK_EQUAL(read_json(members(6), x, 64, 5),
                  "a JSON object has more than 5 members");
  // Members of nested objects count for their own object.
  CAF_CHECK_EQUAL(read_json(R"({"a":{"b":1,"c":2},"d":{"e":3}})", x, 64, 2),
                  "");
}

CAF_TEST(strings are written as the general writer writes them) {
  std::mt19937_64 rng{7};
  for (int i = 0; i < 5000; ++i) {
    // Random code points from every range, surrogates left out.
    std::string s;
    for (int n = static_cast<int>(rng() % 8); n > 0; --n) {
      uint32_t cp = 0;
      switch (rng() % 4) {
      case 0:
        cp = rng() % 0x80;
        break;
      case 1:
        cp = 0x80 + rng() % 0x780;
        break;
      case 2:
        cp = 0x800 + rng() % 0xF800;
        break;
      default:
        cp = 0x10000 + rng() % 0x100000;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 'x';
      // Encode the code point by hand: the expectation must not come from
      // the code under test.
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    std::string out;
    append_json_string(out, s);
    if (out != json(s).dump()) {
      CAF_CHECK_EQUAL(out, json(s).dump());
      break;
    }
  }
}

CAF_TEST(bytes that are not UTF - 8 become replacement characters) {
  std::string out = "x";
  append_json_string(out, "a\xff"
                          "b\xc3");
  CAF_CHECK_EQUAL(out, "x\"a\\ufffd"
                       "b\\ufffd\"");
  CAF_CHECK(is_json(out.substr(1)));
  out.clear();
  append_json_string(out, std::string("\0\x1f\"\\", 4));
  CAF_CHECK_EQUAL(out, R"("\u0000\u001f\"\\")");
}

CAF_TEST(trees are written as the general writer writes them) {
  std::mt19937_64 rng{11};
  for (int i = 0; i < 5000; ++i) {
    auto x = random_value(rng, 4);
    auto expected = x.dump(-1, ' ', false, json::error_handler_t::replace);
    if (write_json(x) != expected) {
      CAF_CHECK_EQUAL(write_json(x), expected);
      break;
    }
  }
  json x = {{"d", 1.0}, {"e", 1e100}, {"n", -5}, {"u", 18446744073709551615u}};
  CAF_CHECK_EQUAL(write_json(x),
                  R"({"d":1.0,"e":1e+100,"n":-5,"u":18446744073709551615})");
  std::string out = "[";
  append_json(out, json::array());
  CAF_CHECK_EQUAL(out, "[[]");
}
