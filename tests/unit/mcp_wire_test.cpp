#define CAF_SUITE mcp_wire
#include "caf/test/unit_test.hpp"

#include <string>

#include "modules/common/json_limits.hpp"
#include "modules/common/mcp_kit.hpp"
#include "modules/common/uri_template.hpp"
#include "protocols/mcp/wire.hpp"

using namespace sb;
using namespace sb::mcp;

CAF_TEST(the three revisions are supported and only 2025 - 03 - 26 batches) {
  CAF_CHECK(supported_version("2025-11-25"));
  CAF_CHECK(supported_version("2025-06-18"));
  CAF_CHECK(supported_version("2025-03-26"));
  CAF_CHECK(!supported_version("2024-11-05"));
  CAF_CHECK(!supported_version(""));
  CAF_CHECK_EQUAL(supported_versions().front(), "2025-11-25");
  CAF_CHECK(batches_allowed("2025-03-26"));
  CAF_CHECK(!batches_allowed("2025-06-18"));
  CAF_CHECK(!batches_allowed("2025-11-25"));
}

CAF_TEST(log levels order by severity) {
  CAF_CHECK_EQUAL(log_level("debug"), 0);
  CAF_CHECK_EQUAL(log_level("warning"), 3);
  CAF_CHECK_EQUAL(log_level("emergency"), 7);
  CAF_CHECK_EQUAL(log_level("warn"), -1);
  CAF_CHECK_EQUAL(log_level("DEBUG"), -1);
}

CAF_TEST(nesting depth counts brackets outside strings only) {
  using modules::json_shape_problem;
  auto too_deep = [](std::string_view x, size_t depth) {
    return !json_shape_problem(x, depth).empty();
  };
  CAF_CHECK(!too_deep("[[[]]]", 3));
  CAF_CHECK(too_deep("[[[[]]]]", 3));
  CAF_CHECK_EQUAL(json_shape_problem("[[[[]]]]", 3),
                  "the JSON nests deeper than 3 levels");
  CAF_CHECK(!too_deep(R"({"a":"[[[[[[[[","b":{"c":[1]}})", 3));
  CAF_CHECK(!too_deep(R"(["\"[[[[[["])", 1));
  CAF_CHECK(too_deep(std::string(100000, '['), 64));
  CAF_CHECK(!too_deep("]]]]}}}", 1));
}

CAF_TEST(objects with too many members are refused before parsing) {
  using modules::json_shape_problem;
  auto wide = [](size_t n) {
    std::string x = "{";
    for (size_t i = 0; i < n; ++i)
      x += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
    return x + "}";
  };
  CAF_CHECK_EQUAL(json_shape_problem(wide(1000), 64), "");
  CAF_CHECK_EQUAL(json_shape_problem(wide(1001), 64),
                  "a JSON object has more than 1000 members");
  // Colons in strings and members of nested objects count apart.
  CAF_CHECK_EQUAL(json_shape_problem(R"({"a:b:c":"x:y","n":{"m":1}})", 64, 2),
                  "");
  CAF_CHECK_NOT_EQUAL(json_shape_problem(R"({"n":{"a":1,"b":2,"c":3}})", 64, 2),
                      "");
  // Long arrays are cheap to parse and pass.
  std::string list = "[" + std::string(200000, '1') + "]";
  CAF_CHECK_EQUAL(json_shape_problem(list, 64), "");
}

CAF_TEST(messages are told apart by their members) {
  std::string why;
  CAF_CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"x"})"),
                     why) == message_kind::request);
  CAF_CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":"a","method":"x"})"),
                     why) == message_kind::request);
  CAF_CHECK(classify(json::parse(R"({"jsonrpc":"2.0","method":"x"})"), why) ==
            message_kind::notification);
  CAF_CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":{}})"),
                     why) == message_kind::response);
  CAF_CHECK(
    classify(json::parse(R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})"),
             why) == message_kind::response);
  auto invalid = [](const char* text, const char* words) {
    std::string why;
    auto kind = classify(json::parse(text), why);
    CAF_CHECK(kind == message_kind::invalid);
    CAF_CHECK_NOT_EQUAL(why.find(words), std::string::npos);
  };
  invalid(R"([1])", "must be an object");
  invalid(R"({"id":1,"method":"x"})", "\"jsonrpc\" must be \"2.0\"");
  invalid(R"({"jsonrpc":"1.0","id":1,"method":"x"})", "\"jsonrpc\"");
  invalid(R"({"jsonrpc":"2.0","id":1,"method":7})", "\"method\"");
  invalid(R"({"jsonrpc":"2.0","id":1.5,"method":"x"})", "\"id\"");
  invalid(R"({"jsonrpc":"2.0","id":{},"method":"x"})", "\"id\"");
  invalid(R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})", "\"params\"");
  invalid(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})", "neither");
  invalid(R"({"jsonrpc":"2.0","id":1})", "neither");
}

