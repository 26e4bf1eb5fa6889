#include "protocols/mcp/schema.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sb::mcp {

namespace detail {

/// The kinds of value that `type` names, as bits.
enum kind_bit : uint8_t {
  null_bit = 0x01,
  boolean_bit = 0x02,
  object_bit = 0x04,
  array_bit = 0x08,
  string_bit = 0x10,
  integer_bit = 0x20,
  number_bit = 0x40,
  any_kind = 0x7F,
};

/// A limit on numbers, as `minimum` and its kin give it.
struct bound {
  /// A number.
  json limit;
  /// The limit as messages show it.
  std::string text;
};

/// A member that `properties` or `required` names.
struct member {
  /// The schema from `properties`; null if only `required` names it.
  std::unique_ptr<schema_node> schema;
  bool required = false;
};

/// What a schema object asks, in a form that a check reads without looking
/// up keywords. Limits that the schema leaves out hold values that pass
/// everything.
struct schema_node {
  /// The schema `false`.
  bool reject_all = false;
  uint8_t types = any_kind;

  bool has_enum = false;
  std::vector<json> enum_values;
  /// The message for a value not in `enum_values`.
  std::string enum_text;

  bool has_const = false;
  json const_value;
  std::string const_text;

  std::optional<bound> minimum;
  std::optional<bound> exclusive_minimum;
  std::optional<bound> maximum;
  std::optional<bound> exclusive_maximum;

  size_t min_length = 0;
  size_t max_length = std::numeric_limits<size_t>::max();

  size_t min_items = 0;
  size_t max_items = std::numeric_limits<size_t>::max();
  /// Null when `items` is left out or in its tuple form.
  std::unique_ptr<schema_node> items;
  /// The first element that `items` applies to: past `prefixItems`.
  size_t items_from = 0;

  std::unordered_map<std::string, member> members;
  /// The names of `required`, in schema order, each once.
  std::vector<std::string> required;
  enum class extra : uint8_t { allow, forbid, check };
  extra additional = extra::allow;
  /// The schema of `additionalProperties` with `extra::check`.
  std::unique_ptr<schema_node> additional_schema;
};

} // namespace detail

