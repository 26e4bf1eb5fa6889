#!/usr/bin/env bash
# The README path, checked from outside: the binary started as a process on
# a free port and driven by curl. Usage: cli_test.sh PATH/TO/switchboard
set -uo pipefail

bin=${1:?usage: cli_test.sh PATH/TO/switchboard}
work=$(mktemp -d)
pid=""
passed=0
failed=0

cleanup() {
  [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: expected [$2], got [$3]"
  fi
}

contains() { # contains NAME NEEDLE HAYSTACK
  if [[ "$3" == *"$2"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: [$2] not in [$3]"
  fi
}

# curl to loopback only, never through a proxy.
http() { curl --noproxy '*' -s -m 10 "$@"; }

# Starts the binary with the given arguments, waits for its ready line and
# sets $pid and $port.
start() {
  "$bin" "$@" 2>"$work/stderr" &
  pid=$!
  for _ in $(seq 1 100); do
    if grep -q '^ready ' "$work/stderr"; then
      port=$(sed -n 's/^ready address=[^ ]*:\([0-9]*\) .*/\1/p' "$work/stderr")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: node did not become ready: $(cat "$work/stderr")"
  failed=$((failed + 1))
  return 1
}

stop() { # stop SIGNAL: sends it and returns the exit code
  kill -"$1" "$pid"
  wait "$pid"
  local rc=$?
  pid=""
  return $rc
}

# -- the command line ---------------------------------------------------------

out=$("$bin" --help); check "--help exits 0" 0 $?
contains "--help lists --config" "--config FILE" "$out"
out=$("$bin" --version); check "--version exits 0" 0 $?
contains "--version prints the name" "switchboard" "$out"

err=$("$bin" --port 99999 2>&1); check "bad port exits 2" 2 $?
contains "bad port names the option" "--port" "$err"
err=$("$bin" --nope 2>&1); check "unknown option exits 2" 2 $?
contains "unknown option is named" "--nope" "$err"
echo '{"port": 1, "colour": "blue"}' >"$work/bad.json"
err=$("$bin" --config "$work/bad.json" 2>&1); check "bad config exits 2" 2 $?
contains "bad config names the key" "colour" "$err"
echo '{"port": 1, "settings": {"http": {"max_body_bytes": -5}}}' >"$work/bad2.json"
err=$("$bin" --config="$work/bad2.json" 2>&1); check "bad section exits 2" 2 $?
contains "bad section names the key" "settings.http.max_body_bytes" "$err"

# -- a running node -----------------------------------------------------------

echo '{"modules": ["system", "users"], "log_level": "warn"}' >"$work/ok.json"
if start --config "$work/ok.json" --port 0; then
  ready=$(grep '^ready ' "$work/stderr")
  contains "ready line" "ready address=127.0.0.1:$port modules=system,users routes=28" "$ready"
  base="http://127.0.0.1:$port"
  check "health" '{"status":"healthy"}' "$(http "$base/health")"
  check "ready" '{"status":"running"}' "$(http "$base/health/ready")"
  routes=$(http "$base/api/routes")
  contains "routes list users" '"pattern":"/api/users/:id"' "$routes"
  contains "routes list auth" '"auth":"none"' "$routes"
  check "404 status" 404 "$(http -o /dev/null -w '%{http_code}' "$base/nope")"
  check "404 body" '{"error":{"code":"no_route","message":"no endpoint matches this path"}}' "$(http "$base/nope")"
  check "405 status" 405 "$(http -o /dev/null -w '%{http_code}' -X PUT "$base/health")"
  created=$(http -X POST -H 'Content-Type: application/json' \
    -d '{"name":"Ada","email":"ada@example.org"}' "$base/api/users")
  id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' <<<"$created")
  check "user fetched" "$created" "$(http "$base/api/users/$id")"
  check "duplicate email" 409 "$(http -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' \
    -d '{"name":"Eve","email":"ada@example.org"}' "$base/api/users")"
  stop TERM; check "SIGTERM exits 0" 0 $?
fi

if start --port=0 --modules=system; then
  check "modules option" 200 "$(http -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")"
  check "users not running" 404 "$(http -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/users")"
  # A second node on the same port cannot start.
  err=$("$bin" --port "$port" --modules system 2>&1); check "port in use exits 1" 1 $?
  contains "port in use is explained" "failed" "$err"
  stop INT; check "SIGINT exits 0" 0 $?
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
