#pragma once

// Checking the arguments of MCP tool calls against the tool's `inputSchema`:
// a subset of JSON Schema, compiled once when the tool is registered into a
// tree of plain structs, so that a call costs one walk over its arguments and
// never a look at the schema's JSON.
//
//   mcp::schema s;
//   if (auto err = mcp::schema::compile(input_schema, s); !err.empty())
//     ... refuse the tool: err names the keyword, "properties.n.minimum: ..."
//   if (auto err = s.validate(args); !err.empty())
//     ... answer invalid_params: err names the value, "arguments.n: ..."
//
// Enforced keywords:
//
//   type                  a name or an array of names among object, array,
//                         string, number, integer, boolean, null; `integer`
//                         takes any number without a fractional part (3.0)
//   enum, const           any JSON values, compared by value: numbers by
//                         their value (1 equals 1.0), objects whatever the
//                         order of their members
//   minimum, maximum      numbers, compared exactly also for large integers
//   exclusiveMinimum,     numbers; the draft-4 form (`true` makes `minimum`
//   exclusiveMaximum      or `maximum` exclusive) is understood as well
//   minLength, maxLength  in Unicode code points, not in bytes
//   items                 one schema for every element; the array (tuple)
//                         form and `prefixItems` are not enforced, and with
//                         `prefixItems` the schema applies past its elements
//   minItems, maxItems
//   properties, required
//   additionalProperties  a boolean or a schema for members that
//                         `properties` does not name; not enforced when the
//                         schema has `patternProperties`, which it would
//                         wrongly refuse otherwise
//
// The schemas `true` and `{}` accept anything, `false` nothing.
//
// Not enforced, so that a value they would refuse passes: `$ref`, `allOf`,
// `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `pattern`,
// `patternProperties`, `propertyNames`, `multipleOf`, `uniqueItems`,
// `contains`, `minProperties`, `maxProperties`, `dependentRequired`,
// `dependentSchemas`, `unevaluatedProperties`. Annotations (`description`,
// `title`, `default`, `examples`, `$schema`, `format`, ...) and unknown
// keywords are ignored; so are the schemas below ignored keywords, which
// are neither compiled nor checked.

#include <cstddef>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace sb::mcp {

using json = nlohmann::ordered_json;

/// Schemas nested deeper than this (counting each `properties`, `items` and
/// `additionalProperties` step from the root) are refused at compile.
inline constexpr size_t max_schema_depth = 32;

namespace detail {

struct schema_node;

} // namespace detail

/// A compiled schema. Cheap to copy (shared). A default-constructed schema
/// accepts anything.
class schema {
public:
  /// Compiles `x`; on a schema we cannot honour returns an error message
  /// naming the schema path (e.g. "properties.count.minimum: must be a
  /// number") and leaves `out` as it was.
  static std::string compile(const json& x, schema& out);

  /// Checks `value`; empty string if valid, else a message a person
  /// understands naming the path of the offending value, e.g.
  /// "arguments.count: must be at most 10" or "arguments: missing required
  /// property 'path'". Reports the first fault only. Recurses no deeper than
  /// `value` and the schema both reach, and costs time linear in the size of
  /// `value`.
  std::string validate(const json& value,
                       const std::string& root = "arguments") const;

private:
  std::shared_ptr<const detail::schema_node> root_;
};

} // namespace sb::mcp
