#include "modules/common/confined_path.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <vector>

#include <sys/stat.h>

namespace sb::modules {

namespace {

constexpr size_t max_path_bytes = 4096;

/// The real path of `path`, or an empty string.
std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> buf{
    ::realpath(path.c_str(), nullptr), &std::free};
  return buf ? std::string{buf.get()} : std::string{};
}

} // namespace

bool is_inside(const std::string& root, const std::string& path) {
  if (root == "/")
    return !path.empty() && path[0] == '/';
  return path == root ||
         (path.size() > root.size() &&
          path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

std::string confine_path(const std::string& root, const std::string& rel,
                         bool must_exist, std::string& out,
                         const std::string& root_name) {
  // Checks on the text alone.
  if (rel.empty())
    return "the path is empty";
  if (rel.size() > max_path_bytes)
    return "the path is longer than 4096 bytes";
  if (rel.find('\0') != std::string::npos)
    return "the path contains a NUL byte";
  if (rel[0] == '/')
    return "'" + rel + "' is absolute; give a path relative to " + root_name;
  if (rel[0] == '-')
    return "'" + rel + "' begins with '-'";
  std::vector<std::string> parts;
  for (size_t pos = 0; pos <= rel.size();) {
    auto end = rel.find('/', pos);
    if (end == std::string::npos)
      end = rel.size();
    auto part = rel.substr(pos, end - pos);
    if (part == "..")
      return "'" + rel + "' contains '..'";
    if (!part.empty() && part != ".")
      parts.push_back(std::move(part));
    pos = end + 1;
  }

  // Walk from the real root, one component at a time, resolving symlinks.
  auto base = real_path(root);
  if (base.empty())
    return root_name + " (" + root + ") does not exist";
  auto cur = base;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto next = cur == "/" ? "/" + parts[i] : cur + "/" + parts[i];
    struct stat st;
    if (::lstat(next.c_str(), &st) != 0) {
      if ((errno != ENOENT && errno != ENOTDIR) || must_exist)
        return "'" + rel + "' does not exist";
      // The rest does not exist: nothing there can lead outside.
      for (++i; i < parts.size(); ++i)
        next += "/" + parts[i];
      out = std::move(next);
      return {};
    }
    if (S_ISLNK(st.st_mode)) {
      auto target = real_path(next);
      if (target.empty())
        return "'" + rel + "' runs through a symlink that points nowhere";
      if (!is_inside(base, target))
        return "'" + rel + "' leaves " + root_name + " through a symlink";
      cur = std::move(target);
    } else {
      cur = std::move(next);
    }
  }
  out = std::move(cur);
  return {};
}

} // namespace sb::modules
