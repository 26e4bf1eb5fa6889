#define CAF_SUITE route_trie
#include "caf/test/unit_test.hpp"

#include <string>
#include <vector>

#include "actors/route_trie.hpp"
#include "protocols/http/target.hpp"

using namespace sb;

namespace {

path_pattern pattern(const std::string& str) {
  path_pattern result;
  auto err = parse_pattern(str, result);
  CAF_REQUIRE_EQUAL(err, "");
  return result;
}

/// The path segments the HTTP layer makes of `path`.
std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> result;
  sb::field_list query;
  std::string error;
  auto code = sb::http::parse_target(path, result, query, error);
  CAF_REQUIRE_EQUAL(code, sb::errc::none);
  return result;
}

struct fixture {
  route_trie trie;

  void add(const std::string& method, const std::string& str, uint64_t id) {
    CAF_REQUIRE_EQUAL(trie.insert(pattern(str), method, id), 0u);
  }

  route_match find(const std::string& method, const std::string& path) {
    return trie.lookup(method, split(path));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(route_trie_tests, fixture)

CAF_TEST(patterns with bad syntax are refused with a reason) {
  path_pattern p;
  CAF_CHECK_NOT_EQUAL(parse_pattern("", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("api/users", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/api//users", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/api/users/", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/api/:", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/api/:a-b", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/files/*rest/more", p), "");
  CAF_CHECK_NOT_EQUAL(parse_pattern("/a/:id/b/:id", p), "");
  CAF_CHECK_EQUAL(parse_pattern("/", p), "");
  CAF_CHECK_EQUAL(p.segments.size(), 0u);
  CAF_CHECK_EQUAL(parse_pattern("/a/:id/*rest", p), "");
  CAF_CHECK_EQUAL(p.param_names(), std::vector<std::string>({"id", "rest"}));
}

CAF_TEST(patterns of the same shape clash whatever their parameter names) {
  add("GET", "/api/users/:id", 1);
  CAF_CHECK_EQUAL(trie.insert(pattern("/api/users/:name"), "GET", 2), 1u);
  // Another method at the same shape is fine.
  CAF_CHECK_EQUAL(trie.insert(pattern("/api/users/:name"), "PUT", 3), 0u);
  add("GET", "/files/*rest", 4);
  CAF_CHECK_EQUAL(trie.insert(pattern("/files/*path"), "GET", 5), 4u);
  CAF_CHECK_EQUAL(pattern("/api/users/:id").shape(),
                  pattern("/api/users/:name").shape());
}

CAF_TEST(static segments beat parameters beat wildcards in any order) {
  // Register the least specific first.
  add("GET", "/api/*rest", 1);
  add("GET", "/api/users/:id", 2);
  add("GET", "/api/users/me", 3);
  CAF_CHECK_EQUAL(find("GET", "/api/users/me").id, 3u);
  CAF_CHECK_EQUAL(find("GET", "/api/users/42").id, 2u);
  CAF_CHECK_EQUAL(find("GET", "/api/users/42/posts").id, 1u);
  CAF_CHECK_EQUAL(find("GET", "/api").id, 1u);
  // And the other way round.
  route_trie other;
  other.insert(pattern("/api/users/me"), "GET", 3);
  other.insert(pattern("/api/users/:id"), "GET", 2);
  other.insert(pattern("/api/*rest"), "GET", 1);
  CAF_CHECK_EQUAL(other.lookup("GET", split("/api/users/me")).id, 3u);
  CAF_CHECK_EQUAL(other.lookup("GET", split("/api/users/42")).id, 2u);
}

CAF_TEST(parameters and wildcards capture their segments) {
  add("GET", "/a/:x/b/:y", 1);
  add("GET", "/files/*rest", 2);
  auto m = find("GET", "/a/1/b/2");
  CAF_CHECK(m.status == lookup_status::found);
  CAF_CHECK_EQUAL(m.values, std::vector<std::string>({"1", "2"}));
  m = find("GET", "/files/x/y/z.txt");
  CAF_CHECK_EQUAL(m.values, std::vector<std::string>({"x/y/z.txt"}));
}

CAF_TEST(lookup backtracks when the static branch dead - ends) {
  add("GET", "/a/static/c", 1);
  add("GET", "/a/:p/d", 2);
  auto m = find("GET", "/a/static/d");
  CAF_CHECK_EQUAL(m.id, 2u);
  CAF_CHECK_EQUAL(m.values, std::vector<std::string>({"static"}));
}

CAF_TEST(a method found on a less specific pattern wins over 405) {
  add("POST", "/a/b", 1);
  add("GET", "/a/:x", 2);
  CAF_CHECK_EQUAL(find("GET", "/a/b").id, 2u);
  CAF_CHECK_EQUAL(find("POST", "/a/b").id, 1u);
}

CAF_TEST(a path without the method answers 405 with the allowed methods) {
  add("POST", "/a", 1);
  add("GET", "/a", 2);
  auto m = find("DELETE", "/a");
  CAF_CHECK(m.status == lookup_status::method_not_allowed);
  CAF_CHECK_EQUAL(m.allow, "GET, HEAD, POST");
  CAF_CHECK(find("GET", "/b").status == lookup_status::no_route);
}

CAF_TEST(head falls back to get) {
  add("GET", "/a", 1);
  CAF_CHECK_EQUAL(find("HEAD", "/a").id, 1u);
  add("HEAD", "/a", 2);
  CAF_CHECK_EQUAL(find("HEAD", "/a").id, 2u);
}

CAF_TEST(the root path is a route of its own) {
  add("GET", "/", 1);
  CAF_CHECK_EQUAL(find("GET", "/").id, 1u);
  CAF_CHECK(find("GET", "/x").status == lookup_status::no_route);
}

CAF_TEST(erase removes only the given entry and prunes empty branches) {
  add("GET", "/a/:x/c", 1);
  add("PUT", "/a/:x/c", 2);
  trie.erase(pattern("/a/:y/c"), "GET", 1);
  CAF_CHECK_EQUAL(trie.size(), 1u);
  CAF_CHECK(find("GET", "/a/1/c").status == lookup_status::method_not_allowed);
  trie.erase(pattern("/a/:x/c"), "PUT", 2);
  CAF_CHECK_EQUAL(trie.size(), 0u);
  CAF_CHECK(find("PUT", "/a/1/c").status == lookup_status::no_route);
  // Erasing with the wrong ID leaves the entry alone.
  add("GET", "/z", 3);
  trie.erase(pattern("/z"), "GET", 4);
  CAF_CHECK_EQUAL(find("GET", "/z").id, 3u);
}

CAF_TEST(ten thousand routes are all found) {
  for (uint64_t i = 0; i < 10000; ++i) {
    auto base = "/svc" + std::to_string(i % 100) + "/res" + std::to_string(i);
    add("GET", base + "/:id", i + 1);
  }
  CAF_CHECK_EQUAL(trie.size(), 10000u);
  for (uint64_t i = 0; i < 10000; i += 997) {
    auto path =
      "/svc" + std::to_string(i % 100) + "/res" + std::to_string(i) + "/x";
    auto m = find("GET", path);
    CAF_CHECK_EQUAL(m.id, i + 1);
    CAF_CHECK_EQUAL(m.values, std::vector<std::string>({"x"}));
  }
  CAF_CHECK(find("GET", "/svc1/res2/x").status == lookup_status::no_route);
}

CAF_TEST_FIXTURE_SCOPE_END()
