// Measures `sb::route_trie::lookup` on a small and on a large route table.
//
// Both tables hold the same mix of shapes (collections, `:param` items,
// nested resources, actions, a wildcard, a parameter up front), so the two
// figures show how a lookup scales with the number of routes. Paths come
// pre-split into segments, as the gateway hands them over: the figures are
// the trie walk alone.
//
// Usage: lookup_bench [LOOKUPS_PER_ROUND]
// Prints one line per table (the median of the rounds, then the extremes):
//   lookup_bench routes=N paths=N lookups=N rounds=N ns_per_lookup=X ...

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "actors/route_trie.hpp"
#include "protocols/http/target.hpp"

namespace {

/// A route to insert and a request path that must find it.
struct route {
  std::string method;
  std::string pattern;
  std::string sample;
};

/// One lookup to perform, with the answer it must give.
struct probe {
  std::string method;
  std::vector<std::string> path;
  uint64_t id = 0;
};

constexpr int rounds = 5;

const char* const nouns[] = {"users",    "orders",   "invoices", "products",
                             "accounts", "sessions", "projects", "tickets",
                             "devices",  "reports"};

const char* const subs[] = {"items", "events", "members", "notes", "files"};

const char* const verbs[] = {"archive", "restore", "approve", "export"};

/// Ten routes around one resource; `group` keeps the resources of a large
/// table apart (`users`, `orders7`, ...).
void add_group(size_t group, std::vector<route>& out) {
  auto noun = std::string{nouns[group % std::size(nouns)]};
  if (group >= std::size(nouns))
    noun += std::to_string(group);
  auto sub = std::string{subs[group % std::size(subs)]};
  auto verb = std::string{verbs[group % std::size(verbs)]};
  auto base = "/api/v" + std::to_string(1 + group % 3) + "/" + noun;
  const std::string id = "8f3a2c1d9e0b7a64";
  out.push_back({"GET", base, base});
  out.push_back({"POST", base, base});
  out.push_back({"GET", base + "/:id", base + "/" + id});
  out.push_back({"PATCH", base + "/:id", base + "/" + id});
  out.push_back({"DELETE", base + "/:id", base + "/" + id});
  out.push_back({"GET", base + "/:id/" + sub, base + "/" + id + "/" + sub});
  out.push_back({"GET", base + "/:id/" + sub + "/:sub_id",
                 base + "/" + id + "/" + sub + "/42"});
  out.push_back({"POST", base + "/:id/actions/" + verb,
                 base + "/" + id + "/actions/" + verb});
  out.push_back({"GET", "/files/" + noun + "/*path",
                 "/files/" + noun + "/img/2024/logo.png"});
  out.push_back({"GET", "/tenants/:tenant/" + noun + "/:id/settings",
                 "/tenants/acme/" + noun + "/" + id + "/settings"});
}

/// The path segments the HTTP layer makes of `path`.
std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> result;
  sb::field_list query;
  std::string error;
  if (sb::http::parse_target(path, result, query, error) != sb::errc::none) {
    std::fprintf(stderr, "lookup_bench: bad probe path %s: %s\n", path.c_str(),
                 error.c_str());
    std::exit(1);
  }
  return result;
}

/// Fills `trie` with `groups` groups of routes; returns one probe per route,
/// shuffled so that consecutive lookups do not walk the same branch.
bool build(size_t groups, sb::route_trie& trie, std::vector<probe>& probes) {
  std::vector<route> routes;
  for (size_t group = 0; group < groups; ++group)
    add_group(group, routes);
  uint64_t next_id = 1;
  for (auto& x : routes) {
    sb::path_pattern pattern;
    if (auto err = sb::parse_pattern(x.pattern, pattern); !err.empty()) {
      std::fprintf(stderr, "lookup_bench: bad pattern %s: %s\n",
                   x.pattern.c_str(), err.c_str());
      return false;
    }
    auto id = next_id++;
    if (auto other = trie.insert(pattern, x.method, id); other != 0) {
      std::fprintf(stderr, "lookup_bench: %s %s clashes with route %llu\n",
                   x.method.c_str(), x.pattern.c_str(),
                   static_cast<unsigned long long>(other));
      return false;
    }
    probes.push_back({x.method, split(x.sample), id});
  }
  std::mt19937 rng{42};
  std::shuffle(probes.begin(), probes.end(), rng);
  return true;
}

/// Checks that every probe finds its own route.
bool verify(const sb::route_trie& trie, const std::vector<probe>& probes) {
  for (auto& x : probes) {
    auto match = trie.lookup(x.method, x.path);
    if (match.status != sb::lookup_status::found || match.id != x.id) {
      std::fprintf(stderr, "lookup_bench: wrong match for route %llu\n",
                   static_cast<unsigned long long>(x.id));
      return false;
    }
  }
  return true;
}

// Results flow here so that the optimizer cannot drop a lookup.
volatile uint64_t sink = 0;

/// Runs `lookups` lookups, cycling through `probes`; returns ns per lookup.
double time_round(const sb::route_trie& trie, const std::vector<probe>& probes,
                  size_t lookups) {
  uint64_t acc = 0;
  size_t next = 0;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lookups; ++i) {
    auto& x = probes[next];
    auto match = trie.lookup(x.method, x.path);
    acc += match.id + match.values.size();
    if (++next == probes.size())
      next = 0;
  }
  auto stop = std::chrono::steady_clock::now();
  sink = sink + acc;
  std::chrono::duration<double, std::nano> elapsed = stop - start;
  return elapsed.count() / static_cast<double>(lookups);
}

/// Times lookups in a table of `groups` groups of routes. With `paths` set,
/// only that many distinct paths are looked up, which tells the cost of a
/// large table apart from the cost of a large working set.
bool run(size_t groups, size_t paths, size_t lookups) {
  sb::route_trie trie;
  std::vector<probe> probes;
  if (!build(groups, trie, probes) || !verify(trie, probes))
    return false;
  if (paths != 0 && paths < probes.size())
    probes.resize(paths);

  // Warm up caches and the allocator, then take the median of the rounds.
  time_round(trie, probes, std::min<size_t>(lookups, 100'000));
  std::vector<double> results;
  for (int i = 0; i < rounds; ++i)
    results.push_back(time_round(trie, probes, lookups));
  std::sort(results.begin(), results.end());
  std::printf("lookup_bench routes=%zu paths=%zu lookups=%zu rounds=%d "
              "ns_per_lookup=%.1f min=%.1f max=%.1f\n",
              trie.size(), probes.size(), lookups, rounds, results[rounds / 2],
              results.front(), results.back());
  std::fflush(stdout);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  size_t lookups = 2'000'000;
  if (argc > 1) {
    char* end = nullptr;
    auto n = std::strtoull(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n == 0) {
      std::fprintf(stderr, "usage: lookup_bench [LOOKUPS_PER_ROUND]\n");
      return 2;
    }
    lookups = static_cast<size_t>(n);
  }
  // 10 routes; 10,000 routes; 10,000 routes of which 10 paths are asked for.
  if (!run(1, 0, lookups) || !run(1000, 0, lookups) || !run(1000, 10, lookups))
    return 1;
  return 0;
}
