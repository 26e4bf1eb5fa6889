#!/usr/bin/env bash
# Sets everything up, then runs the node on config/switchboard.json. Extra
# arguments go to the node, e.g. `tools/run.sh --port 9000`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh"
cd "$root"
exec "$root/build/bin/switchboard" "$@"
