#!/usr/bin/env bash
# Real MCP clients against the node binary on loopback: the official
# TypeScript SDK client (sdk_client.mjs) and the MCP conformance suite, both
# pinned in package.json and installed by install.sh. The node serves the
# system, users and conformance modules with a page size of 3, so that the
# system context's tools span several pages. The system context is open
# here (settings.system.auth "none"): these clients test the protocol, and
# tests/auth drives the same SDK client through OAuth.
#
# Usage: mcp_clients_test.sh SWITCHBOARD_BINARY
set -uo pipefail

bin=${1:?usage: mcp_clients_test.sh SWITCHBOARD_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
pid=""
passed=0
failed=0

cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

result() { # result NAME EXIT_CODE
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
    echo "PASS $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1 (exit $2)"
  fi
}

if ! "$here/install.sh"; then
  echo "the MCP clients could not be installed"
  echo "0 passed, 1 failed"
  exit 1
fi
node=$("$here/node.sh")

cat >"$work/node.json" <<'JSON'
{
  "modules": ["system", "users", "conformance"],
  "protocols": ["http", "mcp"],
  "log_level": "warn",
  "settings": { "mcp": { "page_size": 3 }, "system": { "auth": "none" } }
}
JSON
"$bin" --config "$work/node.json" --port 0 2>"$work/stderr" &
pid=$!
port=""
for _ in $(seq 1 100); do
  if grep -q '^ready ' "$work/stderr"; then
    port=$(sed -n 's/^ready address=[^ ]*:\([0-9]*\) .*/\1/p' "$work/stderr")
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "FAIL the node did not become ready: $(cat "$work/stderr")"
  echo "0 passed, 1 failed"
  exit 1
fi
base="http://127.0.0.1:$port"

# The SDK client: connect, ping, list the system context's 7 tools across 3
# pages, call a tool of each context, a call with progress over SSE, end the
# session.
timeout 60 "$node" "$here/sdk_client.mjs" "$base/mcp" --expect-pages 3 \
  --context system --call uptime --context system --call node_status \
  --context conformance --call test_simple_text \
  --progress-context conformance --progress-tool test_tool_with_progress
result "official SDK client against /mcp" $?

# The same client on a context it picks by path: its 15 tools in 5 pages.
timeout 60 "$node" "$here/sdk_client.mjs" "$base/mcp/conformance" \
  --expect-pages 5 --no-progress
result "official SDK client against /mcp/conformance" $?

# Every scenario of the conformance suite, active and pending, against the
# conformance context; expected-failures.yml names those that may fail.
timeout 180 "$here/conformance.sh" "$base/mcp/conformance" --suite all \
  --expected-failures "$here/expected-failures.yml" >"$work/conformance.txt" 2>&1
rc=$?
sed -n '/=== SUMMARY ===/,$p' "$work/conformance.txt"
[[ $rc -ne 0 ]] && tail -40 "$work/conformance.txt"
result "conformance suite 0.1.16, all scenarios" $rc

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
result "the node stops cleanly after the clients" $rc
if grep -E ' (error|critical) ' "$work/stderr" >/dev/null; then
  grep -E ' (error|critical) ' "$work/stderr"
  result "the node logged no errors" 1
else
  result "the node logged no errors" 0
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
