#pragma once

// Paths that a client names relative to a root (a repository, a working
// directory) and that must stay inside it, symlinks resolved.

#include <string>

namespace sb::modules {

/// Resolves `rel`, a path relative to `root`, to an absolute path inside
/// the real path of `root`. Refuses an absolute path, a `..` component, a
/// leading `-`, a NUL byte, more than 4096 bytes, and any symlink on the way
/// that points outside the root or nowhere. A path whose tail does not exist
/// (a file deleted since, say) passes unless `must_exist`; the part that
/// exists is checked. Returns an empty string and sets `out`, or returns
/// what is wrong with the path, calling the root `root_name` (say, "the
/// repository").
///
/// The check cannot stop a symlink created after it returns; it guards
/// against paths, not against someone who can write into the root.
std::string confine_path(const std::string& root, const std::string& rel,
                         bool must_exist, std::string& out,
                         const std::string& root_name = "the root");

/// Whether `path` is `root` or lies below it; both absolute and normalized.
bool is_inside(const std::string& root, const std::string& path);

} // namespace sb::modules
