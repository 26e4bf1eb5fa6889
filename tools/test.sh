#!/usr/bin/env bash
# Sets everything up with warnings as errors, then runs the whole test suite
# through CTest. Extra arguments go to ctest, e.g. `tools/test.sh -R users`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" -DSWITCHBOARD_ENABLE_WERROR=ON
cd "$root/build"
ctest --output-on-failure "$@"