namespace {

using detail::bound;
using detail::schema_node;

constexpr size_t max_name_bytes = 64;
constexpr size_t max_shown_bytes = 40;
constexpr size_t max_shown_values = 10;

/// Values shown in messages that nest deeper than this show as `[...]`.
constexpr size_t max_shown_depth = 8;

// -- numbers ------------------------------------------------------------------

/// What `compare_numbers` returns for NaN, which has no order.
constexpr int unordered = 2;

int compare_int_double(int64_t x, double y) {
  if (std::isnan(y))
    return unordered;
  if (y >= 0x1p63)
    return -1;
  if (y < -0x1p63)
    return 1;
  auto whole = std::trunc(y);
  auto y_int = static_cast<int64_t>(whole);
  if (x != y_int)
    return x < y_int ? -1 : 1;
  return whole < y ? -1 : (whole > y ? 1 : 0);
}

int compare_uint_double(uint64_t x, double y) {
  if (std::isnan(y))
    return unordered;
  if (y < 0)
    return 1;
  if (y >= 0x1p64)
    return -1;
  auto whole = std::trunc(y);
  auto y_int = static_cast<uint64_t>(whole);
  if (x != y_int)
    return x < y_int ? -1 : 1;
  return whole < y ? -1 : (whole > y ? 1 : 0);
}

int flip(int order) {
  return order == unordered ? unordered : -order;
}

/// -1, 0 or 1 as the number `x` is below, at or above the number `y`;
/// `unordered` if either is NaN. Exact for any mix of signed, unsigned and
/// floating-point numbers: doubles would round integers above 2^53.
int compare_numbers(const json& x, const json& y) {
  using vt = json::value_t;
  auto xt = x.type();
  auto yt = y.type();
  if (xt == vt::number_float && yt == vt::number_float) {
    auto a = x.get<double>();
    auto b = y.get<double>();
    if (a < b)
      return -1;
    if (a > b)
      return 1;
    return a == b ? 0 : unordered;
  }
  if (xt == vt::number_float)
    return flip(compare_numbers(y, x));
  // From here on `x` is an integer.
  if (yt == vt::number_float) {
    auto b = y.get<double>();
    return xt == vt::number_unsigned ? compare_uint_double(x.get<uint64_t>(), b)
                                     : compare_int_double(x.get<int64_t>(), b);
  }
  if (xt == vt::number_unsigned && yt == vt::number_unsigned) {
    auto a = x.get<uint64_t>();
    auto b = y.get<uint64_t>();
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  if (xt == vt::number_unsigned)
    return flip(compare_numbers(y, x));
  auto a = x.get<int64_t>();
  if (yt == vt::number_unsigned) {
    auto b = y.get<uint64_t>();
    return a < 0 || static_cast<uint64_t>(a) < b
             ? -1
             : (static_cast<uint64_t>(a) > b ? 1 : 0);
  }
  auto b = y.get<int64_t>();
  return a < b ? -1 : (a > b ? 1 : 0);
}

/// Whether the number `x` has no fractional part.
bool integral(const json& x) {
  if (!x.is_number_float())
    return true;
  auto d = x.get<double>();
  return std::isfinite(d) && std::trunc(d) == d;
}

// -- values -------------------------------------------------------------------

bool same_value(const json& x, const json& y);

/// Whether two objects have the same members, in any order.
bool same_members(const json::object_t& x, const json::object_t& y) {
  if (x.size() != y.size())
    return false;

  // Members in the same order need no sorting.
  auto i = x.begin();
  auto j = y.begin();
  for (; i != x.end() && i->first == j->first; ++i, ++j)
    if (!same_value(i->second, j->second))
      return false;
  if (i == x.end())
    return true;

  // Otherwise compare the rest sorted by name.
  using entry = const json::object_t::value_type*;
  std::vector<entry> xs;
  std::vector<entry> ys;
  for (; i != x.end(); ++i, ++j) {
    xs.push_back(&*i);
    ys.push_back(&*j);
  }
  auto by_name = [](entry a, entry b) {
    return a->first < b->first;
  };
  std::sort(xs.begin(), xs.end(), by_name);
  std::sort(ys.begin(), ys.end(), by_name);
  for (size_t k = 0; k < xs.size(); ++k)
    if (xs[k]->first != ys[k]->first ||
        !same_value(xs[k]->second, ys[k]->second))
      return false;
  return true;
}

/// Equality as JSON Schema sees it: numbers by value, objects in any order.
/// Recurses no deeper than the shallower of the two.
bool same_value(const json& x, const json& y) {
  if (x.is_number() && y.is_number())
    return compare_numbers(x, y) == 0;
  if (x.type() != y.type())
    return false;
  if (x.is_array()) {
    if (x.size() != y.size())
      return false;
    for (size_t k = 0; k < x.size(); ++k)
      if (!same_value(x[k], y[k]))
        return false;
    return true;
  }
  if (x.is_object())
    return same_members(x.get_ref<const json::object_t&>(),
                        y.get_ref<const json::object_t&>());
  return x == y;
}

/// The kind bits of `x`: an integral number is both a number and an integer.
uint8_t kinds_of(const json& x) {
  using namespace detail;
  switch (x.type()) {
  case json::value_t::null:
    return null_bit;
  case json::value_t::boolean:
    return boolean_bit;
  case json::value_t::object:
    return object_bit;
  case json::value_t::array:
    return array_bit;
  case json::value_t::string:
    return string_bit;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float:
    return integral(x) ? number_bit | integer_bit : number_bit;
  default:
    return 0;
  }
}

/// The kind bit of the type name `name`; 0 if we know no such type.
uint8_t kind_named(const std::string& name) {
  using namespace detail;
  static const std::pair<const char*, uint8_t> names[] = {
    {"null", null_bit},     {"boolean", boolean_bit}, {"object", object_bit},
    {"array", array_bit},   {"string", string_bit},   {"integer", integer_bit},
    {"number", number_bit},
  };
  for (auto& [str, bit] : names)
    if (name == str)
      return bit;
  return 0;
}

/// Counts the code points of the UTF-8 text `str`: its bytes that do not
/// continue a sequence.
size_t code_points(const std::string& str) {
  size_t result = 0;
  for (auto c : str)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++result;
  return result;
}

// -- text for messages --------------------------------------------------------

/// Cuts `str` to at most `max` bytes plus `...`, between code points.
std::string shorten(std::string str, size_t max) {
  if (str.size() <= max)
    return str;
  auto cut = max;
  while (cut > 0 && (static_cast<unsigned char>(str[cut]) & 0xC0) == 0x80)
    --cut;
  str.resize(cut);
  str += "...";
  return str;
}

/// `x` as JSON text; never throws on bad UTF-8.
std::string dump(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool deeper_than(const json& x, size_t limit) {
  if (!x.is_structured())
    return false;
  if (limit == 0)
    return true;
  for (auto& y : x)
    if (deeper_than(y, limit - 1))
      return true;
  return false;
}

/// `x` for a message: short, and at no depth that printing would suffer.
std::string show(const json& x) {
  if (deeper_than(x, max_shown_depth))
    return x.is_array() ? "[...]" : "{...}";
  return shorten(dump(x), max_shown_bytes);
}

/// Whether `name` reads well unquoted: ASCII letters, digits, `_` and `-`.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > max_name_bytes)
    return false;
  for (auto c : name) {
    auto ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

/// `name` in a message: 'name' if plain, else JSON-quoted.
std::string quoted(const std::string& name) {
  if (plain_name(name))
    return "'" + name + "'";
  return dump(json(shorten(name, max_name_bytes)));
}

/// Appends `name` to the path `path`: `.name` if plain, else `["name"]`.
void append_name(std::string& path, const std::string& name) {
  if (plain_name(name)) {
    if (!path.empty())
      path += '.';
    path += name;
    return;
  }
  path += '[';
  path += dump(json(shorten(name, max_name_bytes)));
  path += ']';
}

/// "a string", "a string or null", "an object, an array or null".
std::string type_list(uint8_t types) {
  using namespace detail;
  // `number` takes integers as well.
  if (types & number_bit)
    types &= ~integer_bit;
  static const std::pair<uint8_t, const char*> names[] = {
    {object_bit, "an object"}, {array_bit, "an array"},
    {string_bit, "a string"},  {integer_bit, "an integer"},
    {number_bit, "a number"},  {boolean_bit, "a boolean"},
    {null_bit, "null"},
  };
  std::vector<const char*> parts;
  for (auto& [bit, text] : names)
    if (types & bit)
      parts.push_back(text);
  std::string result;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0)
      result += k + 1 == parts.size() ? " or " : ", ";
    result += parts[k];
  }
  return result;
}

/// What `x` is, for "must be a string, not ...": numbers show themselves.
std::string kind_text(const json& x) {
  switch (x.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "a boolean";
  case json::value_t::object:
    return "an object";
  case json::value_t::array:
    return "an array";
  case json::value_t::string:
    return "a string";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float:
    return dump(x);
  default:
    return "no JSON value";
  }
}

std::string plural(size_t n, const char* noun) {
  auto result = std::to_string(n) + " " + noun;
  if (n != 1)
    result += 's';
  return result;
}

// -- compiling ----------------------------------------------------------------

/// Compiles one schema object after another, keeping the path to the one at
/// hand for messages.
class compiler {
public:
  /// What is wrong with the schema, once `compile` returned false.
  std::string error;

  bool compile(const json& x, size_t depth, schema_node& out) {
    if (depth > max_schema_depth)
      return fail_here("nested deeper than " +
                       std::to_string(max_schema_depth) + " levels");
    if (x.is_boolean()) {
      out.reject_all = !x.get<bool>();
      return true;
    }
    if (!x.is_object())
      return fail_here("must be an object or a boolean");
    return types(x, out) && values(x, out) && numbers(x, out) &&
           strings(x, out) && arrays(x, depth, out) && objects(x, depth, out);
  }

private:
  /// The path of the schema at hand: `properties.a.items`.
  std::string path_;

  bool fail_here(std::string reason) {
    error = (path_.empty() ? std::string{"schema"} : path_) + ": " + reason;
    return false;
  }

  /// Fails at `where` below the schema at hand.
  bool fail(const std::string& where, const std::string& reason) {
    error = path_;
    if (!error.empty())
      error += '.';
    error += where;
    error += ": ";
    error += reason;
    return false;
  }

  /// Compiles the schema `x` found at `where` below the one at hand.
  bool child(const json& x, const std::string& where, size_t depth,
             schema_node& out) {
    auto mark = path_.size();
    if (!path_.empty())
      path_ += '.';
    path_ += where;
    if (!compile(x, depth + 1, out))
      return false;
    path_.resize(mark);
    return true;
  }

  static const json* find(const json& x, const char* key) {
    auto i = x.find(key);
    return i != x.end() ? &*i : nullptr;
  }

  bool types(const json& x, schema_node& out) {
    auto type = find(x, "type");
    if (!type)
      return true;
    auto bit_of = [this](const json& name, const std::string& where,
                         uint8_t& bit) {
      if (!name.is_string())
        return fail(where, "must be a string");
      bit = kind_named(name.get_ref<const std::string&>());
      if (bit == 0)
        return fail(where, "unknown type " + show(name));
      return true;
    };
    uint8_t bit = 0;
    if (type->is_string()) {
      if (!bit_of(*type, "type", bit))
        return false;
      out.types = bit;
      return true;
    }
    if (!type->is_array())
      return fail("type", "must be a string or an array of strings");
    if (type->empty())
      return fail("type", "must name at least one type");
    out.types = 0;
    for (size_t k = 0; k < type->size(); ++k) {
      if (!bit_of((*type)[k], "type[" + std::to_string(k) + "]", bit))
        return false;
      out.types |= bit;
    }
    return true;
  }

  bool values(const json& x, schema_node& out) {
    // enum
    if (auto values = find(x, "enum")) {
      if (!values->is_array() || values->empty())
        return fail("enum", "must be a non-empty array");
      out.has_enum = true;
      out.enum_values = values->get<std::vector<json>>();
      if (values->size() == 1) {
        out.enum_text = "must be " + show(values->front());
      } else {
        out.enum_text = "must be one of ";
        for (size_t k = 0; k < values->size(); ++k) {
          if (k > 0)
            out.enum_text += ", ";
          if (k == max_shown_values) {
            out.enum_text += "...";
            break;
          }
          out.enum_text += show((*values)[k]);
        }
      }
    }

    // const
    if (auto value = find(x, "const")) {
      out.has_const = true;
      out.const_value = *value;
      out.const_text = "must be " + show(*value);
    }
    return true;
  }

  bool bound_of(const json& x, const char* key, std::optional<bound>& out) {
    auto limit = find(x, key);
    if (!limit)
      return true;
    // JSON text holds no NaN nor infinity; a schema built in C++ might.
    if (!limit->is_number() ||
        (limit->is_number_float() && !std::isfinite(limit->get<double>())))
      return fail(key, "must be a number");
    out = bound{*limit, dump(*limit)};
    return true;
  }

  /// Reads the draft-4 form of `exclusiveMinimum` or `exclusiveMaximum`: true
  /// makes `inclusive` exclusive.
  bool draft4_bound(const json& x, const char* key,
                    std::optional<bound>& inclusive,
                    std::optional<bound>& exclusive) {
    auto flag = find(x, key);
    if (!flag || !flag->is_boolean())
      return bound_of(x, key, exclusive);
    if (flag->get<bool>() && inclusive) {
      exclusive = std::move(inclusive);
      inclusive.reset();
    }
    return true;
  }

  bool numbers(const json& x, schema_node& out) {
    return bound_of(x, "minimum", out.minimum) &&
           bound_of(x, "maximum", out.maximum) &&
           draft4_bound(x, "exclusiveMinimum", out.minimum,
                        out.exclusive_minimum) &&
           draft4_bound(x, "exclusiveMaximum", out.maximum,
                        out.exclusive_maximum);
  }

  /// Reads a count such as `minLength`: a non-negative integer; 3.0 will do.
  bool count_of(const json& x, const char* key, size_t& out) {
    auto n = find(x, key);
    if (!n)
      return true;
    if (!n->is_number() || !integral(*n) || compare_numbers(*n, 0) < 0)
      return fail(key, "must be a non-negative integer");
    constexpr auto max = std::numeric_limits<size_t>::max();
    if (n->is_number_float()) {
      auto d = n->get<double>();
      out = d >= static_cast<double>(max) ? max : static_cast<size_t>(d);
    } else {
      auto u = n->get<uint64_t>();
      out = u >= max ? max : static_cast<size_t>(u);
    }
    return true;
  }

  bool strings(const json& x, schema_node& out) {
    return count_of(x, "minLength", out.min_length) &&
           count_of(x, "maxLength", out.max_length);
  }

  bool arrays(const json& x, size_t depth, schema_node& out) {
    if (!count_of(x, "minItems", out.min_items) ||
        !count_of(x, "maxItems", out.max_items))
      return false;

    // The tuple form of `items`, like `prefixItems`, is not enforced.
    if (auto items = find(x, "items"); items && !items->is_array()) {
      out.items = std::make_unique<schema_node>();
      if (!child(*items, "items", depth, *out.items))
        return false;
    }
    if (auto prefix = find(x, "prefixItems"); prefix && prefix->is_array())
      out.items_from = prefix->size();
    return true;
  }

  bool objects(const json& x, size_t depth, schema_node& out) {
    // properties
    if (auto properties = find(x, "properties")) {
      if (!properties->is_object())
        return fail("properties", "must be an object");
      for (auto& [name, sub] : properties->get_ref<const json::object_t&>()) {
        auto where = std::string{"properties"};
        append_name(where, name);
        auto& slot = out.members[name];
        slot.schema = std::make_unique<schema_node>();
        if (!child(sub, where, depth, *slot.schema))
          return false;
      }
    }

    // required
    if (auto required = find(x, "required")) {
      if (!required->is_array())
        return fail("required", "must be an array of strings");
      for (size_t k = 0; k < required->size(); ++k) {
        auto& name = (*required)[k];
        if (!name.is_string())
          return fail("required[" + std::to_string(k) + "]",
                      "must be a string");
        auto& str = name.get_ref<const std::string&>();
        auto& slot = out.members[str];
        if (!slot.required) {
          slot.required = true;
          out.required.push_back(str);
        }
      }
    }

    // additionalProperties
    if (auto extra = find(x, "additionalProperties")) {
      using extra_t = schema_node::extra;
      if (extra->is_boolean()) {
        out.additional = extra->get<bool>() ? extra_t::allow : extra_t::forbid;
      } else {
        out.additional = extra_t::check;
        out.additional_schema = std::make_unique<schema_node>();
        if (!child(*extra, "additionalProperties", depth,
                   *out.additional_schema))
          return false;
      }
      // Members that match a pattern are not additional, and we do not
      // match patterns: refusing them would refuse valid values.
      if (find(x, "patternProperties")) {
        out.additional = extra_t::allow;
        out.additional_schema.reset();
      }
    }
    return true;
  }
};

// -- checking -----------------------------------------------------------------

/// Checks a value against a compiled schema, keeping the path to the value
/// at hand for messages. Allocates nothing until it finds a fault.
class checker {
public:
  explicit checker(const std::string& root)
      : root_(root) {
    // nop
  }

  /// What is wrong with the value, once `check` returned false.
  std::string error;

  bool check(const schema_node& s, const json& x) {
    if (s.reject_all)
      return fail("not allowed");

    // Kind and value.
    if (s.types != detail::any_kind && (kinds_of(x) & s.types) == 0)
      return fail("must be " + type_list(s.types) + ", not " + kind_text(x));
    if (s.has_enum) {
      auto same = [&x](const json& y) {
        return same_value(x, y);
      };
      if (std::none_of(s.enum_values.begin(), s.enum_values.end(), same))
        return fail(s.enum_text);
    }
    if (s.has_const && !same_value(x, s.const_value))
      return fail(s.const_text);

    // What each kind asks.
    switch (x.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return check_number(s, x);
    case json::value_t::string:
      return check_string(s, x.get_ref<const std::string&>());
    case json::value_t::array:
      return check_array(s, x.get_ref<const json::array_t&>());
    case json::value_t::object:
      return check_object(s, x.get_ref<const json::object_t&>());
    default:
      return true;
    }
  }

private:
  /// One step of the path: a member name or an array index.
  struct step {
    const std::string* name;
    size_t index;
  };

  const std::string& root_;
  /// A check recurses only into a nested schema, so that the schema's depth
  /// bounds the path.
  std::array<step, max_schema_depth + 1> path_;
  size_t depth_ = 0;

  std::string path() const {
    auto result = root_;
    for (size_t k = 0; k < depth_; ++k) {
      if (path_[k].name)
        append_name(result, *path_[k].name);
      else
        result += "[" + std::to_string(path_[k].index) + "]";
    }
    return result;
  }

  bool fail(const std::string& reason) {
    error = path();
    if (!error.empty())
      error += ": ";
    error += reason;
    return false;
  }

  /// Checks `x` at `where` below the value at hand against `s`.
  bool descend(const schema_node& s, const json& x, step where) {
    if (depth_ == path_.size())
      return fail("nested too deeply");
    path_[depth_++] = where;
    if (!check(s, x))
      return false;
    --depth_;
    return true;
  }

  bool check_number(const schema_node& s, const json& x) {
    // `unordered` (NaN) fails every bound.
    if (s.minimum) {
      auto order = compare_numbers(x, s.minimum->limit);
      if (order < 0 || order == unordered)
        return fail("must be at least " + s.minimum->text);
    }
    if (s.exclusive_minimum) {
      auto order = compare_numbers(x, s.exclusive_minimum->limit);
      if (order <= 0 || order == unordered)
        return fail("must be greater than " + s.exclusive_minimum->text);
    }
    if (s.maximum && compare_numbers(x, s.maximum->limit) > 0)
      return fail("must be at most " + s.maximum->text);
    if (s.exclusive_maximum &&
        compare_numbers(x, s.exclusive_maximum->limit) >= 0)
      return fail("must be less than " + s.exclusive_maximum->text);
    return true;
  }

  bool check_string(const schema_node& s, const std::string& x) {
    if (s.min_length == 0 && s.max_length == std::numeric_limits<size_t>::max())
      return true;
    auto n = code_points(x);
    if (n < s.min_length)
      return fail("must be at least " + plural(s.min_length, "character") +
                  " long");
    if (n > s.max_length)
      return fail("must be at most " + plural(s.max_length, "character") +
                  " long");
    return true;
  }

  bool check_array(const schema_node& s, const json::array_t& xs) {
    if (xs.size() < s.min_items)
      return fail("must have at least " + plural(s.min_items, "item"));
    if (xs.size() > s.max_items)
      return fail("must have at most " + plural(s.max_items, "item"));
    if (s.items)
      for (auto k = s.items_from; k < xs.size(); ++k)
        if (!descend(*s.items, xs[k], step{nullptr, k}))
          return false;
    return true;
  }

  bool check_object(const schema_node& s, const json::object_t& xs) {
    using extra_t = schema_node::extra;

    // Required members first: a missing one says more than a bad one.
    if (!s.required.empty() && !has_required(s, xs)) {
      std::unordered_set<std::string_view> names;
      for (auto& x : xs)
        names.insert(x.first);
      for (auto& name : s.required)
        if (names.count(name) == 0)
          return fail("missing required property " + quoted(name));
    }

    // Each member against its schema; names that `properties` leaves out
    // against `additionalProperties`.
    for (auto& [name, value] : xs) {
      const schema_node* sub = nullptr;
      if (auto i = s.members.find(name); i != s.members.end())
        sub = i->second.schema.get();
      if (sub == nullptr) {
        if (s.additional == extra_t::forbid)
          return fail("unexpected property " + quoted(name));
        sub = s.additional_schema.get();
      }
      if (sub && !descend(*sub, value, step{&name, 0}))
        return false;
    }
    return true;
  }

  /// Whether `xs` has every member that `s` requires; member names are
  /// unique, so counting the required ones present will do.
  static bool has_required(const schema_node& s, const json::object_t& xs) {
    size_t found = 0;
    for (auto& x : xs)
      if (auto i = s.members.find(x.first);
          i != s.members.end() && i->second.required)
        ++found;
    return found == s.required.size();
  }
};

/// The message for an exception from within; falls back to a text short
/// enough to need no allocation should memory be what ran out.
std::string failure(const std::string& where, const char* what) {
  try {
    return where.empty() ? std::string{what} : where + ": " + what;
  } catch (...) {
    return "failed";
  }
}

} // namespace

std::string schema::compile(const json& x, schema& out) {
  try {
    auto root = std::make_shared<schema_node>();
    compiler c;
    if (!c.compile(x, 0, *root))
      return std::move(c.error);
    out.root_ = std::move(root);
    return {};
  } catch (const std::exception& e) {
    return failure("schema", e.what());
  } catch (...) {
    return failure("schema", "cannot compile");
  }
}

std::string schema::validate(const json& value, const std::string& root) const {
  if (!root_)
    return {};
  try {
    checker c{root};
    c.check(*root_, value);
    return std::move(c.error);
  } catch (const std::exception& e) {
    return failure(root, e.what());
  } catch (...) {
    return failure(root, "cannot check");
  }
}

} // namespace sb::mcp
