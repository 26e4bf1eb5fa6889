#!/usr/bin/env bash
# Sets everything up with warnings as errors, installs the npm test clients,
# then runs the whole test suite through CTest. Extra arguments go to ctest,
# e.g. `tools/test.sh -R users`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" -DSWITCHBOARD_ENABLE_WERROR=ON
# The MCP clients from npm, pinned by tests/mcp/package-lock.json.
"$root/tests/mcp/install.sh"
cd "$root/build"
ctest --output-on-failure "$@"
