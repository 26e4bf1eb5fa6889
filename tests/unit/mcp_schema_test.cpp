#define CAF_SUITE mcp_schema
#include "caf/test/unit_test.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "protocols/mcp/schema.hpp"

using namespace sb::mcp;

namespace {

/// The schema of `text`, which must compile.
schema compiled(const std::string& text) {
  schema result;
  auto err = schema::compile(json::parse(text), result);
  CAF_REQUIRE_EQUAL(err, "");
  return result;
}

/// Why the schema of `text` does not compile.
std::string refusal(const std::string& text) {
  schema result;
  return schema::compile(json::parse(text), result);
}

/// What `s` says of the value of `text`.
std::string check(const schema& s, const std::string& text) {
  return s.validate(json::parse(text));
}

/// A schema that nests `items` `levels` deep around `leaf`.
json nested_items(size_t levels, json leaf) {
  for (size_t k = 0; k < levels; ++k)
    leaf = json{{"items", std::move(leaf)}};
  return leaf;
}

/// A value that nests arrays `levels` deep around `leaf`.
json nested_arrays(size_t levels, json leaf) {
  for (size_t k = 0; k < levels; ++k)
    leaf = json::array({std::move(leaf)});
  return leaf;
}

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

} // namespace

// -- schemas that take all or nothing -----------------------------------------

CAF_TEST(an empty schema and the schema true accept anything) {
  for (auto text : {"{}", "true"}) {
    auto s = compiled(text);
    CAF_CHECK_EQUAL(check(s, "null"), "");
    CAF_CHECK_EQUAL(check(s, "3.5"), "");
    CAF_CHECK_EQUAL(check(s, R"("x")"), "");
    CAF_CHECK_EQUAL(check(s, R"([1, {"a": []}])"), "");
    CAF_CHECK_EQUAL(check(s, R"({"a": {"b": null}})"), "");
  }
}

CAF_TEST(a schema never compiled accepts anything) {
  schema s;
  CAF_CHECK_EQUAL(check(s, R"({"a": 1})"), "");
  CAF_CHECK_EQUAL(check(s, "false"), "");
}

CAF_TEST(the schema false accepts nothing) {
  auto s = compiled("false");
  CAF_CHECK_EQUAL(check(s, "null"), "arguments: not allowed");
  CAF_CHECK_EQUAL(check(s, "{}"), "arguments: not allowed");
  auto t = compiled(R"({"properties": {"secret": false}})");
  CAF_CHECK_EQUAL(check(t, R"({"other": 1})"), "");
  CAF_CHECK_EQUAL(check(t, R"({"secret": 1})"),
                  "arguments.secret: not allowed");
}

// -- type ---------------------------------------------------------------------

CAF_TEST(type names one kind of value) {
  auto s = compiled(R"({"properties": {"name": {"type": "string"}}})");
  CAF_CHECK_EQUAL(check(s, R"({"name": "x"})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"name": 42})"),
                  "arguments.name: must be a string, not 42");
  CAF_CHECK_EQUAL(check(s, R"({"name": null})"),
                  "arguments.name: must be a string, not null");
  CAF_CHECK_EQUAL(check(s, R"({"name": {}})"),
                  "arguments.name: must be a string, not an object");
  CAF_CHECK_EQUAL(check(s, R"({"name": [1]})"),
                  "arguments.name: must be a string, not an array");
  CAF_CHECK_EQUAL(check(s, R"({"name": true})"),
                  "arguments.name: must be a string, not a boolean");
  auto t = compiled(R"({"type": "object"})");
  CAF_CHECK_EQUAL(check(t, R"("x")"),
                  "arguments: must be an object, not a string");
  auto b = compiled(R"({"type": "boolean"})");
  CAF_CHECK_EQUAL(check(b, "false"), "");
  CAF_CHECK_EQUAL(check(b, R"("true")"),
                  "arguments: must be a boolean, not a string");
  auto n = compiled(R"({"type": "null"})");
  CAF_CHECK_EQUAL(check(n, "null"), "");
  CAF_CHECK_EQUAL(check(n, "0"), "arguments: must be null, not 0");
}

