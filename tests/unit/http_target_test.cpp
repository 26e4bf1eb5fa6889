#define CAF_SUITE http_target
#include "caf/test/unit_test.hpp"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocols/http/target.hpp"

using namespace sb;
using sb::http::make_request_id;
using sb::http::parse_target;
using sb::http::valid_request_id;

namespace {

using strings = std::vector<std::string>;

struct parsed {
  errc code = errc::none;
  strings path;
  field_list query;
  std::string error;
};

parsed parse(std::string_view target) {
  parsed result;
  result.code = parse_target(target, result.path, result.query, result.error);
  return result;
}

// Renders a path as `[a|b|]` so that empty segments show in failures.
std::string show(const strings& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += '|';
    out += xs[i];
  }
  out += ']';
  return out;
}

std::string show(const field_list& xs) {
  std::string out = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += '&';
    out += xs[i].first;
    out += '=';
    out += xs[i].second;
  }
  out += '}';
  return out;
}

std::string path_of(std::string_view target) {
  auto result = parse(target);
  return result.code == errc::none ? show(result.path)
                                   : std::string{"error: "} + result.error;
}

std::string query_of(std::string_view target) {
  auto result = parse(target);
  return result.code == errc::none ? show(result.query)
                                   : std::string{"error: "} + result.error;
}

bool rejected(std::string_view target) {
  auto result = parse(target);
  return result.code == errc::bad_request && !result.error.empty();
}

} // namespace

// -- parse_target: path -------------------------------------------------------

CAF_TEST(the root path is empty) {
  CAF_CHECK_EQUAL(path_of("/"), "[]");
}

CAF_TEST(the leading slash yields no empty first segment) {
  CAF_CHECK_EQUAL(path_of("/api"), "[api]");
  CAF_CHECK_EQUAL(path_of("/api/users/42"), "[api|users|42]");
}

CAF_TEST(an empty trailing segment is dropped) {
  CAF_CHECK_EQUAL(path_of("/api/users/"), "[api|users]");
  CAF_CHECK_EQUAL(path_of("/api/users/?x=1"), "[api|users]");
}

CAF_TEST(empty middle segments are kept) {
  CAF_CHECK_EQUAL(path_of("/a//b"), "[a||b]");
  CAF_CHECK_EQUAL(path_of("//a"), "[|a]");
  CAF_CHECK_EQUAL(path_of("/a//"), "[a|]");
}

CAF_TEST(segments are percent decoded after splitting) {
  CAF_CHECK_EQUAL(path_of("/a%2Fb/c"), "[a/b|c]");
  CAF_CHECK_EQUAL(path_of("/a%2fb"), "[a/b]");
  CAF_CHECK_EQUAL(path_of("/caf%C3%A9"), "[caf\xC3\xA9]");
  CAF_CHECK_EQUAL(path_of("/a%20b"), "[a b]");
  CAF_CHECK_EQUAL(path_of("/%25"), "[%]");
}

CAF_TEST(a plus sign in the path stays a plus sign) {
  CAF_CHECK_EQUAL(path_of("/a+b"), "[a+b]");
}

CAF_TEST(malformed percent encoding in the path is a bad request) {
  for (auto target : {"/%", "/%4", "/%zz", "/a/%g1", "/a%", "/%4/b"}) {
    CAF_MESSAGE("target: " << target);
    CAF_CHECK(rejected(target));
  }
  auto result = parse("/users/%zz");
  CAF_CHECK_EQUAL(result.error, "malformed percent-encoding \"%zz\" in path "
                                "segment 2: '%' must be followed by two hex "
                                "digits");
}

CAF_TEST(a decoded NUL byte in a segment is a bad request) {
  CAF_CHECK(rejected("/a%00b"));
  CAF_CHECK_EQUAL(parse("/x/a%00").error,
                  "the path segment 2 contains a NUL byte");
}

CAF_TEST(a raw NUL byte in a segment is a bad request) {
  CAF_CHECK(rejected(std::string_view{"/a\0b", 4}));
}

// -- parse_target: request-target forms ---------------------------------------

CAF_TEST(only origin form is accepted) {
  CAF_CHECK(rejected(""));
  CAF_CHECK(rejected("*"));
  CAF_CHECK(rejected("http://example.com/a"));
  CAF_CHECK(rejected("example.com:443"));
  CAF_CHECK(rejected("a/b"));
  CAF_CHECK_EQUAL(parse("*").error,
                  "the request target \"*\" (asterisk-form) is not supported");
}

CAF_TEST(a fragment is a bad request) {
  CAF_CHECK(rejected("/a#b"));
  CAF_CHECK(rejected("/a?x=1#top"));
  CAF_CHECK(rejected("/#"));
}

// -- parse_target: query ------------------------------------------------------

