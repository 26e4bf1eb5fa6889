#!/usr/bin/env bash
# A front node and a module node on separate network stacks: two network
# namespaces joined by a veth pair in a private /30. The front node publishes
# on its veth address (HTTP on its own loopback), the module node (testing)
# joins across the veth. Then the link is cut silently while requests wait,
# and restored, twice: once at the module node's end, once at the front
# node's end.
# Usage: netns_test.sh PATH/TO/switchboard
#
# Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 (ip; ss and tc
# are used when present) and curl. Exits 77 (CTest SKIP_RETURN_CODE) when
# namespaces cannot be made here; 1 on any failure.
#
# Cluster timings (config files below): heartbeat_interval_ms 200,
# connection_timeout_ms 1000, handshake_timeout_ms 2000, reconnect_max_ms
# 2000. Bounds:
#   - requests waiting on the cut-off node: 503 owner_down within connection
#     timeout + one heartbeat interval + 500 ms margin = 1700 ms of the cut;
#   - the module node back after the link is restored: reconnect_max +
#     handshake timeout + 1000 ms margin = 5000 ms.
# The cut is `tc qdisc add ... netem loss 100%` when the kernel has netem,
# else `ip link set ... down`; either way no RST and no FIN reach the other
# side, which the check "the cut is silent" confirms (no answer before
# connection timeout - heartbeat interval).
set -u -o pipefail