CAF_TEST(type may name several kinds of value) {
  auto s = compiled(R"({"type": ["string", "null"]})");
  CAF_CHECK_EQUAL(check(s, R"("x")"), "");
  CAF_CHECK_EQUAL(check(s, "null"), "");
  CAF_CHECK_EQUAL(check(s, "{}"),
                  "arguments: must be a string or null, not an object");
  auto t = compiled(R"({"type": ["null", "array", "object"]})");
  CAF_CHECK_EQUAL(check(t, "1"),
                  "arguments: must be an object, an array or null, not 1");
}

CAF_TEST(integer takes numbers without a fractional part) {
  auto s = compiled(R"({"type": "integer"})");
  CAF_CHECK_EQUAL(check(s, "3"), "");
  CAF_CHECK_EQUAL(check(s, "-3"), "");
  CAF_CHECK_EQUAL(check(s, "3.0"), "");
  CAF_CHECK_EQUAL(check(s, "1e3"), "");
  CAF_CHECK_EQUAL(check(s, "18446744073709551615"), "");
  CAF_CHECK_EQUAL(check(s, "3.5"), "arguments: must be an integer, not 3.5");
  CAF_CHECK_EQUAL(check(s, R"("3")"),
                  "arguments: must be an integer, not a string");
  CAF_CHECK_NOT_EQUAL(s.validate(json(std::nan(""))), "");
  CAF_CHECK_NOT_EQUAL(s.validate(json(std::numeric_limits<double>::infinity())),
                      "");
}

CAF_TEST(number takes integers and fractions) {
  auto s = compiled(R"({"type": "number"})");
  CAF_CHECK_EQUAL(check(s, "3"), "");
  CAF_CHECK_EQUAL(check(s, "3.25"), "");
  CAF_CHECK_EQUAL(check(s, "-1e-9"), "");
  CAF_CHECK_EQUAL(check(s, R"("3")"),
                  "arguments: must be a number, not a string");
  auto t = compiled(R"({"type": ["integer", "number"]})");
  CAF_CHECK_EQUAL(check(t, "true"),
                  "arguments: must be a number, not a boolean");
}

// -- enum and const -----------------------------------------------------------

CAF_TEST(enum compares values by value) {
  auto s = compiled(R"({"enum": ["a", 1, null, [1, 2], {"x": 1, "y": [2]}]})");
  CAF_CHECK_EQUAL(check(s, R"("a")"), "");
  CAF_CHECK_EQUAL(check(s, "1"), "");
  CAF_CHECK_EQUAL(check(s, "1.0"), "");
  CAF_CHECK_EQUAL(check(s, "null"), "");
  CAF_CHECK_EQUAL(check(s, "[1, 2]"), "");
  CAF_CHECK_EQUAL(check(s, R"({"x": 1, "y": [2]})"), "");
  // Members in another order are the same object.
  CAF_CHECK_EQUAL(check(s, R"({"y": [2.0], "x": 1})"), "");
  CAF_CHECK_NOT_EQUAL(check(s, "[2, 1]"), "");
  CAF_CHECK_NOT_EQUAL(check(s, R"({"x": 1})"), "");
  CAF_CHECK_NOT_EQUAL(check(s, R"({"x": 1, "y": [2], "z": 3})"), "");
  CAF_CHECK_NOT_EQUAL(check(s, R"({"x": 1, "z": [2]})"), "");
  CAF_CHECK_NOT_EQUAL(check(s, R"("1")"), "");
  CAF_CHECK_NOT_EQUAL(check(s, "false"), "");
  CAF_CHECK_EQUAL(check(s, "2"), R"(arguments: must be one of "a", 1, null, )"
                                 R"([1,2], {"x":1,"y":[2]})");
}

CAF_TEST(enum messages stay short) {
  auto one = compiled(R"({"enum": ["only"]})");
  CAF_CHECK_EQUAL(check(one, R"("other")"), R"(arguments: must be "only")");
  json many = json::array();
  for (int k = 0; k < 100; ++k)
    many.push_back(std::string(100, 'a') + std::to_string(k));
  schema s;
  CAF_REQUIRE_EQUAL(schema::compile(json{{"enum", many}}, s), "");
  auto err = s.validate("b");
  CAF_CHECK(contains(err, "..."));
  CAF_CHECK_LESS(err.size(), 600u);
  CAF_CHECK_EQUAL(s.validate(many[99]), "");
}