CAF_TEST(responses echo the id with its type) {
  CAF_CHECK_EQUAL(dump(result_response("7", json::object())),
                  R"({"jsonrpc":"2.0","id":"7","result":{}})");
  CAF_CHECK_EQUAL(dump(result_response(0, json::object())),
                  R"({"jsonrpc":"2.0","id":0,"result":{}})");
  CAF_CHECK_EQUAL(dump(error_response(nullptr, -32700, "Parse error")),
                  R"({"jsonrpc":"2.0","id":null,"error":)"
                  R"({"code":-32700,"message":"Parse error"}})");
  CAF_CHECK_EQUAL(dump(error_response(9, -32603, "x", {{"reason", "timeout"}})),
                  R"({"jsonrpc":"2.0","id":9,"error":{"code":-32603,)"
                  R"("message":"x","data":{"reason":"timeout"}}})");
}

CAF_TEST(text with bad UTF - 8 is repaired rather than thrown at) {
  json x = std::string{"a\xff"};
  CAF_CHECK_EQUAL(dump(x), "\"a\\ufffd\"");
  CAF_CHECK_EQUAL(sse_event(json::object()), "event: message\ndata: {}\n\n");
}

CAF_TEST(accept headers say which answers a client takes) {
  auto both = parse_accept(nullptr);
  CAF_CHECK(both.json && both.event_stream);
  std::string v = "application/json, text/event-stream";
  auto x = parse_accept(&v);
  CAF_CHECK(x.json && x.event_stream);
  v = "text/event-stream";
  x = parse_accept(&v);
  CAF_CHECK(!x.json && x.event_stream);
  v = "Application/JSON;charset=utf-8";
  x = parse_accept(&v);
  CAF_CHECK(x.json && !x.event_stream);
  v = "*/*";
  x = parse_accept(&v);
  CAF_CHECK(x.json && x.event_stream);
  v = "text/html, image/png";
  x = parse_accept(&v);
  CAF_CHECK(!x.json && !x.event_stream);
  v = "application/json;q=0, text/event-stream;q=0.5";
  x = parse_accept(&v);
  CAF_CHECK(!x.json && x.event_stream);
  v = "application/json; q=0.000";
  x = parse_accept(&v);
  CAF_CHECK(!x.json);
  v = "application/json; q=0.01";
  x = parse_accept(&v);
  CAF_CHECK(x.json);
  CAF_CHECK(is_json_type("application/json"));
  CAF_CHECK(is_json_type("Application/Json; charset=utf-8"));
  CAF_CHECK(!is_json_type("text/plain"));
  CAF_CHECK(!is_json_type("application/jsonx"));
}

