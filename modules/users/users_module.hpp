#pragma once

// The users module: the example that module authors copy. An in-memory store
// of users behind five routes:
//
// - `POST /api/users`: create; 201 with `Location`.
// - `GET /api/users?limit=&cursor=`: one page, oldest first.
// - `GET /api/users/:id`: one user, 404 if unknown.
// - `PATCH /api/users/:id`: change `name` and/or `email` (`null` clears it).
// - `DELETE /api/users/:id`: 204.
//
// A user has a server-generated string `id`, a required `name` (1 to 100
// characters) and an optional, unique `email`. Bad input gets 400 naming the
// field; a duplicate email gets 409.

#include <cstddef>
#include <string>

#include "actors/factory.hpp"
#include "actors/messages.hpp"

namespace sb::modules::users {

struct users_settings {
  /// Users the store holds at most; beyond it, creating answers 507.
  size_t max_users = 100000;
  /// What a client needs to use the routes: none by default, or a token
  /// (`"auth": "required"`).
  auth_requirement auth = auth_requirement::none;
};

/// Reads the module's settings section; returns an error naming the key.
std::string parse_settings(const std::string& text, users_settings& out);

/// Factory entry of the module, named `users`.
module_factory make_factory();

/// Spawns the users actor directly, for tests.
caf::actor spawn(caf::actor_system& sys, const module_context& ctx);

} // namespace sb::modules::users