CAF_TEST(const takes one value) {
  auto s = compiled(R"({"const": {"mode": "fast", "level": 2}})");
  CAF_CHECK_EQUAL(check(s, R"({"level": 2.0, "mode": "fast"})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"mode": "slow", "level": 2})"),
                  R"(arguments: must be {"mode":"fast","level":2})");
  auto n = compiled(R"({"const": null})");
  CAF_CHECK_EQUAL(check(n, "null"), "");
  CAF_CHECK_EQUAL(check(n, "0"), "arguments: must be null");
}

// -- numbers ------------------------------------------------------------------

CAF_TEST(minimum and maximum include their limits) {
  auto s = compiled(R"({"properties": {"count": {"minimum": 1,
                                                  "maximum": 10}}})");
  CAF_CHECK_EQUAL(check(s, R"({"count": 1})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"count": 10})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"count": 10.0})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"count": 11})"),
                  "arguments.count: must be at most 10");
  CAF_CHECK_EQUAL(check(s, R"({"count": 10.5})"),
                  "arguments.count: must be at most 10");
  CAF_CHECK_EQUAL(check(s, R"({"count": 0})"),
                  "arguments.count: must be at least 1");
  CAF_CHECK_EQUAL(check(s, R"({"count": -5})"),
                  "arguments.count: must be at least 1");
  CAF_CHECK_EQUAL(check(s, R"({"count": 0.999})"),
                  "arguments.count: must be at least 1");
  auto f = compiled(R"({"minimum": -0.5, "maximum": 0.5})");
  CAF_CHECK_EQUAL(check(f, "0"), "");
  CAF_CHECK_EQUAL(check(f, "-0.5"), "");
  CAF_CHECK_EQUAL(check(f, "-1"), "arguments: must be at least -0.5");
  CAF_CHECK_EQUAL(check(f, "1"), "arguments: must be at most 0.5");
}

CAF_TEST(exclusive limits exclude themselves) {
  auto s = compiled(R"({"exclusiveMinimum": 0, "exclusiveMaximum": 10})");
  CAF_CHECK_EQUAL(check(s, "0.001"), "");
  CAF_CHECK_EQUAL(check(s, "9"), "");
  CAF_CHECK_EQUAL(check(s, "0"), "arguments: must be greater than 0");
  CAF_CHECK_EQUAL(check(s, "-1"), "arguments: must be greater than 0");
  CAF_CHECK_EQUAL(check(s, "10"), "arguments: must be less than 10");
  CAF_CHECK_EQUAL(check(s, "10.0"), "arguments: must be less than 10");
}

CAF_TEST(the draft 4 form of exclusive limits makes minimum exclusive) {
  auto s = compiled(R"({"minimum": 0, "exclusiveMinimum": true,
                        "maximum": 5, "exclusiveMaximum": false})");
  CAF_CHECK_EQUAL(check(s, "0"), "arguments: must be greater than 0");
  CAF_CHECK_EQUAL(check(s, "5"), "");
  CAF_CHECK_EQUAL(check(s, "6"), "arguments: must be at most 5");
}

CAF_TEST(large integers compare exactly) {
  // 2^53 + 1 rounds to 2^53 as a double.
  auto s = compiled(R"({"maximum": 9007199254740992})");
  CAF_CHECK_EQUAL(check(s, "9007199254740992"), "");
  CAF_CHECK_EQUAL(check(s, "9007199254740993"),
                  "arguments: must be at most 9007199254740992");
  auto u = compiled(R"({"maximum": 18446744073709551614})");
  CAF_CHECK_EQUAL(check(u, "18446744073709551614"), "");
  CAF_CHECK_EQUAL(check(u, "-1"), "");
  CAF_CHECK_NOT_EQUAL(check(u, "18446744073709551615"), "");
  CAF_CHECK_NOT_EQUAL(check(u, "1e30"), "");
  auto n = compiled(R"({"minimum": -9223372036854775807})");
  CAF_CHECK_EQUAL(check(n, "18446744073709551615"), "");
  CAF_CHECK_NOT_EQUAL(check(n, "-9223372036854775808"), "");
  CAF_CHECK_NOT_EQUAL(check(n, "-1e30"), "");
  auto d = compiled(R"({"minimum": 0.5})");
  CAF_CHECK_EQUAL(check(d, "18446744073709551615"), "");
  CAF_CHECK_NOT_EQUAL(check(d, "0"), "");
}

