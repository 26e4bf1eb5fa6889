#!/usr/bin/env bash
# Sets everything up, then runs the node on config/switchboard.json. Extra
# arguments go to the node, e.g. `tools/run.sh --port 9000`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The same build flags as tools/test.sh, so that switching between the two
# rebuilds nothing.
"$root/tools/setup.sh" -DSWITCHBOARD_ENABLE_WERROR=ON
cd "$root"
exec "$root/build/bin/switchboard" "$@"
