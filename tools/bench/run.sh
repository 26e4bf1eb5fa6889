#!/usr/bin/env bash
# Benchmarks the Switchboard node against an Express peer on this machine,
# and its MCP handler against a server built with the official TypeScript
# SDK.
#
# Builds the node (and lookup_bench, when tools/CMakeLists.txt adds this
# folder), starts both servers on free loopback ports, creates one user in
# each, then runs wrk against the node and Express in turn for each scenario
# and connection count, and prints a table, the median req/s per scenario and
# the ratio node/Express. The mcp scenario starts a node with the conformance
# context and the TypeScript peer, and sends `tools/call` of the same trivial
# tool to each through one session, at each concurrency in turn, with wrk and
# mcp_call.lua (or mcp_load.mjs, BENCH_MCP_CLIENT=node). BENCH_SCENARIOS picks
# the scenarios (BENCH_SCENARIOS=mcp runs only that one). See
# tools/bench/README.md for the knobs.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/../.." && pwd)"

build_dir="${BENCH_BUILD_DIR:-$root/build}"
duration="${BENCH_DURATION:-10s}"
rounds="${BENCH_ROUNDS:-3}"
conn_counts="${BENCH_CONNECTIONS:-100 1000}"
wrk_threads="${BENCH_WRK_THREADS:-2}"
backlog="${BENCH_BACKLOG:-1024}"
actor_threads="${BENCH_NODE_ACTOR_THREADS:-0}"
io_threads="${BENCH_NODE_IO_THREADS:-0}"
pause="${BENCH_PAUSE:-1}"
lookups="${BENCH_LOOKUPS:-2000000}"
scenarios="${BENCH_SCENARIOS:-lookup health user mcp}"
mcp_concurrency="${BENCH_MCP_CONCURRENCY:-1 10 50 100}"
mcp_client="${BENCH_MCP_CLIENT:-wrk}"

host=127.0.0.1
node_pid=""
front_pid=""
remote_pid=""
express_pid=""
mcp_node_pid=""
mcp_ts_pid=""
tmp=""

die() {
  echo "run.sh: $*" >&2
  exit 1
}

# -- checks -------------------------------------------------------------------

[[ $duration =~ ^([0-9]+)([sm]?)$ ]] \
  || die "BENCH_DURATION: expected N, Ns or Nm, got '$duration'"
duration_s=${BASH_REMATCH[1]}
[[ ${BASH_REMATCH[2]} == m ]] && duration_s=$((duration_s * 60))
((duration_s >= 1 && duration_s <= 600)) \
  || die "BENCH_DURATION: expected 1s to 10m, got '$duration'"
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "BENCH_ROUNDS: expected 1 to 99"
[[ $wrk_threads =~ ^[1-9][0-9]?$ ]] || die "BENCH_WRK_THREADS: expected 1 to 99"
for c in $conn_counts; do
  if ! [[ $c =~ ^[0-9]+$ ]] || ((c < 1 || c > 10000)); then
    die "BENCH_CONNECTIONS: expected numbers from 1 to 10000, got '$c'"
  fi
done
for c in $mcp_concurrency; do
  if ! [[ $c =~ ^[0-9]+$ ]] || ((c < 1 || c > 1000)); then
    die "BENCH_MCP_CONCURRENCY: expected numbers from 1 to 1000, got '$c'"
  fi
done
[[ $mcp_client =~ ^(wrk|node)$ ]] \
  || die "BENCH_MCP_CLIENT: expected wrk or node, got '$mcp_client'"
[[ -n ${scenarios// /} ]] || die "BENCH_SCENARIOS: empty"
for sc in $scenarios; do
  [[ $sc =~ ^(lookup|health|user|mcp)$ ]] \
    || die "BENCH_SCENARIOS: expected lookup, health, user or mcp, got '$sc'"
done

# Whether scenario $1 is to run.
wanted() {
  [[ " $scenarios " == *" $1 "* ]]
}
# The wrk scenarios that are to run, in their fixed order.
http_scenarios=""
for sc in health user; do
  wanted "$sc" && http_scenarios+="${http_scenarios:+ }$sc"
done
# Whether wrk is to run: for the HTTP scenarios, and as the MCP client.
need_wrk=""
if [[ -n $http_scenarios ]] || { wanted mcp && [[ $mcp_client == wrk ]]; }; then
  need_wrk=1
fi

# The build's own packages come from tools/setup.sh; the benchmark adds wrk
# and Node.js with npm, from Debian, when they are missing.
missing=()
if [[ -n $need_wrk ]]; then
  command -v wrk >/dev/null || missing+=(wrk)
fi
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]} > 0)); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "bench: installing ${missing[*]}" >&2
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    --no-install-recommends "${missing[@]}" >&2
fi
for tool in cmake node npm curl timeout; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [[ -n $need_wrk ]]; then
  command -v wrk >/dev/null || die "wrk is not installed"
fi

# wrk with 1000 connections plus both servers need more than 1024 files.
want_files=65536
hard_files="$(ulimit -Hn)"
if [[ $hard_files != unlimited ]] && ((hard_files < want_files)); then
  want_files=$hard_files
fi
ulimit -n "$want_files" || die "cannot raise the open-file limit"
(($(ulimit -n) >= 4096)) \
  || die "open-file limit is $(ulimit -n); the benchmark needs 4096"