CAF_TEST(not a number fails every limit) {
  auto s = compiled(R"({"minimum": 0})");
  CAF_CHECK_NOT_EQUAL(s.validate(json(std::nan(""))), "");
  auto t = compiled(R"({"maximum": 0})");
  CAF_CHECK_NOT_EQUAL(t.validate(json(std::nan(""))), "");
}

// -- strings ------------------------------------------------------------------

CAF_TEST(string lengths count code points and not bytes) {
  auto s = compiled(R"({"minLength": 2, "maxLength": 3})");
  CAF_CHECK_EQUAL(check(s, R"("ab")"), "");
  // Three code points in six, nine and twelve bytes.
  CAF_CHECK_EQUAL(check(s, "\"h\xc3\xa9\xc3\xa9\""), "");
  CAF_CHECK_EQUAL(check(s, "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\""), "");
  CAF_CHECK_EQUAL(
    check(s, "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\""), "");
  CAF_CHECK_EQUAL(check(s, R"("abcd")"),
                  "arguments: must be at most 3 characters long");
  CAF_CHECK_EQUAL(check(s, R"("\u00e9\u00e9\u00e9\u00e9")"),
                  "arguments: must be at most 3 characters long");
  // One code point in four bytes.
  CAF_CHECK_EQUAL(check(s, "\"\xf0\x9f\x98\x80\""),
                  "arguments: must be at least 2 characters long");
  auto one = compiled(R"({"minLength": 1})");
  CAF_CHECK_EQUAL(check(one, R"("")"),
                  "arguments: must be at least 1 character long");
}

// -- arrays -------------------------------------------------------------------

CAF_TEST(min and max items bound the length of arrays) {
  auto s = compiled(R"({"minItems": 1, "maxItems": 2})");
  CAF_CHECK_EQUAL(check(s, "[1]"), "");
  CAF_CHECK_EQUAL(check(s, "[1, 2]"), "");
  CAF_CHECK_EQUAL(check(s, "[]"), "arguments: must have at least 1 item");
  CAF_CHECK_EQUAL(check(s, "[1, 2, 3]"),
                  "arguments: must have at most 2 items");
}

CAF_TEST(items checks every element and names its index) {
  auto s = compiled(R"({"properties": {"tags": {"type": "array",
                        "items": {"type": "string", "minLength": 1}}}})");
  CAF_CHECK_EQUAL(check(s, R"({"tags": []})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"tags": ["a", "b"]})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"tags": ["a", "b", 7]})"),
                  "arguments.tags[2]: must be a string, not 7");
  CAF_CHECK_EQUAL(check(s, R"({"tags": ["a", ""]})"),
                  "arguments.tags[1]: must be at least 1 character long");
  auto none = compiled(R"({"items": false})");
  CAF_CHECK_EQUAL(check(none, "[]"), "");
  CAF_CHECK_EQUAL(check(none, "[1]"), "arguments[0]: not allowed");
}

CAF_TEST(items past prefixItems and the tuple form of items) {
  auto s = compiled(R"({"prefixItems": [{"type": "string"}],
                        "items": {"type": "integer"}})");
  // The prefix is not enforced; items applies past it.
  CAF_CHECK_EQUAL(check(s, R"([true, 1, 2])"), "");
  CAF_CHECK_EQUAL(check(s, R"(["a", 1, "b"])"),
                  "arguments[2]: must be an integer, not a string");
  auto t = compiled(R"({"items": [{"type": "string"}, {"type": "integer"}]})");
  CAF_CHECK_EQUAL(check(t, R"([1, "a", null])"), "");
}

// -- objects ------------------------------------------------------------------

CAF_TEST(required names each missing property) {
  auto s = compiled(R"({"type": "object",
                        "properties": {"path": {"type": "string"}},
                        "required": ["path", "mode"]})");
  CAF_CHECK_EQUAL(check(s, R"({"path": "/", "mode": 1})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"mode": 1})"),
                  "arguments: missing required property 'path'");
  CAF_CHECK_EQUAL(check(s, R"({"path": "/"})"),
                  "arguments: missing required property 'mode'");
  CAF_CHECK_EQUAL(check(s, "{}"),
                  "arguments: missing required property 'path'");
  // A missing property comes before a bad one.
  CAF_CHECK_EQUAL(check(s, R"({"path": 1})"),
                  "arguments: missing required property 'mode'");
  // Duplicates in required count once.
  auto d = compiled(R"({"required": ["a", "a"]})");
  CAF_CHECK_EQUAL(check(d, R"({"a": 1})"), "");
  // Required applies to objects only.
  CAF_CHECK_EQUAL(check(d, "[]"), "");
  CAF_CHECK_EQUAL(check(d, R"("x")"), "");
}

