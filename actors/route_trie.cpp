#include "actors/route_trie.hpp"

#include <algorithm>

namespace sb {

// -- patterns -----------------------------------------------------------------

std::vector<std::string> path_pattern::param_names() const {
  std::vector<std::string> result;
  for (auto& seg : segments)
    if (seg.kind != pattern_segment::literal)
      result.push_back(seg.text);
  return result;
}

std::string path_pattern::shape() const {
  std::string result;
  for (auto& seg : segments) {
    result += '/';
    switch (seg.kind) {
    case pattern_segment::literal:
      result += seg.text;
      break;
    case pattern_segment::param:
      result += ':';
      break;
    case pattern_segment::wildcard:
      result += '*';
      break;
    }
  }
  return result.empty() ? "/" : result;
}

namespace {

bool valid_name(const std::string& str) {
  if (str.empty() || str.size() > 64)
    return false;
  return std::all_of(str.begin(), str.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

} // namespace

std::string parse_pattern(const std::string& str, path_pattern& out) {
  out.segments.clear();
  if (str.empty() || str[0] != '/')
    return "a pattern must start with '/'";
  if (str.size() > 1024)
    return "a pattern may have at most 1024 characters";
  if (str == "/")
    return {};
  size_t pos = 1;
  for (;;) {
    auto end = str.find('/', pos);
    auto text = str.substr(pos, end == std::string::npos ? end : end - pos);
    if (text.empty())
      return "empty segment in pattern '" + str + "'";
    if (!out.segments.empty() &&
        out.segments.back().kind == pattern_segment::wildcard)
      return "a wildcard must be the last segment of '" + str + "'";
    pattern_segment seg;
    if (text[0] == ':' || text[0] == '*') {
      seg.kind =
        text[0] == ':' ? pattern_segment::param : pattern_segment::wildcard;
      seg.text = text.substr(1);
      if (!valid_name(seg.text))
        return "invalid parameter name '" + text + "' in '" + str +
               "' (letters, digits and '_')";
      for (auto& prev : out.segments)
        if (prev.kind != pattern_segment::literal && prev.text == seg.text)
          return "duplicate parameter '" + seg.text + "' in '" + str + "'";
    } else {
      seg.text = std::move(text);
    }
    out.segments.push_back(std::move(seg));
    if (end == std::string::npos)
      break;
    pos = end + 1;
    if (pos == str.size())
      return "a pattern must not end with '/'";
  }
  return {};
}

// -- trie ---------------------------------------------------------------------

namespace {

// Methods and IDs at one node; a handful of entries, so a flat vector.
using method_table = std::vector<std::pair<std::string, uint64_t>>;

uint64_t find_method(const method_table& xs, const std::string& method) {
  for (auto& [name, id] : xs)
    if (name == method)
      return id;
  return 0;
}

void append_methods(const method_table& xs, std::vector<std::string>& out) {
  for (auto& x : xs)
    if (std::find(out.begin(), out.end(), x.first) == out.end())
      out.push_back(x.first);
}

} // namespace

struct route_trie::node {
  std::unordered_map<std::string, std::unique_ptr<node>> literals;
  std::unique_ptr<node> param;
  /// Endpoints whose pattern ends at this node.
  method_table here;
  /// Endpoints whose pattern ends with a wildcard below this node.
  method_table rest;

  bool empty() const noexcept {
    return literals.empty() && !param && here.empty() && rest.empty();
  }
};

route_trie::route_trie()
    : root_(std::make_unique<node>()) {
  // nop
}

route_trie::~route_trie() = default;

route_trie::route_trie(route_trie&&) noexcept = default;

route_trie& route_trie::operator=(route_trie&&) noexcept = default;

uint64_t route_trie::insert(const path_pattern& pattern,
                            const std::string& method, uint64_t id) {
  auto* cur = root_.get();
  method_table* table = &cur->here;
  for (auto& seg : pattern.segments) {
    switch (seg.kind) {
    case pattern_segment::literal: {
      auto& child = cur->literals[seg.text];
      if (!child)
        child = std::make_unique<node>();
      cur = child.get();
      table = &cur->here;
      break;
    }
    case pattern_segment::param:
      if (!cur->param)
        cur->param = std::make_unique<node>();
      cur = cur->param.get();
      table = &cur->here;
      break;
    case pattern_segment::wildcard:
      table = &cur->rest;
      break;
    }
  }
  if (auto other = find_method(*table, method))
    return other;
  table->emplace_back(method, id);
  ++size_;
  return 0;
}

void route_trie::erase(const path_pattern& pattern, const std::string& method,
                       uint64_t id) {
  // Walk down, remembering the path for pruning.
  std::vector<std::pair<node*, const pattern_segment*>> trail;
  auto* cur = root_.get();
  method_table* table = &cur->here;
  for (auto& seg : pattern.segments) {
    node* next = nullptr;
    if (seg.kind == pattern_segment::literal) {
      auto i = cur->literals.find(seg.text);
      next = i != cur->literals.end() ? i->second.get() : nullptr;
    } else if (seg.kind == pattern_segment::param) {
      next = cur->param.get();
    } else {
      table = &cur->rest;
      break;
    }
    if (next == nullptr)
      return;
    trail.emplace_back(cur, &seg);
    cur = next;
    table = &cur->here;
  }
  auto i = std::find_if(table->begin(), table->end(), [&](auto& x) {
    return x.first == method && x.second == id;
  });
  if (i == table->end())
    return;
  table->erase(i);
  --size_;
  // Prune nodes that hold nothing anymore, bottom-up.
  while (!trail.empty() && cur->empty()) {
    auto [parent, seg] = trail.back();
    trail.pop_back();
    if (seg->kind == pattern_segment::literal)
      parent->literals.erase(seg->text);
    else
      parent->param.reset();
    cur = parent;
  }
}

// Depth-first search in order of specificity. Stops at the first node that
// holds the method; meanwhile collects the methods of every node that matches
// the path, for a 405 answer.
struct route_trie::searcher {
  const std::string& method;
  const std::vector<std::string>& path;
  std::vector<std::string> values;
  std::vector<std::string> allowed;
  uint64_t id = 0;

  uint64_t pick(const method_table& xs) const {
    if (auto x = find_method(xs, method))
      return x;
    if (method == "HEAD")
      return find_method(xs, "GET");
    return 0;
  }

  bool accept(const method_table& xs) {
    if (xs.empty())
      return false;
    if (auto x = pick(xs)) {
      id = x;
      return true;
    }
    append_methods(xs, allowed);
    return false;
  }

  bool visit(const node& n, size_t pos) {
    if (pos == path.size()) {
      if (accept(n.here))
        return true;
    } else {
      if (auto i = n.literals.find(path[pos]); i != n.literals.end())
        if (visit(*i->second, pos + 1))
          return true;
      if (n.param) {
        values.push_back(path[pos]);
        if (visit(*n.param, pos + 1))
          return true;
        values.pop_back();
      }
    }
    // A wildcard takes the rest of the path, zero or more segments.
    if (!n.rest.empty()) {
      std::string joined;
      for (auto i = pos; i < path.size(); ++i) {
        if (i > pos)
          joined += '/';
        joined += path[i];
      }
      values.push_back(std::move(joined));
      if (accept(n.rest))
        return true;
      values.pop_back();
    }
    return false;
  }
};

route_match route_trie::lookup(const std::string& method,
                               const std::vector<std::string>& path) const {
  route_match result;
  searcher s{method, path, {}, {}, 0};
  if (s.visit(*root_, 0)) {
    result.status = lookup_status::found;
    result.id = s.id;
    result.values = std::move(s.values);
    return result;
  }
  if (s.allowed.empty())
    return result;
  // Spell out what the fallback of HEAD to GET allows as well.
  auto& allowed = s.allowed;
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end() &&
      std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
    allowed.emplace_back("HEAD");
  std::sort(allowed.begin(), allowed.end());
  result.status = lookup_status::method_not_allowed;
  for (auto& x : allowed) {
    if (!result.allow.empty())
      result.allow += ", ";
    result.allow += x;
  }
  return result;
}

} // namespace sb
