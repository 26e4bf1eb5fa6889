# Helpers shared by the cluster test scripts, which source this file: result
# lines and counters, and process checks read from /proc (no procps needed).

passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
info() { echo "INFO $*"; }

check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then pass "$1 [$3]"; else fail "$1: expected [$2], got [$3]"; fi
}
at_most() { # at_most NAME LIMIT VALUE UNIT
  if [[ "$3" -le "$2" ]]; then pass "$1: $3 $4 <= $2 $4"; else fail "$1: $3 $4 > $2 $4"; fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ours PID: whether PID is still a child of this script (alive or not yet
# reaped), so that a PID reused by another process is never signalled.
ours() {
  local line rest
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  rest=${line##*) }
  rest=${rest#* }
  [[ ${rest%% *} == "$$" ]]
}

# kill_children PID: SIGKILL to the children of PID.
kill_children() {
  local f line rest
  for f in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null <"$f" || continue
    rest=${line##*) }
    rest=${rest#* }
    [[ ${rest%% *} == "$1" ]] || continue
    rest=${f#/proc/}
    kill -KILL "${rest%/stat}" 2>/dev/null
  done
}

# gone PID: whether the process exited (or is a zombie not yet reaped).
gone() {
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return 0
  line=${line##*) }
  [[ ${line%% *} == Z ]]
}