CAF_TEST(properties check their members and ignore others) {
  auto s = compiled(R"({"properties": {"a": {"type": "integer"},
                                        "b": {"type": "boolean"}}})");
  CAF_CHECK_EQUAL(check(s, "{}"), "");
  CAF_CHECK_EQUAL(check(s, R"({"a": 1, "b": true, "c": "free"})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"a": 1, "b": "yes"})"),
                  "arguments.b: must be a boolean, not a string");
}

CAF_TEST(nested items and properties give the full path) {
  auto s = compiled(R"({"type": "object", "properties": {
      "items": {"type": "array", "items": {
        "type": "object", "required": ["name"], "properties": {
          "name": {"type": "string", "maxLength": 4},
          "tags": {"items": {"enum": ["x", "y"]}}}}}}})");
  CAF_CHECK_EQUAL(check(s, R"({"items": [{"name": "a", "tags": ["x"]}]})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"items": [{"name": "a"}, {"name": "b"},
                                          {"name": "long name"}]})"),
                  "arguments.items[2].name: must be at most 4 characters long");
  CAF_CHECK_EQUAL(check(s, R"({"items": [{"name": "a"}, {}]})"),
                  "arguments.items[1]: missing required property 'name'");
  CAF_CHECK_EQUAL(check(s, R"({"items": [{"name": "a", "tags": ["x", "z"]}]})"),
                  R"(arguments.items[0].tags[1]: must be one of "x", "y")");
}

CAF_TEST(additionalProperties false refuses undeclared members) {
  auto s = compiled(R"({"properties": {"a": {}}, "required": ["a"],
                        "additionalProperties": false})");
  CAF_CHECK_EQUAL(check(s, R"({"a": 1})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"a": 1, "extra": 2})"),
                  "arguments: unexpected property 'extra'");
  auto t = compiled(R"({"additionalProperties": true})");
  CAF_CHECK_EQUAL(check(t, R"({"any": 1})"), "");
  // As JSON Schema has it, a name that only required gives is additional.
  auto u = compiled(R"({"required": ["b"], "additionalProperties": false})");
  CAF_CHECK_EQUAL(check(u, R"({"b": 1})"),
                  "arguments: unexpected property 'b'");
}

CAF_TEST(additionalProperties as a schema checks undeclared members) {
  auto s = compiled(R"({"properties": {"name": {"type": "string"}},
                        "additionalProperties": {"type": "number"}})");
  CAF_CHECK_EQUAL(check(s, R"({"name": "x", "a": 1, "b": 2.5})"), "");
  CAF_CHECK_EQUAL(check(s, R"({"name": "x", "a": "1"})"),
                  "arguments.a: must be a number, not a string");
  CAF_CHECK_EQUAL(check(s, R"({"name": 1})"),
                  "arguments.name: must be a string, not 1");
}

CAF_TEST(patternProperties turns additionalProperties off) {
  auto s = compiled(R"({"patternProperties": {"^x-": {}},
                        "additionalProperties": false})");
  CAF_CHECK_EQUAL(check(s, R"({"x-a": 1, "b": 2})"), "");
}

CAF_TEST(odd property names are quoted) {
  auto s = compiled(R"({"properties": {"a b": {"type": "string"},
                                        "a.b": {"type": "string"},
                                        "with space": {}},
                        "required": ["with space"],
                        "additionalProperties": false})");
  CAF_CHECK_EQUAL(check(s, R"({"with space": 1, "a b": 1})"),
                  R"(arguments["a b"]: must be a string, not 1)");
  CAF_CHECK_EQUAL(check(s, R"({"with space": 1, "a.b": 1})"),
                  R"(arguments["a.b"]: must be a string, not 1)");
  CAF_CHECK_EQUAL(check(s, "{}"),
                  R"(arguments: missing required property "with space")");
  CAF_CHECK_EQUAL(check(s, R"({"with space": 1, "": 1})"),
                  R"(arguments: unexpected property "")");
  CAF_CHECK_EQUAL(check(s, R"({"with space": 1, "q\"\n": 1})"),
                  R"(arguments: unexpected property "q\"\n")");
  // Long names are cut short.
  auto long_name = std::string(1000, 'n');
  auto err = s.validate(json{{"with space", 1}, {long_name, 1}});
  CAF_CHECK(contains(err, "unexpected property \"nnnn"));
  CAF_CHECK(contains(err, "...\""));
  CAF_CHECK_LESS(err.size(), 120u);
}