# -- servers and cleanup ------------------------------------------------------

# Sends SIGTERM to a server we started and waits up to 10 s for it.
stop_server() {
  local name=$1 pid=$2
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; ++i)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $name (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  if ((rc != 0 && rc != 143)); then
    echo "run.sh: $name exited with status $rc" >&2
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT
  stop_server node "$node_pid"
  stop_server remote "$remote_pid"
  stop_server front "$front_pid"
  stop_server express "$express_pid"
  stop_server "mcp node" "$mcp_node_pid"
  stop_server "TypeScript MCP server" "$mcp_ts_pid"
  node_pid=""
  remote_pid=""
  front_pid=""
  express_pid=""
  mcp_node_pid=""
  mcp_ts_pid=""
  if [[ -n $tmp ]]; then
    local err
    for err in node.err mcp-node.err mcp-ts.err; do
      if ((rc != 0)) && [[ -s $tmp/$err ]]; then
        echo "run.sh: last lines of $err:" >&2
        tail -n 20 "$tmp/$err" >&2
      fi
    done
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")"

# Waits up to 20 s for a line matching $2 in file $3 from pid $1; prints it.
await_ready() {
  local pid=$1 pattern=$2 file=$3 i line
  for ((i = 0; i < 200; ++i)); do
    line="$(grep -m1 -E "$pattern" "$file" 2>/dev/null || true)"
    if [[ -n $line ]]; then
      echo "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Number of threads of a process.
thread_count() {
  local tasks=("/proc/$1/task/"*)
  echo "${#tasks[@]}"
}

# CPU time that all processes of the machine used, in clock ticks, summed
# over its cores (user, nice, system, irq, softirq and steal).
machine_ticks() {
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# CPU time (user + system) of processes, in clock ticks, summed.
cpu_ticks() {
  local pid sum=0 t
  for pid in "$@"; do
    t="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
    sum=$((sum + t))
  done
  echo "$sum"
}
ticks_per_s="$(getconf CLK_TCK)"

# -- build --------------------------------------------------------------------

echo "== build"
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" -j2 --target switchboard >"$tmp/build.log" 2>&1 \
  || { tail -n 40 "$tmp/build.log" >&2; die "building switchboard failed"; }
node_bin="$build_dir/bin/switchboard"
[[ -x $node_bin ]] || die "$node_bin is missing after the build"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' \
  "$build_dir/CMakeCache.txt")"

if [[ -n $http_scenarios && ! -d $bench_dir/express/node_modules ]]; then
  (cd "$bench_dir/express" && npm ci --omit=dev --no-audit --no-fund) \
    >"$tmp/npm.log" 2>&1 \
    || { tail -n 40 "$tmp/npm.log" >&2; die "npm ci failed"; }
fi
# The TypeScript SDK and zod for the MCP peer (a no-op once installed).
if wanted mcp; then
  bash "$root/tests/mcp/install.sh" >"$tmp/npm-mcp.log" 2>&1 \
    || { tail -n 40 "$tmp/npm-mcp.log" >&2;
         die "tests/mcp/install.sh failed"; }
fi

echo "scenarios: $scenarios"
wrk_version=""
if [[ -n $need_wrk ]]; then
  wrk_version="; $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)" || true
fi
echo "machine: $(nproc) cores; load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)$wrk_version"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)"
git -C "$root" diff --quiet HEAD 2>/dev/null || commit+=" + local changes"
echo "node: $node_bin (build type ${build_type:-unknown}, commit $commit)"
if [[ -n $http_scenarios ]]; then
  express_version="$(cd "$bench_dir/express" \
    && node -p "require('express/package.json').version")"
  echo "express: $express_version on node $(node --version)"
fi
if wanted mcp; then
  sdk_version="$(node -p "require(process.argv[1]).version" \
    "$root/tests/mcp/node_modules/@modelcontextprotocol/sdk/package.json")"
  echo "typescript sdk: $sdk_version on node $(node --version)"
fi

# wrk and both servers share this machine's cores: anything else busy skews
# the figures. Warn about processes that use 10% of a core or more.
busy="$(top -b -n2 -d1 -w 200 | awk '
  /^top -/ { it++ }
  it == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 10 {
    printf "%s %s (pid %s) %s%%", sep, $12, $1, $9
    sep = ","
  }')"
if [[ -n $busy ]]; then
  echo "warning: busy before the runs:$busy; expect noisy figures"
fi

# -- route lookup -------------------------------------------------------------

if wanted lookup; then
  echo
  echo "== route lookup (lookup_bench)"
  cmake --build "$build_dir" -j2 --target lookup_bench \
    >"$tmp/build-lookup.log" 2>&1 \
    || { tail -n 40 "$tmp/build-lookup.log" >&2;
         die "building lookup_bench failed"; }
  timeout --foreground -k 5 300 "$build_dir/bin/lookup_bench" "$lookups" \
    || die "lookup_bench failed"
fi

# -- MCP: tools/call through one session -------------------------------------

# Both servers answer `test_simple_text`: no arguments, one text item of 44
# characters. The node has it in its conformance context; the TypeScript
# peer mirrors it word for word (mcp_ts_server.mjs).
mcp_tool=test_simple_text
mcp_args='{}'
mcp_warmup=200
mcp_results="$tmp/mcp.tsv"

# Starts the node with the conformance context and the TypeScript SDK's
# server (plain JSON answers); sets mcp_node_url and mcp_ts_url.
start_mcp_servers() {
  # A session may have every call of the highest concurrency in flight.
  local most=64 c line
  for c in $mcp_concurrency; do
    ((c > most)) && most=$c
  done
  cat >"$tmp/mcp-node.json" <<EOF
{
  "threads": {"actors": $actor_threads, "io": $io_threads},
  "settings": {
    "http": {"backlog": $backlog},
    "mcp": {"max_calls_per_session": $most}
  }
}
EOF
  "$node_bin" --config "$tmp/mcp-node.json" --bind "$host" --port 0 \
    --modules system,conformance >"$tmp/mcp-node.out" \
    2>"$tmp/mcp-node.err" &
  mcp_node_pid=$!
  line="$(await_ready "$mcp_node_pid" '^ready address=' "$tmp/mcp-node.err")" \
    || die "the mcp node did not become ready in 20 s"
  [[ $line =~ address=127\.0\.0\.1:([0-9]+) ]] \
    || die "unexpected ready line: $line"
  mcp_node_url="http://$host:${BASH_REMATCH[1]}/mcp/conformance"
  echo "node:    pid $mcp_node_pid, $mcp_node_url," \
    "$(thread_count "$mcp_node_pid") threads"

  NODE_ENV=production node "$bench_dir/mcp_ts_server.mjs" 0 --json-response \
    >"$tmp/mcp-ts.out" 2>"$tmp/mcp-ts.err" &
  mcp_ts_pid=$!
  line="$(await_ready "$mcp_ts_pid" '^ready port=' "$tmp/mcp-ts.out")" \
    || die "the TypeScript MCP server did not become ready in 20 s"
  mcp_ts_url="http://$host:${line#ready port=}/mcp"
  echo "ts-sdk:  pid $mcp_ts_pid, $mcp_ts_url," \
    "$(thread_count "$mcp_ts_pid") threads"
}

# Runs mcp_load.mjs against URL $1 with the arguments after $2; its JSON
# summary (or its complaint) goes to file $2.
mcp_load() {
  local url=$1 out=$2
  shift 2
  timeout --foreground -k 5 $((duration_s + 30)) \
    node "$bench_dir/mcp_load.mjs" "$url" --tool "$mcp_tool" \
    --args "$mcp_args" --json "$@" >"$out" 2>&1
}

# Fields of the mcp_load.mjs summary in file $1, tab-separated: requests,
# req/s, p50, p95, p99, errors, SSE replies, JSON replies, body bytes,
# client CPU s in the measured calls, seconds of those, client CPU s in all,
# result.
mcp_fields() {
  node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const l = s.latency_ms;
    console.log([s.requests, s.requests_per_s, l.p50, l.p95, l.p99, s.errors,
      s.replies.sse, s.replies.json, s.reply_bytes, s.client_cpu_s,
      s.seconds, s.process_cpu_s, s.result].join("\t"));' <"$1"
}

# Calls the tool a few times on each server; dies unless both answer with
# the same result, as JSON (not SSE).
check_mcp_servers() {
  local server url
  local -a f
  local -A result
  for server in node ts-sdk; do
    url=$mcp_node_url
    [[ $server == ts-sdk ]] && url=$mcp_ts_url
    mcp_load "$url" "$tmp/mcp-check-$server.json" -n 20 -c 2 --warmup 0 \
      || { cat "$tmp/mcp-check-$server.json" >&2;
           die "$mcp_tool failed on $server ($url)"; }
    IFS=$'\t' read -r -a f < <(mcp_fields "$tmp/mcp-check-$server.json")
    ((f[6] == 0)) || die "$server answered $mcp_tool on an SSE stream"
    result[$server]=${f[12]}
    echo "check:   $server answers with ${f[8]} body bytes: ${f[12]}"
  done
  [[ ${result[node]} == "${result[ts-sdk]}" ]] \
    || die "the servers answer $mcp_tool differently; the runs would not" \
      "compare the same work"
}

# Appends a row to the MCP results and prints a progress line. Arguments:
# concurrency, server, round, req/s, p50, p95 and p99 latency in ms, errors,
# replies as sse/json, mean reply body in bytes, server CPU us per call, and
# the client's and other processes' CPU in % of one core.
mcp_row() {
  local IFS=$'\t'
  echo "$*" >>"$mcp_results"
  printf '  mcp    c=%-5s %-7s round %s: %10s req/s  p99 %s ms\n' \
    "$1" "$2" "$3" "$4" "$7"
}

# What the rest of the machine used during a run, in % of one core: the
# machine's CPU ticks $1, less the server's ticks $2 and the client's CPU
# seconds $3, over $4 ns of wall time.
other_pct() {
  awk -v all="$1" -v srv="$2" -v cl="$3" -v ns="$4" -v hz="$ticks_per_s" \
    'BEGIN { o = 100 * ((all - srv) / hz - cl) / (ns / 1e9);
             printf "%.0f", (o > 0 ? o : 0) }'
}

# Runs mcp_load.mjs once; appends a row to the MCP results.
run_mcp_node() {
  local conc=$1 server=$2 round=$3 pid=$4 url=$5
  local before after all_before all_after t0 t1 out cpu_us client_pct other
  local -a f
  before="$(cpu_ticks "$pid")"
  all_before="$(machine_ticks)"
  t0="$(date +%s%N)"
  out="$tmp/mcp-$conc-$server-$round.json"
  mcp_load "$url" "$out" -n 10000000 -c "$conc" --warmup "$mcp_warmup" \
    --duration "$duration_s" \
    || { cat "$out" >&2; die "mcp_load.mjs failed against $server ($url)"; }
  t1="$(date +%s%N)"
  after="$(cpu_ticks "$pid")"
  all_after="$(machine_ticks)"
  kill -0 "$pid" 2>/dev/null || die "$server died during mcp c=$conc"
  IFS=$'\t' read -r -a f < <(mcp_fields "$out") \
    || die "mcp_load.mjs printed no summary: $(head -c 300 "$out")"

  # The warm-up calls ran in the window too, so they count for the CPU.
  cpu_us=$(((after - before) * 1000000 / ticks_per_s / (f[0] + mcp_warmup)))
  client_pct="$(awk -v c="${f[9]}" -v s="${f[10]}" \
    'BEGIN { printf "%.0f", (s > 0 ? 100 * c / s : 0) }')"
  # The whole client process counts, its start and warm-up included.
  other="$(other_pct $((all_after - all_before)) $((after - before)) \
    "${f[11]}" $((t1 - t0)))"
  mcp_row "$conc" "$server" "$round" "${f[1]}" "${f[2]}" "${f[3]}" \
    "${f[4]}" "${f[5]}" "${f[6]}/${f[7]}" "${f[8]}" "$cpu_us" \
    "$client_pct" "$other"
}

# The session that mcp_open opened last: its id and protocol version.
mcp_session=""
mcp_protocol=""

# Opens a session on URL $1 with curl: initialize, then
# notifications/initialized. Sets mcp_session and mcp_protocol.
mcp_open() {
  local url=$1 code head="$tmp/mcp-init.head" body="$tmp/mcp-init.body"
  local init='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{'
  init+='"protocolVersion":"2025-11-25","capabilities":{},'
  init+='"clientInfo":{"name":"switchboard-bench-wrk","version":"1.0.0"}}}'
  code="$(curl -sS --max-time 5 -D "$head" -o "$body" -w '%{http_code}' \
    -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -d "$init" "$url")" \
    || die "initialize failed on $url"
  [[ $code == 200 ]] \
    || die "initialize on $url answered HTTP $code: $(head -c 300 "$body")"
  mcp_session="$(tr -d '\r' <"$head" \
    | awk -F': *' 'tolower($1) == "mcp-session-id" { print $2; exit }')"
  [[ $mcp_session =~ ^[!-~]+$ ]] \
    || die "initialize on $url gave no usable Mcp-Session-Id"
  [[ $(<"$body") =~ \"protocolVersion\":\"([^\"]+)\" ]] \
    || die "initialize on $url gave no protocol version:" \
      "$(head -c 300 "$body")"
  mcp_protocol=${BASH_REMATCH[1]}
  [[ $mcp_protocol =~ ^[!-~]+$ ]] \
    || die "initialize on $url gave an unusable protocol version"

  code="$(curl -sS --max-time 5 -o "$body" -w '%{http_code}' \
    -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' \
    -H "Mcp-Session-Id: $mcp_session" \
    -H "MCP-Protocol-Version: $mcp_protocol" \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$url")" \
    || die "notifications/initialized failed on $url"
  [[ $code =~ ^20[024]$ ]] \
    || die "notifications/initialized on $url answered HTTP $code"
}

# Ends the session of mcp_open on URL $1; a failure changes no figure.
mcp_close() {
  curl -sS --max-time 5 -o /dev/null -X DELETE \
    -H "Mcp-Session-Id: $mcp_session" \
    -H "MCP-Protocol-Version: $mcp_protocol" "$1" || true
}

# Runs wrk with mcp_call.lua through the session of mcp_open: $1 calls in
# flight (one connection each) for $2 against URL $3; output to file $4.
mcp_wrk() {
  timeout --foreground -k 5 $((duration_s + 30)) \
    wrk -t1 -c"$1" -d"$2" --timeout 5s --latency \
    -s "$bench_dir/mcp_call.lua" "$3" \
    -- "$mcp_session" "$mcp_protocol" "$mcp_tool" "$mcp_args" >"$4" 2>&1
}

# The fields of the bench-result line of mcp_call.lua, by name.
declare -A mcp_wrk_fields

# Reads the bench-result line in wrk's output $1 into mcp_wrk_fields; dies
# when a call failed, naming server $2.
mcp_wrk_result() {
  local out=$1 server=$2 line kv errors
  line="$(grep -m1 '^bench-result ' "$out")" \
    || { cat "$out" >&2; die "wrk printed no result line"; }
  mcp_wrk_fields=()
  for kv in ${line#bench-result }; do
    mcp_wrk_fields[${kv%%=*}]=${kv#*=}
  done
  # Replies that are not a 200 with a result, and socket errors (a status
  # of 400 or more counts among the first already).
  errors=$((mcp_wrk_fields[bad] + mcp_wrk_fields[connect] \
    + mcp_wrk_fields[read] + mcp_wrk_fields[write] \
    + mcp_wrk_fields[timeout]))
  mcp_wrk_fields[errors]=$errors
  if ((errors > 0 || mcp_wrk_fields[requests] == 0)); then
    cat "$out" >&2
    die "$errors calls failed against $server (bad replies" \
      "${mcp_wrk_fields[bad]}, socket errors connect/read/write/timeout" \
      "${mcp_wrk_fields[connect]}/${mcp_wrk_fields[read]}/" \
      "${mcp_wrk_fields[write]}/${mcp_wrk_fields[timeout]}); the run is" \
      "no measurement"
  fi
}

# CPU time (user + system) of the children this shell has waited for, in
# clock ticks: wrk's, once it has exited.
children_ticks() {
  awk '{ print $16 + $17 }' "/proc/$$/stat"
}

# Runs wrk once through a session of its own, after a warm-up second in
# it; appends a row to the MCP results.
run_mcp_wrk() {
  local conc=$1 server=$2 round=$3 pid=$4 url=$5
  local before after all_before all_after cl_before cl_after t0 t1
  local out="$tmp/mcp-$conc-$server-$round.txt"
  local cpu_us client_s client_pct other
  mcp_open "$url"
  mcp_wrk "$conc" 1s "$url" "$out" \
    || { cat "$out" >&2; die "wrk failed against $server ($url)"; }
  mcp_wrk_result "$out" "$server"

  # The measured run: wrk's CPU is what this shell's children gained.
  before="$(cpu_ticks "$pid")"
  all_before="$(machine_ticks)"
  t0="$(date +%s%N)"
  cl_before="$(children_ticks)"
  mcp_wrk "$conc" "$duration" "$url" "$out" \
    || { cat "$out" >&2; die "wrk failed against $server ($url)"; }
  cl_after="$(children_ticks)"
  t1="$(date +%s%N)"
  after="$(cpu_ticks "$pid")"
  all_after="$(machine_ticks)"
  kill -0 "$pid" 2>/dev/null || die "$server died during mcp c=$conc"
  mcp_close "$url"
  mcp_wrk_result "$out" "$server"

  cpu_us=$(((after - before) * 1000000 / ticks_per_s \
    / mcp_wrk_fields[requests]))
  client_s="$(awk -v t=$((cl_after - cl_before)) -v hz="$ticks_per_s" \
    'BEGIN { printf "%.3f", t / hz }')"
  client_pct="$(awk -v c="$client_s" -v ns=$((t1 - t0)) \
    'BEGIN { printf "%.0f", 100 * c / (ns / 1e9) }')"
  other="$(other_pct $((all_after - all_before)) $((after - before)) \
    "$client_s" $((t1 - t0)))"
  mcp_row "$conc" "$server" "$round" "${mcp_wrk_fields[rps]}" \
    "${mcp_wrk_fields[p50_ms]}" "${mcp_wrk_fields[p95_ms]}" \
    "${mcp_wrk_fields[p99_ms]}" "${mcp_wrk_fields[errors]}" \
    "${mcp_wrk_fields[sse]}/${mcp_wrk_fields[json]}" \
    "${mcp_wrk_fields[bytes]}" "$cpu_us" "$client_pct" "$other"
}

# Runs the chosen load client once; appends a row to the MCP results.
run_mcp() {
  if [[ $mcp_client == wrk ]]; then
    run_mcp_wrk "$@"
  else
    run_mcp_node "$@"
  fi
}

# Median of column $1 of the MCP results of concurrency $2 and server $3.
mcp_median() {
  awk -F'\t' -v col="$1" -v co="$2" -v sv="$3" \
    '$1 == co && $2 == sv { print $col }' "$mcp_results" \
    | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print 0; exit }
        if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

report_mcp() {
  local co sv rd rps p50 p95 p99 err kinds bytes cpu client other
  local client_name=wrk
  [[ $mcp_client == node ]] && client_name=mcp_load.mjs
  echo
  echo "== mcp runs (tools/call $mcp_tool through one session; conc = calls"
  echo "   in flight, one connection each; sse/json = kinds of replies;"
  echo "   bytes = mean reply body; cpu = server CPU time per call;"
  echo "   client = the load client's ($client_name) CPU while it measured,"
  echo "   other = what other processes used meanwhile, both in % of one"
  echo "   core)"
  printf '%5s %-7s %2s %10s %8s %8s %8s %6s %11s %6s %7s %7s %6s\n' \
    conc server rd "req/s" "p50 ms" "p95 ms" "p99 ms" errors "sse/json" \
    bytes "cpu us" client other
  while IFS=$'\t' read -r co sv rd rps p50 p95 p99 err kinds bytes cpu \
    client other; do
    printf '%5s %-7s %2s %10s %8s %8s %8s %6s %11s %6s %7s %6s%% %5s%%\n' \
      "$co" "$sv" "$rd" "$rps" "$p50" "$p95" "$p99" "$err" "$kinds" \
      "$bytes" "$cpu" "$client" "$other"
  done <"$mcp_results"

  local c n t nc tc ratio cpu_ratio nl tl peaks=""
  echo
  echo "== mcp medians (ratio = node req/s / TypeScript SDK req/s, the"
  echo "   target is 10x or more; cpu x = TypeScript SDK cpu us per call"
  echo "   / node cpu us per call; latencies are medians over the rounds)"
  printf '%5s %10s %10s %7s %7s %7s %7s %21s %21s\n' conc "node req/s" \
    "ts req/s" ratio "node us" "ts us" "cpu x" "node p50/p95/p99 ms" \
    "ts p50/p95/p99 ms"
  for c in $mcp_concurrency; do
    n="$(mcp_median 4 "$c" node)"
    t="$(mcp_median 4 "$c" ts-sdk)"
    nc="$(mcp_median 11 "$c" node)"
    tc="$(mcp_median 11 "$c" ts-sdk)"
    ratio="$(awk -v n="$n" -v t="$t" \
      'BEGIN { if (t > 0) printf "%.2fx", n / t; else print "n/a" }')"
    cpu_ratio="$(awk -v n="$nc" -v t="$tc" \
      'BEGIN { if (n > 0) printf "%.2fx", t / n; else print "n/a" }')"
    nl="$(mcp_median 5 "$c" node)/$(mcp_median 6 "$c" node)"
    nl+="/$(mcp_median 7 "$c" node)"
    tl="$(mcp_median 5 "$c" ts-sdk)/$(mcp_median 6 "$c" ts-sdk)"
    tl+="/$(mcp_median 7 "$c" ts-sdk)"
    printf '%5s %10s %10s %7s %7s %7s %7s %21s %21s\n' "$c" "$n" "$t" \
      "$ratio" "$nc" "$tc" "$cpu_ratio" "$nl" "$tl"
    peaks+="$c $n $t"$'\n'
  done
  # Each server at the concurrency where it served the most: the ratio of
  # throughputs, where a row compares the two at one load.
  awk '$2 > n { n = $2; nc = $1 } $3 > t { t = $3; tc = $1 }
    END { if (t > 0) printf "peak: node %.1f req/s (c=%s), ts %.1f req/s " \
      "(c=%s), ratio %.2fx\n", n, nc, t, tc, n / t }' <<<"$peaks"

  # The load client runs on one core (a node process, or wrk's one
  # thread): near a full core, it and not the server sets the pace.
  local busiest noisy late
  busiest="$(awk -F'\t' '$2 == "node" && $12 > m { m = $12 }
    END { print m + 0 }' "$mcp_results")"
  if ((busiest >= 90)); then
    echo "note: the load client used up to $busiest% of a core against the" \
      "node; the node's req/s is a floor, its cpu us the better measure"
  fi
  noisy="$(awk -F'\t' '$13 >= 20 { n++ } END { print n + 0 }' \
    "$mcp_results")"
  if ((noisy > 0)); then
    echo "note: in $noisy runs other processes used 20% of a core or more;" \
      "expect noisy req/s and latencies there"
  fi
  late="$(awk 'seen { print } /^ready address=/ { seen = 1 }' \
    "$tmp/mcp-node.err")"
  if [[ -n $late ]]; then
    echo "mcp node stderr after ready: $(wc -l <<<"$late") lines; the last:"
    tail -n 5 <<<"$late" | sed 's/^/  /'
  else
    echo "mcp node stderr after ready: nothing"
  fi
}

if wanted mcp; then
  echo
  echo "== mcp servers"
  start_mcp_servers
  check_mcp_servers
  : >"$mcp_results"
  echo
  if [[ $mcp_client == wrk ]]; then
    mcp_client_name="wrk -t1 with mcp_call.lua, after 1 s of warm-up"
  else
    mcp_client_name="mcp_load.mjs, after $mcp_warmup warm-up calls"
  fi
  echo "== mcp: tools/call $mcp_tool, one session per run, $duration_s s" \
    "per run, $rounds rounds, node and TypeScript SDK in turn;" \
    "client $mcp_client_name"
  for conc in $mcp_concurrency; do
    for ((round = 1; round <= rounds; ++round)); do
      run_mcp "$conc" node "$round" "$mcp_node_pid" "$mcp_node_url"
      sleep "$pause"
      run_mcp "$conc" ts-sdk "$round" "$mcp_ts_pid" "$mcp_ts_url"
      sleep "$pause"
    done
  done
  report_mcp

  # The wrk scenarios get the machine to themselves.
  stop_server "mcp node" "$mcp_node_pid"
  stop_server "TypeScript MCP server" "$mcp_ts_pid"
  mcp_node_pid=""
  mcp_ts_pid=""
fi

# -- HTTP: start the servers --------------------------------------------------

# The wrk scenarios follow; without them the run is complete.
[[ -n $http_scenarios ]] || exit 0

echo
echo "== servers"
cat >"$tmp/node.json" <<EOF
{
  "threads": {"actors": $actor_threads, "io": $io_threads},
  "settings": {"http": {"backlog": $backlog}}
}
EOF
"$node_bin" --config "$tmp/node.json" --bind "$host" --port 0 \
  --modules system,users >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
line="$(await_ready "$node_pid" '^ready address=' "$tmp/node.err")" \
  || die "the node did not become ready in 20 s"
[[ $line =~ address=127\.0\.0\.1:([0-9]+) ]] \
  || die "unexpected ready line: $line"
node_port=${BASH_REMATCH[1]}
echo "node:    pid $node_pid, port $node_port," \
  "$(thread_count "$node_pid") threads; $line"

NODE_ENV=production PORT=0 BACKLOG="$backlog" \
  node "$bench_dir/express/server.js" \
  >"$tmp/express.out" 2>"$tmp/express.err" &
express_pid=$!
line="$(await_ready "$express_pid" '^ready port=' "$tmp/express.out")" \
  || { cat "$tmp/express.err" >&2; die "Express did not become ready in 20 s"; }
express_port=${line#ready port=}
echo "express: pid $express_pid, port $express_port," \
  "$(thread_count "$express_pid") threads"

# The same users module on a node of its own, joined to a front node that
# runs only the system module: each request crosses the node link twice.
"$node_bin" --config "$tmp/node.json" --bind "$host" --port 0 --publish 0 \
  --modules system --name bench-front >"$tmp/front.out" 2>"$tmp/front.err" &
front_pid=$!
line="$(await_ready "$front_pid" '^ready address=' "$tmp/front.err")" \
  || die "the front node did not become ready in 20 s"
[[ $line =~ address=127\.0\.0\.1:([0-9]+).*publish=127\.0\.0\.1:([0-9]+) ]] \
  || die "unexpected ready line: $line"
front_port=${BASH_REMATCH[1]}
front_publish=${BASH_REMATCH[2]}
"$node_bin" --config "$tmp/node.json" --join "$host:$front_publish" \
  --modules users --name bench-users >"$tmp/remote.out" \
  2>"$tmp/remote.err" &
remote_pid=$!
await_ready "$remote_pid" '^ready address=' "$tmp/remote.err" >/dev/null \
  || die "the users node did not become ready in 20 s"
for ((i = 0; i < 100; ++i)); do
  code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "http://$host:$front_port/api/users" || true)"
  [[ $code == 200 ]] && break
  sleep 0.1
done
[[ $code == 200 ]] || die "the users node's routes did not reach the front"
echo "remote:  front pid $front_pid, port $front_port; users node pid" \
  "$remote_pid, joined $host:$front_publish"

# Creates one user; prints its id.
create_user() {
  local port=$1 out code
  out="$(curl -sS --max-time 5 -o - -w '\n%{http_code}' \
    -H 'content-type: application/json' \
    -d '{"name":"Ada","email":"ada@example.org"}' \
    "http://$host:$port/api/users")" || return 1
  code="${out##*$'\n'}"
  [[ $code == 201 ]] || { echo "POST /api/users answered $code" >&2; return 1; }
  [[ $out =~ \"id\":\"([^\"]+)\" ]] || return 1
  echo "${BASH_REMATCH[1]}"
}
node_user="$(create_user "$node_port")" \
  || die "cannot create a user in the node"
express_user="$(create_user "$express_port")" \
  || die "cannot create a user in Express"
remote_user="$(create_user "$front_port")" \
  || die "cannot create a user through the front node"
for check in "$node_port/api/users/$node_user" \
  "$express_port/api/users/$express_user" "$front_port/api/users/$remote_user" \
  "$node_port/health" \
  "$express_port/health"; do
  code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "http://$host:$check")" || die "GET $check failed"
  [[ $code == 200 ]] || die "GET $check answered $code"
done
echo "users:   node $node_user, express $express_user, remote $remote_user"

# -- runs ---------------------------------------------------------------------

results="$tmp/results.tsv"
: >"$results"

# Runs wrk once; appends a row to the results. $5 lists the server's pids.
run_wrk() {
  local scenario=$1 conns=$2 server=$3 round=$4 pids=$5 url=$6
  local timeout_opt=2s
  ((conns >= 1000)) && timeout_opt=5s
  local before after out line
  # shellcheck disable=SC2086
  before="$(cpu_ticks $pids)"
  out="$tmp/wrk-$scenario-$conns-$server-$round.txt"
  timeout --foreground -k 5 $((duration_s + 30)) \
    wrk -t"$wrk_threads" -c"$conns" -d"$duration" --timeout "$timeout_opt" \
    -s "$bench_dir/report.lua" "$url" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed against $server ($url)"; }
  # shellcheck disable=SC2086
  after="$(cpu_ticks $pids)"
  local pid
  for pid in $pids; do
    kill -0 "$pid" 2>/dev/null || die "$server died during $scenario c=$conns"
  done
  line="$(grep -m1 '^bench-result ' "$out")" \
    || { cat "$out" >&2; die "wrk printed no result line"; }
  # Fields of the result line, in order: see report.lua.
  local -A f
  local kv
  for kv in ${line#bench-result }; do
    f[${kv%%=*}]=${kv#*=}
  done
  local cpu_us=0
  if ((f[requests] > 0)); then
    cpu_us=$(((after - before) * 1000000 / ticks_per_s / f[requests]))
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$scenario" "$conns" "$server" "$round" "${f[rps]}" "${f[p50_ms]}" \
    "${f[p99_ms]}" "${f[non2xx]}" "${f[connect]}" "${f[read]}" \
    "${f[write]}" "${f[timeout]}" "$cpu_us" >>"$results"
  printf '  %-6s c=%-5s %-7s round %s: %10s req/s  p99 %s ms\n' \
    "$scenario" "$conns" "$server" "$round" "${f[rps]}" "${f[p99_ms]}"
}

echo
echo "== wrk: -t$wrk_threads -d$duration, $rounds rounds," \
  "node and Express in turn"
for scenario in $http_scenarios; do
  for conns in $conn_counts; do
    for ((round = 1; round <= rounds; ++round)); do
      if [[ $scenario == health ]]; then
        node_url="http://$host:$node_port/health"
        express_url="http://$host:$express_port/health"
      else
        node_url="http://$host:$node_port/api/users/$node_user"
        express_url="http://$host:$express_port/api/users/$express_user"
      fi
      run_wrk "$scenario" "$conns" node "$round" "$node_pid" "$node_url"
      sleep "$pause"
      run_wrk "$scenario" "$conns" express "$round" "$express_pid" \
        "$express_url"
      sleep "$pause"
      if [[ $scenario == user ]]; then
        run_wrk user "$conns" remote "$round" "$front_pid $remote_pid" \
          "http://$host:$front_port/api/users/$remote_user"
        sleep "$pause"
      fi
    done
  done
done

# -- report -------------------------------------------------------------------

echo
echo "== runs (scenario: health = GET /health, user = GET /api/users/:id;"
echo "   server remote = the users module on a node of its own, joined to"
echo "   a front node; its cpu counts both processes;"
echo "   non-2xx = wrk's count of status >= 400; socket errors are"
echo "   connect/read/write/timeout; cpu = server CPU time per request)"
printf '%-7s %5s %-8s %2s %10s %9s %9s %8s %21s %8s\n' \
  scenario conns server rd "req/s" "p50 ms" "p99 ms" non-2xx \
  "socket c/r/w/t" "cpu us"
while IFS=$'\t' read -r sc co sv rd rps p50 p99 bad ec er ew et cpu; do
  printf '%-7s %5s %-8s %2s %10s %9s %9s %8s %21s %8s\n' \
    "$sc" "$co" "$sv" "$rd" "$rps" "$p50" "$p99" "$bad" \
    "$ec/$er/$ew/$et" "$cpu"
done <"$results"

# Median req/s of one server in one scenario.
median_rps() {
  awk -F'\t' -v sc="$1" -v co="$2" -v sv="$3" \
    '$1 == sc && $2 == co && $3 == sv { print $5 }' "$results" \
    | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print 0; exit }
        if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "== medians (ratio = node req/s / Express req/s;" \
  "above 1 the node is faster)"
printf '%-7s %5s %12s %13s %8s\n' scenario conns "node req/s" \
  "express req/s" ratio
for scenario in $http_scenarios; do
  for conns in $conn_counts; do
    n="$(median_rps "$scenario" "$conns" node)"
    e="$(median_rps "$scenario" "$conns" express)"
    ratio="$(awk -v n="$n" -v e="$e" \
      'BEGIN { if (e > 0) printf "%.2fx", n / e; else print "n/a" }')"
    printf '%-7s %5s %12s %13s %8s\n' "$scenario" "$conns" "$n" "$e" "$ratio"
  done
done

if wanted user; then
  echo
  echo "== remote module (ratio = remote req/s / local node req/s on" \
    "GET /api/users/:id; the target is 0.5 or more)"
  printf '%-7s %12s %13s %8s %14s %14s\n' conns "local req/s" "remote req/s" \
    ratio "local cpu us" "remote cpu us"
  # Median CPU microseconds per request of one server in one scenario.
  median_cpu() {
    awk -F'\t' -v sc="$1" -v co="$2" -v sv="$3" \
      '$1 == sc && $2 == co && $3 == sv { print $13 }' "$results" \
      | sort -g \
      | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
  }
  for conns in $conn_counts; do
    n="$(median_rps user "$conns" node)"
    r="$(median_rps user "$conns" remote)"
    ratio="$(awk -v n="$n" -v r="$r" \
      'BEGIN { if (n > 0) printf "%.2f", r / n; else print "n/a" }')"
    printf '%-7s %12s %13s %8s %14s %14s\n' "$conns" "$n" "$r" "$ratio" \
      "$(median_cpu user "$conns" node)" "$(median_cpu user "$conns" remote)"
  done
fi

echo
for conns in $conn_counts; do
  ((conns >= 1000)) || continue
  bad="$(awk -F'\t' -v co="$conns" \
    '$3 != "express" && $2 == co { s += $8 + $9 + $10 + $11 + $12 }
     END { print s + 0 }' \
    "$results")"
  if ((bad == 0)); then
    echo "node at c=$conns: clean (0 non-2xx, 0 socket errors in every run)"
  else
    echo "node at c=$conns: NOT clean ($bad non-2xx responses and socket" \
      "errors in total; see the table)"
  fi
done
# What the node logged after it became ready (warnings, errors).
late="$(awk 'seen { print } /^ready address=/ { seen = 1 }' "$tmp/node.err")"
if [[ -n $late ]]; then
  echo "node stderr after ready: $(wc -l <<<"$late") lines; the last ones:"
  tail -n 5 <<<"$late" | sed 's/^/  /'
else
  echo "node stderr after ready: nothing"
fi
