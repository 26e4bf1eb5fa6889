#pragma once

// Segment trie that maps request paths to endpoint IDs. Plain C++; the
// registry actor owns one trie per protocol.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb {

/// One segment of a path pattern.
struct pattern_segment {
  enum kind_t : uint8_t { literal, param, wildcard };
  kind_t kind = literal;
  /// The literal text, or the name of the parameter or wildcard.
  std::string text;
};

/// A parsed path pattern such as `/api/users/:id` or `/files/*rest`.
struct path_pattern {
  std::vector<pattern_segment> segments;

  /// Names of the parameters and the wildcard, in path order.
  std::vector<std::string> param_names() const;

  /// The pattern with parameter names erased (`/api/users/:`): two patterns
  /// of the same shape clash.
  std::string shape() const;
};

/// Parses `str` into `out`. Returns an empty string on success, else what is
/// wrong with the pattern.
std::string parse_pattern(const std::string& str, path_pattern& out);

/// Outcome of a lookup.
enum class lookup_status : uint8_t {
  found,
  no_route,
  method_not_allowed,
};

/// Result of `route_trie::lookup`.
struct route_match {
  lookup_status status = lookup_status::no_route;
  /// The endpoint ID when found.
  uint64_t id = 0;
  /// Values of the parameters (and the wildcard), in path order.
  std::vector<std::string> values;
  /// With `method_not_allowed`: the methods the path allows, comma-separated.
  std::string allow;
};

/// Maps (method, path) to endpoint IDs. Static segments beat parameters and
/// parameters beat wildcards, whatever the insertion order; a lookup costs
/// time in the number of path segments, not in the number of routes.
class route_trie {
public:
  route_trie();
  ~route_trie();

  route_trie(route_trie&&) noexcept;
  route_trie& operator=(route_trie&&) noexcept;

  /// Adds `id` for `method` at `pattern`. Returns 0 on success, else the ID
  /// that already holds this method at a pattern of the same shape.
  uint64_t insert(const path_pattern& pattern, const std::string& method,
                  uint64_t id);

  /// Removes `id` for `method` at `pattern`; prunes empty branches.
  void erase(const path_pattern& pattern, const std::string& method,
             uint64_t id);

  /// Finds the endpoint for `method` at `path`. `HEAD` falls back to `GET`.
  route_match lookup(const std::string& method,
                     const std::vector<std::string>& path) const;

  /// Number of (method, pattern) entries.
  size_t size() const noexcept { return size_; }

private:
  struct node;
  struct searcher;

  std::unique_ptr<node> root_;
  size_t size_ = 0;
};

} // namespace sb