CAF_TEST(messages about names that are not UTF 8 can be sent as JSON) {
  auto s = compiled(R"({"additionalProperties": false})");
  auto err = s.validate(json{{"bad\xff", 1}});
  CAF_CHECK(contains(err, "unexpected property"));
  CAF_CHECK_NOT_EQUAL(json(err).dump(), "");
  // A long name is not cut in the middle of a code point.
  auto name = std::string(63, 'a') + "\xc3\xa9";
  err = s.validate(json{{name, 1}});
  CAF_CHECK(contains(err, std::string(63, 'a') + "...\""));
  CAF_CHECK_NOT_EQUAL(json(err).dump(), "");
}

// -- keywords that apply to one kind ------------------------------------------

CAF_TEST(keywords of one kind pass values of another) {
  auto s = compiled(R"({"minLength": 5, "minimum": 5, "minItems": 5,
                        "required": ["a"], "additionalProperties": false,
                        "items": false})");
  CAF_CHECK_EQUAL(check(s, "1"), "arguments: must be at least 5");
  CAF_CHECK_EQUAL(check(s, R"("12345")"), "");
  CAF_CHECK_EQUAL(check(s, "7"), "");
  CAF_CHECK_EQUAL(check(s, "null"), "");
  CAF_CHECK_EQUAL(check(s, "true"), "");
}

// -- keywords not enforced ----------------------------------------------------

CAF_TEST(annotations and unknown keywords are ignored) {
  auto s = compiled(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "T", "description": "D", "default": 3, "examples": [1, "x"],
    "format": "email", "x-vendor": {"type": "bogus"}, "nullable": 7,
    "type": "string"})");
  CAF_CHECK_EQUAL(check(s, R"("not an email")"), "");
  CAF_CHECK_NOT_EQUAL(check(s, "3"), "");
}

CAF_TEST(combinators and references are not enforced) {
  auto s = compiled(R"({"$ref": "#/$defs/x", "$defs": {"x": false},
    "anyOf": [false], "oneOf": [false], "allOf": [false],
    "not": true, "pattern": "^a$", "if": true, "then": false,
    "else": false})");
  CAF_CHECK_EQUAL(check(s, R"("b")"), "");
  CAF_CHECK_EQUAL(check(s, "{}"), "");
  // Schemas below them are not compiled, however bad.
  CAF_CHECK_EQUAL(refusal(R"({"anyOf": [{"type": "bogus"}]})"), "");
}

// -- compile errors -----------------------------------------------------------

