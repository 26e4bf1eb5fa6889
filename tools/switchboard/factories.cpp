#include "tools/switchboard/factories.hpp"

#include "modules/auth/auth_module.hpp"
#include "modules/conformance/conformance_module.hpp"
#include "modules/git_tools/git_tools_module.hpp"
#include "modules/system/system_module.hpp"
#include "modules/terminal/terminal_module.hpp"
#include "modules/testing/testing_module.hpp"
#include "modules/users/users_module.hpp"
#include "protocols/http/gateway.hpp"
#include "protocols/mcp/handler.hpp"

namespace sb {

factory_table builtin_factories() {
  factory_table table;
  table.modules.push_back(modules::system::make_factory());
  table.modules.push_back(modules::users::make_factory());
  table.modules.push_back(modules::testing::make_factory());
  table.modules.push_back(modules::auth::make_factory());
  table.modules.push_back(modules::conformance::make_factory());
  table.modules.push_back(modules::git_tools::make_factory());
  table.modules.push_back(modules::terminal::make_factory());
  table.protocols.push_back(http::make_factory());
  table.protocols.push_back(mcp::make_factory());
  return table;
}

} // namespace sb
