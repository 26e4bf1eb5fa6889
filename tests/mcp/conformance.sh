#!/usr/bin/env bash
# Runs the MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# package.json) on a node it can run on: 0.1.16 calls fs.globSync, which
# node has only from 22, so this takes `node.sh 22` (the system's node if it
# is 22 or newer, else the one that install.sh adds). Installs first.
#
# Usage: conformance.sh URL [OPTION...]   server scenarios against URL
#        conformance.sh COMMAND [ARG...]  any command of the CLI, e.g. list
#
#   conformance.sh http://127.0.0.1:8080/mcp/conformance
#   conformance.sh http://127.0.0.1:8080/mcp/conformance --scenario ping
#   conformance.sh list --server
#
# Options of `server`: --scenario NAME, --suite active|all|pending,
# --spec-version V, --expected-failures FILE.yml, -o DIR, --verbose.
# docs/conformance-notes.md tells what each scenario checks. URL must be a
# loopback address.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/install.sh"
node=$("$here/node.sh" 22)
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"

if [[ $# -eq 0 ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' \
    "${BASH_SOURCE[0]}"
  exit 2
fi
if [[ $1 == http://* || $1 == https://* ]]; then
  url=$1
  shift
  host=${url#*://}
  host=${host%%/*}
  if [[ $host == \[* ]]; then
    host=${host%%]*}]
  else
    host=${host%%:*}
  fi
  if ! [[ $host =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ || $host == localhost ||
    $host == '[::1]' ]]; then
    echo "conformance.sh: only loopback targets are allowed, not $host" >&2
    exit 2
  fi
  exec "$node" "$cli" server --url "$url" "$@"
fi
exec "$node" "$cli" "$@"