CAF_TEST(malformed keywords are refused with their path) {
  CAF_CHECK_EQUAL(refusal(R"({"properties": {"count": {"minimum": "1"}}})"),
                  "properties.count.minimum: must be a number");
  CAF_CHECK_EQUAL(refusal(R"({"maximum": true})"), "maximum: must be a number");
  CAF_CHECK_EQUAL(refusal(R"({"exclusiveMinimum": "0"})"),
                  "exclusiveMinimum: must be a number");
  CAF_CHECK_EQUAL(refusal(R"({"exclusiveMaximum": null})"),
                  "exclusiveMaximum: must be a number");
  CAF_CHECK_EQUAL(refusal(R"({"type": "float"})"),
                  R"(type: unknown type "float")");
  CAF_CHECK_EQUAL(refusal(R"({"type": ["string", 1]})"),
                  "type[1]: must be a string");
  CAF_CHECK_EQUAL(refusal(R"({"type": []})"),
                  "type: must name at least one type");
  CAF_CHECK_EQUAL(refusal(R"({"type": {}})"),
                  "type: must be a string or an array of strings");
  CAF_CHECK_EQUAL(refusal(R"({"required": "a"})"),
                  "required: must be an array of strings");
  CAF_CHECK_EQUAL(refusal(R"({"required": ["a", 2]})"),
                  "required[1]: must be a string");
  CAF_CHECK_EQUAL(refusal(R"({"enum": []})"),
                  "enum: must be a non-empty array");
  CAF_CHECK_EQUAL(refusal(R"({"enum": "a"})"),
                  "enum: must be a non-empty array");
  CAF_CHECK_EQUAL(refusal(R"({"properties": []})"),
                  "properties: must be an object");
  CAF_CHECK_EQUAL(refusal(R"({"properties": {"a": 1}})"),
                  "properties.a: must be an object or a boolean");
  CAF_CHECK_EQUAL(refusal(R"({"properties": {"a b": {"type": 1}}})"),
                  R"(properties["a b"].type: must be a string or an array of )"
                  "strings");
  CAF_CHECK_EQUAL(refusal(R"({"items": "string"})"),
                  "items: must be an object or a boolean");
  CAF_CHECK_EQUAL(refusal(R"({"items": {"items": {"type": "list"}}})"),
                  R"(items.items.type: unknown type "list")");
  CAF_CHECK_EQUAL(refusal(R"({"additionalProperties": null})"),
                  "additionalProperties: must be an object or a boolean");
  CAF_CHECK_EQUAL(
    refusal(R"({"additionalProperties": {"properties": {"x": {
              "maxItems": -1}}}})"),
    "additionalProperties.properties.x.maxItems: must be a non-negative "
    "integer");
  schema s;
  CAF_CHECK_EQUAL(schema::compile(json{{"minimum", std::nan("")}}, s),
                  "minimum: must be a number");
  CAF_CHECK_EQUAL(refusal("42"), "schema: must be an object or a boolean");
  CAF_CHECK_EQUAL(refusal("null"), "schema: must be an object or a boolean");
  CAF_CHECK_EQUAL(refusal(R"("object")"),
                  "schema: must be an object or a boolean");
}

CAF_TEST(counts must be whole numbers of zero or more) {
  for (auto key : {"minLength", "maxLength", "minItems", "maxItems"}) {
    auto expected = std::string{key} + ": must be a non-negative integer";
    CAF_CHECK_EQUAL(refusal(json{{key, -1}}.dump()), expected);
    CAF_CHECK_EQUAL(refusal(json{{key, 1.5}}.dump()), expected);
    CAF_CHECK_EQUAL(refusal(json{{key, "3"}}.dump()), expected);
    CAF_CHECK_EQUAL(refusal(json{{key, true}}.dump()), expected);
    CAF_CHECK_EQUAL(refusal(json{{key, 3.0}}.dump()), "");
    CAF_CHECK_EQUAL(refusal(json{{key, 0}}.dump()), "");
    CAF_CHECK_EQUAL(refusal(json{{key, 1e300}}.dump()), "");
  }
  auto s = compiled(R"({"maxLength": 2.0})");
  CAF_CHECK_EQUAL(check(s, R"("ab")"), "");
  CAF_CHECK_NOT_EQUAL(check(s, R"("abc")"), "");
}

CAF_TEST(a refused schema leaves the old one in place) {
  auto s = compiled(R"({"type": "string"})");
  CAF_CHECK_NOT_EQUAL(schema::compile(json::parse(R"({"type": 1})"), s), "");
  CAF_CHECK_EQUAL(check(s, R"("x")"), "");
  CAF_CHECK_NOT_EQUAL(check(s, "1"), "");
}

// -- limits -------------------------------------------------------------------

CAF_TEST(schemas nest at most 32 levels deep) {
  schema s;
  CAF_CHECK_EQUAL(schema::compile(nested_items(32, {{"type", "string"}}), s),
                  "");
  CAF_CHECK_EQUAL(s.validate(nested_arrays(32, "x")), "");
  auto err = s.validate(nested_arrays(32, 1));
  CAF_CHECK(contains(err, "arguments[0][0][0]"));
  CAF_CHECK(contains(err, ": must be a string, not 1"));
  // One more level is refused, and so is anything deeper.
  auto refused = schema::compile(nested_items(33, json::object()), s);
  CAF_CHECK(contains(refused, "items.items"));
  CAF_CHECK(contains(refused, ": nested deeper than 32 levels"));
  CAF_CHECK_NOT_EQUAL(schema::compile(nested_items(10000, true), s), "");
  json deep = json::object();
  for (int k = 0; k < 40; ++k)
    deep = json{{"properties", {{"a", std::move(deep)}}}};
  CAF_CHECK(contains(schema::compile(deep, s), "nested deeper"));
}

