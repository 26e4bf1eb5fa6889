#pragma once

// The blocking half of a login at an upstream provider: exchange the code
// the provider gave for its access token, then ask who logged in. Runs on
// a thread of its own (a detached actor), never on a scheduler thread.

#include <functional>
#include <string>
#include <vector>

#include "modules/auth/auth_module.hpp"
#include "modules/common/http_fetch.hpp"

namespace sb::modules::auth {

/// Sends one request to the provider; `http_fetch` outside tests.
using fetch_function =
  std::function<fetch_result(const fetch_request&, const fetch_options&)>;

/// Who logged in at the provider, or why that is unknown.
struct upstream_identity {
  /// Empty on success; else what failed, for the log. Holds no token.
  std::string error;
  std::string login;
  /// Addresses the provider says are verified, for the domain allow-list.
  std::vector<std::string> verified_emails;
};

/// Exchanges `code` (with the PKCE `verifier` and the `redirect_uri` it was
/// issued for) at the provider and reads the login and verified emails.
/// Each call to the provider has its own deadline of 10 seconds.
upstream_identity fetch_identity(const upstream_settings& up,
                                 const std::string& redirect_uri,
                                 const std::string& code,
                                 const std::string& verifier,
                                 const fetch_function& fetch);

} // namespace sb::modules::auth