CAF_TEST(the query splits at ampersands and the first equal sign) {
  CAF_CHECK_EQUAL(query_of("/a?x=1&y=2"), "{x=1&y=2}");
  CAF_CHECK_EQUAL(query_of("/a?x=1=2"), "{x=1=2}");
  CAF_CHECK_EQUAL(path_of("/a?x=1&y=2"), "[a]");
}

CAF_TEST(query fields keep their order and duplicates) {
  CAF_CHECK_EQUAL(query_of("/?b=1&a=2&b=3"), "{b=1&a=2&b=3}");
}

CAF_TEST(a query key without equal sign has an empty value) {
  auto result = parse("/a?flag&x=1");
  CAF_REQUIRE_EQUAL(result.query.size(), 2u);
  CAF_CHECK_EQUAL(result.query[0].first, "flag");
  CAF_CHECK_EQUAL(result.query[0].second, "");
  CAF_CHECK_EQUAL(query_of("/a?x="), "{x=}");
}

CAF_TEST(empty query items carry no field) {
  CAF_CHECK_EQUAL(query_of("/a?"), "{}");
  CAF_CHECK_EQUAL(query_of("/a?x=1&&y=2&"), "{x=1&y=2}");
}

CAF_TEST(query keys and values decode percent and plus) {
  CAF_CHECK_EQUAL(query_of("/?q=a+b%2Bc&k%20ey=%26%3D"), "{q=a b+c&k ey=&=}");
  CAF_CHECK_EQUAL(query_of("/?path=%2Fa%2Fb"), "{path=/a/b}");
}

CAF_TEST(only the first question mark starts the query) {
  CAF_CHECK_EQUAL(query_of("/a?x=?y"), "{x=?y}");
}

CAF_TEST(malformed percent encoding in the query is a bad request) {
  CAF_CHECK(rejected("/a?x=%"));
  CAF_CHECK(rejected("/a?x=%4"));
  CAF_CHECK(rejected("/a?%zz=1"));
  CAF_CHECK(rejected("/a?x=1&y=%g0"));
  CAF_CHECK_EQUAL(parse("/a?x=1&y=%g0").error,
                  "malformed percent-encoding \"%g0\" in query field 2: '%' "
                  "must be followed by two hex digits");
}

CAF_TEST(a decoded NUL byte in the query is a bad request) {
  CAF_CHECK(rejected("/a?x=%00"));
}

CAF_TEST(parse_target replaces previous output) {
  strings path{"old"};
  field_list query{{"old", "1"}};
  std::string error;
  CAF_CHECK(parse_target("/new?n=2", path, query, error) == errc::none);
  CAF_CHECK_EQUAL(show(path), "[new]");
  CAF_CHECK_EQUAL(show(query), "{n=2}");
}

// -- request IDs --------------------------------------------------------------

CAF_TEST(valid request IDs are 1 to 128 characters of a safe set) {
  CAF_CHECK(valid_request_id("a"));
  CAF_CHECK(valid_request_id("abc-DEF_123.xyz"));
  CAF_CHECK(valid_request_id(std::string(128, 'x')));
  CAF_CHECK(!valid_request_id(""));
  CAF_CHECK(!valid_request_id(std::string(129, 'x')));
  CAF_CHECK(!valid_request_id(std::string(200, 'x')));
  for (auto id :
       {"a b", "a/b", "a:b", "a\"b", "a\r\nb", "caf\xC3\xA9", "a+b", "a%20"}) {
    CAF_MESSAGE("id: " << id);
    CAF_CHECK(!valid_request_id(id));
  }
}

CAF_TEST(generated request IDs are valid and unique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    auto id = make_request_id();
    if (!valid_request_id(id)) {
      CAF_FAIL("invalid request ID: " << id);
    }
    ids.insert(std::move(id));
  }
  CAF_CHECK_EQUAL(ids.size(), 10000u);
}

CAF_TEST(generated request IDs are unique across threads) {
  constexpr int per_thread = 5000;
  std::vector<std::string> a;
  std::vector<std::string> b;
  auto fill = [](std::vector<std::string>& out) {
    for (int i = 0; i < per_thread; ++i)
      out.push_back(make_request_id());
  };
  std::thread t1{fill, std::ref(a)};
  std::thread t2{fill, std::ref(b)};
  t1.join();
  t2.join();
  std::set<std::string> ids(a.begin(), a.end());
  ids.insert(b.begin(), b.end());
  CAF_CHECK_EQUAL(ids.size(), 2u * per_thread);
}

CAF_TEST(generated request IDs share a per process prefix) {
  auto x = make_request_id();
  auto y = make_request_id();
  auto dash = x.find('-');
  CAF_REQUIRE(dash != std::string::npos);
  CAF_CHECK_EQUAL(x.substr(0, dash), y.substr(0, dash));
  CAF_CHECK_NOT_EQUAL(x, y);
}