CAF_TEST(hosts and origins are reduced to their host names) {
  CAF_CHECK_EQUAL(host_of("LocalHost:8080"), "localhost");
  CAF_CHECK_EQUAL(host_of("127.0.0.1"), "127.0.0.1");
  CAF_CHECK_EQUAL(host_of("[::1]:80"), "[::1]");
  CAF_CHECK_EQUAL(host_of("[::1"), "");
  CAF_CHECK_EQUAL(origin_host("http://localhost:6274"), "localhost");
  CAF_CHECK_EQUAL(origin_host("https://App.Example.com"), "app.example.com");
  CAF_CHECK_EQUAL(origin_host("http://[::1]:3000"), "[::1]");
  // Nothing a browser sends: a path, a port that is none, two origins.
  CAF_CHECK_EQUAL(origin_host("http://[::1]:3000/path"), "");
  CAF_CHECK_EQUAL(origin_host("http://localhost:evil.example"), "");
  CAF_CHECK_EQUAL(origin_host("http://[::1]evil.example"), "");
  CAF_CHECK_EQUAL(origin_host("http://127.0.0.1:1,http://evil.example"), "");
  CAF_CHECK_EQUAL(origin_host("http://localhost/ a b"), "");
  CAF_CHECK_EQUAL(host_of("localhost:80@evil.example"), "");
  CAF_CHECK_EQUAL(host_of("localhost:abc"), "");
  CAF_CHECK_EQUAL(host_of("localhost:1234567"), "");
  CAF_CHECK_EQUAL(host_of("localhost:"), "localhost");
  CAF_CHECK_EQUAL(origin_host("null"), "");
  CAF_CHECK_EQUAL(origin_host("file://x"), "");
  CAF_CHECK_EQUAL(origin_host("http://user@localhost"), "");
  CAF_CHECK(loopback_host("localhost"));
  CAF_CHECK(loopback_host("[::1]"));
  CAF_CHECK(!loopback_host("localhost.evil.example"));
  CAF_CHECK(!loopback_host("127.0.0.2"));
}

CAF_TEST(a text result is the tool result of one text item) {
  for (bool is_error : {false, true}) {
    std::string text = "a \"quoted\" line\nand \xff";
    auto direct = json::parse(mcp::text_result(text, is_error).result);
    auto tree =
      json::parse(mcp::tool_result(
                    json::array({{{"type", "text"}, {"text", text}}}), is_error)
                    .result);
    CAF_CHECK_EQUAL(direct, tree);
  }
}

CAF_TEST(uri templates match simple and reserved variables) {
  auto m =
    match_uri_template("test://template/{id}/data", "test://template/42/data");
  CAF_REQUIRE(m);
  CAF_CHECK_EQUAL(m->size(), 1u);
  CAF_CHECK_EQUAL((*m)[0].first, "id");
  CAF_CHECK_EQUAL((*m)[0].second, "42");
  CAF_CHECK(!match_uri_template("test://template/{id}/data",
                                "test://template/4/2/data"));
  CAF_CHECK(
    !match_uri_template("test://template/{id}/data", "test://template//data"));
  m = match_uri_template("file:///{+path}", "file:///a/b/c.txt");
  CAF_REQUIRE(m);
  CAF_CHECK_EQUAL((*m)[0].second, "a/b/c.txt");
  m = match_uri_template("git://{repo}/{+path}", "git://sb/docs/a.md");
  CAF_REQUIRE(m);
  CAF_CHECK_EQUAL((*m)[0].second, "sb");
  CAF_CHECK_EQUAL((*m)[1].second, "docs/a.md");
  CAF_CHECK(match_uri_template("plain://x", "plain://x"));
  CAF_CHECK(!match_uri_template("plain://x", "plain://y"));
}

CAF_TEST(malformed templates are refused and matching stays cheap) {
  CAF_CHECK(valid_uri_template("a://{x}/{y}"));
  CAF_CHECK(!valid_uri_template(""));
  CAF_CHECK(!valid_uri_template("a://{x"));
  CAF_CHECK(!valid_uri_template("a://x}"));
  CAF_CHECK(!valid_uri_template("a://{}"));
  CAF_CHECK(!valid_uri_template("a://{x-y}"));
  CAF_CHECK(!valid_uri_template("a://{x}{y}"));
  // Many reserved variables against a long URI that fails at its end: the
  // memo keeps this quadratic instead of exponential.
  std::string tmpl = "a://";
  for (int i = 0; i < 20; ++i)
    tmpl += "{+v" + std::to_string(i) + "}-";
  tmpl += "end";
  std::string uri = "a://" + std::string(4000, '-') + "nope";
  CAF_CHECK(!match_uri_template(tmpl, uri));
  CAF_CHECK(!match_uri_template("a://{x}", std::string(9000, 'a')));
}