# shellcheck source=tests/cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin=${1:?usage: netns_test.sh PATH/TO/switchboard}
[[ -x "$bin" ]] || { echo "FAIL: '$bin' is not an executable"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl is missing"; exit 1; }
if ! command -v ip >/dev/null; then
  echo "SKIP: no 'ip' command (install iproute2)"
  exit 77
fi

heartbeat_ms=200
conn_timeout_ms=1000
handshake_ms=2000
reconnect_max_ms=2000
cut_bound_ms=$((conn_timeout_ms + heartbeat_ms + 500))
silent_min_ms=$((conn_timeout_ms - heartbeat_ms))
back_bound_ms=$((reconnect_max_ms + handshake_ms + 1000))

tag=$$
ns_front=sbt-front-$tag
ns_mod=sbt-mod-$tag
veth_front=sbtf$tag # at most 15 characters
veth_mod=sbtm$tag
net=10.213.$((tag % 250 + 1))
addr_front=$net.1
addr_mod=$net.2

work=$(mktemp -d)
script_start=$(date +%s%N)
all_pids=()
declare -A pid logf

teardown() {
  local p
  for p in "${all_pids[@]}"; do
    ours "$p" || continue # reaped already: the PID may be someone else's now
    kill -CONT "$p"
    kill_children "$p" # curl inside a helper subshell
    kill -KILL "$p"
  done
  for p in "${all_pids[@]}"; do wait "$p"; done
  all_pids=()
  # Deleting a namespace deletes the veth end in it, and so the pair.
  ip netns del "$ns_front"
  ip netns del "$ns_mod"
} 2>/dev/null

cleanup() {
  exec 2>/dev/null # no job notices for the processes killed here
  if [[ $failed -gt 0 ]]; then
    local name
    echo "--- at exit: namespaces [$(ip netns list | tr '\n' ' ')]"
    for name in "${!pid[@]}"; do
      echo "--- node $name: $(gone "${pid[$name]}" && echo exited || echo running), log $(wc -c <"${logf[$name]}") bytes"
    done
  fi
  teardown
  if [[ $failed -gt 0 ]]; then
    local f
    for f in "$work"/*.log; do
      [[ -e "$f" ]] || continue
      echo "--- last lines of $(basename "$f")"
      tail -n 15 "$f" | sed 's/^/  /'
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT
trap 'echo "terminated"; exit 143' TERM

at_least() { # at_least NAME LIMIT VALUE UNIT
  if [[ "$3" -ge "$2" ]]; then pass "$1: $3 $4 >= $2 $4"; else fail "$1: $3 $4 < $2 $4"; fi
}

# -- the namespaces -----------------------------------------------------------

if ! err=$(ip netns add "$ns_front" 2>&1); then
  echo "SKIP: cannot create a network namespace ('ip netns add' says: $err)"
  exit 77
fi
if ! err=$({ ip netns add "$ns_mod" &&
    ip link add "$veth_front" netns "$ns_front" type veth \
       peer name "$veth_mod" netns "$ns_mod" &&
    ip -n "$ns_front" addr add "$addr_front/30" dev "$veth_front" &&
    ip -n "$ns_mod" addr add "$addr_mod/30" dev "$veth_mod" &&
    ip -n "$ns_front" link set lo up && ip -n "$ns_mod" link set lo up &&
    ip -n "$ns_front" link set "$veth_front" up &&
    ip -n "$ns_mod" link set "$veth_mod" up; } 2>&1); then
  echo "SKIP: cannot set up the veth pair between the namespaces: $err"
  exit 77
fi
info "namespaces $ns_front ($veth_front $addr_front/30) and $ns_mod ($veth_mod $addr_mod/30)"

in_front() { ip netns exec "$ns_front" "$@"; }
http() { in_front curl --noproxy '*' -s -m 10 "$@"; }
status() { http -o /dev/null -w '%{http_code}' "$@"; }

# start NAME NAMESPACE ARGS...: starts a node in NAMESPACE (`ip netns exec`
# execs the binary, so $! is its PID) and waits up to 15 s for its ready
# line, which it leaves in $ready.
start() {
  local name=$1 ns=$2
  shift 2
  logf[$name]=$work/$name.log
  ip netns exec "$ns" "$bin" --name "$name" "$@" 2>"${logf[$name]}" &
  pid[$name]=$!
  all_pids+=("$!")
  for _ in $(seq 1 150); do
    ready=$(grep -m1 '^ready ' "${logf[$name]}")
    [[ -n "$ready" ]] && return 0
    gone "${pid[$name]}" && break
    sleep 0.1
  done
  fail "node $name did not become ready: $(tr '\n' ' ' <"${logf[$name]}")"
  return 1
}

# wait_routes NEEDLE present|absent TIMEOUT_MS: polls the front node's
# /api/routes every 50 ms; sets $elapsed (ms).
wait_routes() {
  local t0 routes
  t0=$(now_ms)
  while :; do
    routes=$(http -m 2 "$base/api/routes")
    elapsed=$(($(now_ms) - t0))
    if [[ $2 == present && "$routes" == *"$1"* ]] ||
       [[ $2 == absent && -n "$routes" && "$routes" != *"$1"* ]]; then
      return 0
    fi
    [[ $elapsed -ge $3 ]] && return 1
    sleep 0.05
  done
}

# burst TAG URL N, in_flight TAG N, settle TAG N T0_NS: as in
# cluster_process_test.sh, with curl in the front node's namespace.
burst() {
  local i
  burst_pids=()
  for i in $(seq 1 "$3"); do
    (in_front curl --noproxy '*' -s -m 25 -o "$work/$1.$i.body" -w '%{http_code}' \
       "$2" >"$work/$1.$i.code"; date +%s%N >"$work/$1.$i.end") &
    burst_pids+=("$!")
    all_pids+=("$!")
  done
}
in_flight() {
  local i n=0
  for i in $(seq 1 "$2"); do [[ -e "$work/$1.$i.end" ]] || n=$((n + 1)); done
  echo $n
}
settle() {
  local p i lat
  for p in "${burst_pids[@]}"; do wait "$p" 2>/dev/null; done
  owner_down=0
  lat_max=0
  lat_min=999999
  others=""
  for i in $(seq 1 "$2"); do
    lat=999999
    [[ -e "$work/$1.$i.end" ]] && lat=$((($(cat "$work/$1.$i.end") - $3) / 1000000))
    [[ $lat -gt $lat_max ]] && lat_max=$lat
    [[ $lat -lt $lat_min ]] && lat_min=$lat
    if [[ $(cat "$work/$1.$i.code" 2>/dev/null) == 503 &&
          $(cat "$work/$1.$i.body" 2>/dev/null) == *'"code":"owner_down"'* ]]; then
      owner_down=$((owner_down + 1))
    else
      others+="[$(cat "$work/$1.$i.code" 2>/dev/null) $(head -c 80 "$work/$1.$i.body" 2>/dev/null)] "
    fi
  done
}

cluster='"cluster": {"heartbeat_interval_ms": '$heartbeat_ms', "connection_timeout_ms": '$conn_timeout_ms', "handshake_timeout_ms": '$handshake_ms', "reconnect_max_ms": '$reconnect_max_ms'}'
cat >"$work/front.json" <<EOF
{"log_level": "info", "request_timeout_ms": 30000,
 "publish": {"port": 0, "bind": "$addr_front"}, $cluster}
EOF
cat >"$work/module.json" <<EOF
{"log_level": "info", $cluster}
EOF

# -- the module node's routes across the veth ---------------------------------

if ! start front "$ns_front" --config "$work/front.json" --modules system --port 0; then
  echo "$passed passed, $failed failed"
  exit 1
fi
http_addr=$(sed -n 's/^ready address=\([^ ]*\) .*/\1/p' <<<"$ready")
node_port=$(sed -n 's/.* publish=[^ ]*:\([0-9]*\)$/\1/p' <<<"$ready")
base="http://$http_addr"
re="^ready address=127\\.0\\.0\\.1:[0-9]+ modules=system routes=[0-9]+ publish=${addr_front//./\\.}:$node_port\$"
if [[ "$ready" =~ $re ]]; then
  pass "front ready line: HTTP on loopback, nodes on the veth address [$ready]"
else
  fail "front ready line: [$ready] does not match /$re/"
fi
start M "$ns_mod" --config "$work/module.json" --modules testing --join "$addr_front:$node_port"
if wait_routes '"pattern":"/testing/echo/*rest"' present 5000; then
  pass "the module node's routes appear in the front's /api/routes (${elapsed} ms after its ready line)"
else
  fail "the module node's routes did not appear: $(http "$base/api/routes")"
fi
check "echo of the module node, curl in the front namespace" \
  '{"method":"GET","params":{"rest":"across/veth"},"query":{}}' "$(http "$base/testing/echo/across/veth")"
check "the module node's namespace cannot reach the front's HTTP loopback port" 000 \
  "$(ip netns exec "$ns_mod" curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "$base/health")"

# -- cut, then restore ---------------------------------------------------------

netem=0
if ip netns exec "$ns_mod" tc qdisc add dev "$veth_mod" root netem loss 100% 2>/dev/null; then
  ip netns exec "$ns_mod" tc qdisc del dev "$veth_mod" root 2>/dev/null
  netem=1
  info "cut method: tc netem loss 100%"
else
  info "cut method: ip link set down (this kernel has no netem qdisc)"
fi

cut_link() { # cut_link NS DEV
  if [[ $netem == 1 ]]; then
    ip netns exec "$1" tc qdisc add dev "$2" root netem loss 100%
  else
    ip -n "$1" link set "$2" down
  fi
}
restore_link() { # restore_link NS DEV
  if [[ $netem == 1 ]]; then
    ip netns exec "$1" tc qdisc del dev "$2" root
  else
    ip -n "$1" link set "$2" up
  fi
}

n=10
round() { # round LABEL NS DEV
  local label=$1 ns=$2 dev=$3
  burst "$label" "$base/testing/stall?ms=20000" $n
  sleep 2
  check "$label: stall requests in flight before the cut" $n "$(in_flight "$label" $n)"
  local t_cut
  t_cut=$(date +%s%N)
  if ! cut_link "$ns" "$dev"; then
    fail "$label: could not cut the link"
    return
  fi
  settle "$label" $n "$t_cut"
  check "$label: requests answered 503 owner_down${others:+ (others: $others)}" $n "$owner_down"
  at_most "$label: slowest answer after the cut" $cut_bound_ms "$lat_max" ms
  at_least "$label: the cut is silent (TCP did not end the connection): first answer" $silent_min_ms "$lat_min" ms
  info "$label: answers came ${lat_min}..${lat_max} ms after the cut"
  check "$label: the module node's echo is 404 no_route while cut" \
    '{"error":{"code":"no_route","message":"no endpoint matches this path"}}' "$(http "$base/testing/echo/x")"
  if command -v ss >/dev/null; then
    info "$label: front's TCP sockets to $addr_mod after the timeout: $(in_front ss -tnH dst "$addr_mod" 2>/dev/null | awk '{print $1}' | sort | uniq -c | tr -s ' \n' ' ')"
  fi
  sleep 1 # the module node notices too, and retries in vain for a while
  local t_restore
  t_restore=$(now_ms)
  restore_link "$ns" "$dev" || fail "$label: could not restore the link"
  if wait_routes '"pattern":"/testing/echo/*rest"' present $back_bound_ms; then
    pass "$label: the module node rejoined by itself $(($(now_ms) - t_restore)) ms after the link came back (bound $back_bound_ms ms)"
  else
    fail "$label: the module node did not rejoin within ${back_bound_ms} ms of the link coming back"
  fi
  check "$label: echo of the module node after the rejoin" 200 "$(status "$base/testing/echo/back")"
}

round "cut at the module's end" "$ns_mod" "$veth_mod"
round "cut at the front's end" "$ns_front" "$veth_front"
info "module node's log about the front node: $(grep -c 'lost front node' "${logf[M]}") losses, $(grep -c 'joined front node' "${logf[M]}") joins; reasons of failed attempts: $(sed -n 's/.*cannot join .*reason=\(.*\) retry_in_ms.*/\1/p' "${logf[M]}" | sort | uniq -c | tr -s ' \n' ' ')"

# -- clean up, and check that nothing of ours is left -------------------------

{ kill -TERM "${pid[M]}"; kill -TERM "${pid[front]}"; } 2>/dev/null
for _ in $(seq 1 100); do
  gone "${pid[M]}" && gone "${pid[front]}" && break
  sleep 0.1
done
{ wait "${pid[M]}"; rc_m=$?; wait "${pid[front]}"; rc_f=$?; } 2>/dev/null
check "module node stops on SIGTERM with exit code 0" 0 "$rc_m"
check "front node stops on SIGTERM with exit code 0" 0 "$rc_f"
teardown
check "no namespace of this test is left" "" "$(ip netns list | grep -w -e "$ns_front" -e "$ns_mod")"
check "no veth of this test is left in the root namespace" "" "$(ip -o link show | grep -w -e "$veth_front" -e "$veth_mod")"

echo "$passed passed, $failed failed in $((($(date +%s%N) - script_start) / 1000000)) ms"
[[ $failed -eq 0 ]]
