#pragma once

// The `auth` setting of modules whose MCP entries need a token unless their
// settings say otherwise (system, git-tools, terminal).

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/messages.hpp"

namespace sb::modules {

/// Reads `val` into `out` if `key` is `auth`: `"required"` (a token with
/// the scope of the entries' context) or `"none"`; sets `err` if `val` is
/// neither. Returns false for every other key.
bool read_auth_setting(const std::string& key, const nlohmann::json& val,
                       auth_requirement& out, std::string& err);

/// Sets the requirement of every entry in `xs` to `auth`.
void require_auth(std::vector<endpoint>& xs, auth_requirement auth);

} // namespace sb::modules
