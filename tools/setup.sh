#!/usr/bin/env bash
# Installs the Debian packages the build needs (only those missing), then
# configures and builds into build/. Extra arguments go to CMake.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# openssl and iproute2 serve the cluster tests: certificates for mutual TLS,
# and network namespaces joined by veth pairs.
packages=(
  build-essential cmake clang-format curl openssl iproute2
  libcaf-dev libboost-dev libboost-system-dev nlohmann-json3-dev
  libspdlog-dev libssl-dev libsqlite3-dev libtcmalloc-minimal4
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
      | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# The MCP tests run the official clients on Node.js. A node installed some
# other way serves as well, so Debian's is added only when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} > 0)); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2
cmake --build "$root/build" -j2 >&2