CAF_TEST(checks go no deeper than the schema) {
  auto s = compiled(R"({"items": {"type": "array"}})");
  // A value far deeper than the schema is not walked.
  CAF_CHECK_EQUAL(s.validate(nested_arrays(100000, 1)), "");
  auto any = compiled("{}");
  CAF_CHECK_EQUAL(any.validate(nested_arrays(100000, 1)), "");
  // A schema deeper than the value stops at the value.
  auto deep = schema{};
  CAF_REQUIRE_EQUAL(schema::compile(nested_items(32, {{"type", "null"}}), deep),
                    "");
  CAF_CHECK_EQUAL(deep.validate(json::array({json::array()})), "");
}

CAF_TEST(deep enum values are compared and shown safely) {
  auto value = nested_arrays(50, 1);
  schema s;
  CAF_REQUIRE_EQUAL(schema::compile(json{{"enum", json::array({value})}}, s),
                    "");
  CAF_CHECK_EQUAL(s.validate(value), "");
  CAF_CHECK_EQUAL(s.validate(nested_arrays(50, 2)), "arguments: must be [...]");
}

CAF_TEST(wide objects cost linear time) {
  // Building an ordered_json object costs quadratic time: keep it small.
  json required = json::array();
  json value = json::object();
  for (int k = 0; k < 5000; ++k) {
    required.push_back("r" + std::to_string(k));
    value["v" + std::to_string(k)] = k;
  }
  schema s;
  CAF_REQUIRE_EQUAL(schema::compile(json{{"required", required}}, s), "");
  CAF_CHECK_EQUAL(s.validate(value),
                  "arguments: missing required property 'r0'");
  json full = json::object();
  for (auto& name : required)
    full[name.get<std::string>()] = 1;
  CAF_CHECK_EQUAL(s.validate(full), "");
  // Enum objects of many members in another order.
  json reversed = json::object();
  for (int k = 4999; k >= 0; --k)
    reversed["r" + std::to_string(k)] = 1;
  CAF_REQUIRE_EQUAL(schema::compile(json{{"enum", {full}}}, s), "");
  CAF_CHECK_EQUAL(s.validate(reversed), "");
}

// -- the API ------------------------------------------------------------------

CAF_TEST(copies share the compiled schema) {
  auto s = compiled(R"({"type": "string"})");
  auto t = s;
  s = compiled(R"({"type": "integer"})");
  CAF_CHECK_EQUAL(check(t, R"("x")"), "");
  CAF_CHECK_EQUAL(check(s, R"("x")"),
                  "arguments: must be an integer, not a string");
}

CAF_TEST(the root of paths is the callers choice) {
  auto s = compiled(R"({"properties": {"n": {"maximum": 1}}})");
  CAF_CHECK_EQUAL(s.validate(json{{"n", 2}}, "params.arguments"),
                  "params.arguments.n: must be at most 1");
  CAF_CHECK_EQUAL(s.validate(json{{"n", 2}}, ""), "n: must be at most 1");
  auto f = compiled("false");
  CAF_CHECK_EQUAL(f.validate(1, ""), "not allowed");
}

CAF_TEST(values that JSON text cannot hold do not throw) {
  auto s = compiled(R"({"type": "string", "enum": ["a"]})");
  CAF_CHECK_NOT_EQUAL(s.validate(json::binary({1, 2, 3})), "");
  CAF_CHECK_NOT_EQUAL(s.validate(json(json::value_t::discarded)), "");
  CAF_CHECK_NOT_EQUAL(s.validate(json("bad\xff")), "");
  auto any = compiled("{}");
  CAF_CHECK_EQUAL(any.validate(json::binary({1})), "");
  schema t;
  CAF_CHECK_EQUAL(schema::compile(json(json::value_t::discarded), t),
                  "schema: must be an object or a boolean");
  CAF_CHECK_EQUAL(schema::compile(json{{"const", "bad\xff"}}, t), "");
  CAF_CHECK_NOT_EQUAL(t.validate("x"), "");
}
