#!/usr/bin/env bash
# The node's OAuth 2.1 authorization server end to end, as processes on
# loopback: the official MCP SDK client logging in by itself
# (oauth_client.mjs), curl, and stand-ins for the upstream provider
# (upstream.mjs). Five processes:
#
# - up-alice, up-bob: upstream.mjs, the one user each knows being alice or
#   bob;
# - node A: system, users and auth, with up-alice as an OpenID Connect style
#   provider, `allow: {logins: [alice]}`, users routes that need a token, the
#   shortest access token lifetime (30 s) and its database in a file; it is
#   restarted once, on the same port and database;
# - node B: up-bob as a GitHub style provider, the same allow list;
# - node L: no provider, so the local login link.
#
# The cases, each a few counted checks:
# 1. the SDK client on A's /mcp/system with no token: discovery,
#    registration, PKCE, upstream login, token, tools;
# 2. the users routes of A with curl: no token, a token for the node's root,
#    a token for /mcp/system only, a token in the query string;
# 3. bob, whom the allow list refuses, on B: access_denied, no token;
# 4. A restarted; once the access token of case 1 has expired, the same
#    client again: a refresh with the saved refresh token, no registration,
#    no login; then the spent refresh token refused, and its family with it;
# 5. L's local login driven by curl: register, authorize, the link from
#    stderr, code, token, initialize; the link does not work twice;
# 6. no token, code or secret in any node's log.
#
# Case 4 waits for the access token to expire: 30 s lifetime plus the 30 s
# leeway of the node's token check, so the test takes a little over a
# minute.
#
# Usage: auth_e2e_test.sh SWITCHBOARD_BINARY
set -uo pipefail

bin=${1:?usage: auth_e2e_test.sh SWITCHBOARD_BINARY}
bin=$(realpath "$bin")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mcp_dir=$(cd "$here/../mcp" && pwd)
work=$(mktemp -d)
passed=0
failed=0
declare -A pid=() # every process started, by name

cleanup() {
  local name
  for name in "${!pid[@]}"; do
    kill -KILL "${pid[$name]}" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

# -- counting checks -----------------------------------------------------------

# A check is built with `need` and counted with `verdict`.
why=""

# need WHAT COMMAND...: the check fails with WHAT unless COMMAND succeeds.
need() {
  local what=$1
  shift
  "$@" || why+="${why:+; }$what"
}

# verdict NAME [FILE]: counts the check; FILE is shown when it failed.
verdict() {
  if [[ -z $why ]]; then
    passed=$((passed + 1))
    echo "PASS $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1: $why"
    [[ -n ${2:-} && -f $2 ]] && sed 's/^/  | /' "$2"
  fi
  why=""
}

is() { [[ $1 == "$2" ]]; }
isnt() { [[ $1 != "$2" ]]; }
has() { [[ $1 == *"$2"* ]]; }
lacks() { [[ $1 != *"$2"* ]]; }
matches() { [[ $1 =~ $2 ]]; }

# -- tools ---------------------------------------------------------------------

if ! "$mcp_dir/install.sh"; then
  echo "the MCP SDK could not be installed"
  echo "0 passed, 1 failed"
  exit 1
fi
node=$("$mcp_dir/node.sh") || {
  echo "0 passed, 1 failed"
  exit 1
}

# curl to loopback only, never through a proxy, never for long.
http() { curl --noproxy '*' -s --max-time 10 "$@"; }

# js CODE ARG...: runs CODE in node, with the arguments in `argv`.
js() {
  local code=$1
  shift
  "$node" -e "const argv = process.argv.slice(1); $code" -- "$@"
}

# field JSON PATH: the value at the dotted PATH of the JSON text, or nothing.
field() {
  js 'let x = JSON.parse(argv[0]);
      for (const k of argv[1].split(".")) x = x == null ? undefined : x[k];
      if (x !== undefined && x !== null)
        console.log(typeof x === "object" ? JSON.stringify(x) : String(x));' \
    "$1" "$2" 2>/dev/null
}

# claims JWT: the JSON of a JWT's payload.
claims() {
  js 'console.log(Buffer.from(argv[0].split(".")[1] ?? "", "base64url")
                    .toString());' "$1"
}

# param URL NAME: a query parameter of URL.
param() {
  js 'console.log(new URL(argv[0]).searchParams.get(argv[1]) ?? "");' "$1" "$2"
}

# entries LOG KEY=VALUE...: how many entries of upstream.mjs's /_log have
# every dotted KEY equal to VALUE.
entries() {
  js 'const want = argv.slice(1).map((x) => x.split(/=(.*)/s));
      const at = (e, k) => k.split(".").reduce((x, s) => x?.[s], e);
      const n = JSON.parse(argv[0]).filter((e) =>
        want.every(([k, v]) => String(at(e, k)) === v)).length;
      console.log(n);' "$@"
}

random_text() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

# -- processes -----------------------------------------------------------------

# wait_line NAME FILE PATTERN: waits up to 10 s for a line of FILE that
# matches PATTERN while process NAME lives.
wait_line() {
  local _
  for _ in $(seq 1 100); do
    grep -q "$3" "$2" 2>/dev/null && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 did not print $3:"
  sed 's/^/  | /' "$2"
  return 1
}

# start_upstream NAME LOGIN: upstream.mjs for LOGIN; its URL in up_url[NAME].
declare -A up_url=()
up_id=switchboard-e2e
up_secret=$(random_text)
start_upstream() {
  local out="$work/$1.out"
  "$node" "$here/upstream.mjs" --port=0 --client-id="$up_id" \
    --client-secret="$up_secret" --login="$2" --email="$2@example.org" \
    >"$out" 2>&1 &
  pid[$1]=$!
  wait_line "$1" "$out" '^ready http' || return 1
  up_url[$1]=$(sed -n 's/^ready //p' "$out")
}

# start_node NAME CONFIG PORT: the node, its stderr in $work/NAME.N.stderr
# (N counting its starts); its base URL in base[NAME].
declare -A base=() starts=()
start_node() {
  local n=$((${starts[$1]:-0} + 1))
  starts[$1]=$n
  local err="$work/$1.$n.stderr"
  (cd "$work" && exec env -u SWITCHBOARD_GITHUB_CLIENT_ID \
    -u SWITCHBOARD_GITHUB_CLIENT_SECRET \
    "$bin" --config "$2" --port "$3" 2>"$err") &
  pid[$1]=$!
  wait_line "$1" "$err" '^ready ' || return 1
  base[$1]="http://$(sed -n 's/^ready address=\([^ ]*\) .*/\1/p' "$err")"
}

# stop NAME: SIGINT, then up to 10 s for the exit; returns its exit code
# (124 when it had to be killed).
stop() {
  local p=${pid[$1]} _
  unset "pid[$1]"
  kill -INT "$p" 2>/dev/null
  for _ in $(seq 1 100); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p"
    wait "$p"
    return 124
  fi
  wait "$p"
}

# node_config FILE DATABASE [UPSTREAM_JSON]: a config with the auth module.
node_config() {
  local upstream=${3:+, \"upstream\": $3}
  cat >"$1" <<JSON
{
  "modules": ["system", "users", "auth"],
  "protocols": ["http", "mcp"],
  "log_level": "trace",
  "settings": {
    "users": { "auth": "required" },
    "auth": {
      "database": "$2",
      "access_token_ttl_s": 30,
      "allow": { "logins": ["alice"] }$upstream
    }
  }
}
JSON
}

# oauth_client STATE URL [ARG...]: the SDK client; output in $work/client.out,
# exit code in $rc.
oauth_client() {
  timeout 40 "$node" "$here/oauth_client.mjs" --state "$1" "${@:2}" \
    >"$work/client.out" 2>&1
  rc=$?
  out=$(cat "$work/client.out")
}

# -- start ---------------------------------------------------------------------

start_upstream up-alice alice && start_upstream up-bob bob || {
  echo "0 passed, 1 failed"
  exit 1
}
a=${up_url[up-alice]}
b=${up_url[up-bob]}
node_config "$work/a.json" "$work/a.db" "{
  \"name\": \"oidc\", \"authorize_url\": \"$a/authorize\",
  \"token_url\": \"$a/token\", \"userinfo_url\": \"$a/userinfo\",
  \"client_id\": \"$up_id\", \"client_secret\": \"$up_secret\",
  \"scope\": \"openid profile email\", \"login_claim\": \"preferred_username\"
}"
node_config "$work/b.json" ":memory:" "{
  \"name\": \"github\", \"authorize_url\": \"$b/login/oauth/authorize\",
  \"token_url\": \"$b/login/oauth/access_token\", \"userinfo_url\": \"$b/user\",
  \"emails_url\": \"$b/user/emails\", \"client_id\": \"$up_id\",
  \"client_secret\": \"$up_secret\", \"scope\": \"read:user user:email\",
  \"login_claim\": \"login\"
}"
node_config "$work/l.json" ":memory:"
start_node A "$work/a.json" 0 && start_node B "$work/b.json" 0 &&
  start_node L "$work/l.json" 0 || {
  echo "0 passed, 1 failed"
  exit 1
}
A=${base[A]}

# -- 1. upstream login through the SDK client ----------------------------------

state1="$work/client1.json"
oauth_client "$state1" "$A/mcp/system"
need "exit 0 (got $rc)" is "$rc" 0
need "no result of uptime" has "$out" 'call uptime: {'
need "no uptime_ms in the result" has "$out" '"uptime_ms"'
need "no tools/list" has "$out" 'tools: '
verdict "1. the SDK client logs in upstream and calls uptime on /mcp/system" \
  "$work/client.out"

need "no discovery of both metadata" \
  matches "$out" 'resource_metadata=[1-9][0-9]* as_metadata=[1-9]'
need "not one registration, authorization and code exchange" \
  has "$out" 'register=1 authorize=1 consent=1 authorization_code=1 refresh_token=0'
need "not S256 for the resource and its scope" has "$out" \
  "code_challenge_method=S256 resource=$A/mcp/system scope=mcp:system"
verdict "1. the SDK discovers, registers, authorizes (PKCE S256), exchanges" \
  "$work/client.out"

saved=$(cat "$state1" 2>/dev/null || echo '{}')
client1=$(field "$saved" client_information.client_id)
access1=$(field "$saved" tokens.access_token)
refresh1=$(field "$saved" tokens.refresh_token)
claims1=$(claims "$access1" 2>/dev/null)
need "no client_id" isnt "$client1" ""
need "no access token" isnt "$access1" ""
need "no refresh token" isnt "$refresh1" ""
need "aud is not $A/mcp/system" is "$(field "$claims1" aud)" "$A/mcp/system"
need "iss is not $A" is "$(field "$claims1" iss)" "$A"
need "scope is not mcp:system" is "$(field "$claims1" scope)" "mcp:system"
need "sub is not oidc:alice" is "$(field "$claims1" sub)" "oidc:alice"
need "the token's client_id is not the registered one" \
  is "$(field "$claims1" client_id)" "$client1"
verdict "1. the state file holds the client_id and tokens for /mcp/system"

log=$(http "$a/_log")
need "no authorization at the provider for /oauth/callback with S256" \
  is "$(entries "$log" method=GET path=/authorize status=302 \
    "query.client_id=$up_id" "query.redirect_uri=$A/oauth/callback" \
    query.code_challenge_method=S256)" 1
need "no code exchange by the node" \
  is "$(entries "$log" method=POST path=/token status=200 \
    form.grant_type=authorization_code "form.client_id=$up_id" \
    "form.redirect_uri=$A/oauth/callback")" 1
need "no userinfo read" \
  is "$(entries "$log" method=GET path=/userinfo status=200)" 1
verdict "1. the node exchanged the code and read the user at the provider"

# -- 4, first part: restart between registration and refresh -------------------

stop A
rc=$?
need "node A did not stop with exit 0 (got $rc)" is "$rc" 0
unset "base[A]"
start_node A "$work/a.json" "${A##*:}"
need "node A did not start again on ${A##*:}" is "${base[A]:-}" "$A"
verdict "4. node A stops on SIGINT and starts again on its port and database"

# -- 2. a protected HTTP route with curl ---------------------------------------

initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
  "protocolVersion":"2025-06-18","capabilities":{},
  "clientInfo":{"name":"curl","version":"1"}}}'
mcp_post() { # mcp_post URL [CURL_ARG...]: initialize; status and headers
  http -o /dev/null -D - -X POST "$1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "${@:2}" \
    -d "$initialize" | tr -d '\r'
}
user_json() { echo "{\"name\":\"Ada\",\"email\":\"ada-$1@example.org\"}"; }
post_user() { # post_user TOKEN N [URL_SUFFIX]: status and WWW-Authenticate
  http -o /dev/null -D - -X POST "$A/api/users${3:-}" \
    -H 'Content-Type: application/json' ${1:+-H "Authorization: Bearer $1"} \
    -d "$(user_json "$2")" | tr -d '\r' | grep -i '^HTTP/\|^www-authenticate:'
}

answer=$(post_user "" 1)
need "not 401" has "$answer" ' 401'
need "no resource_metadata of the root" has "$answer" \
  "resource_metadata=\"$A/.well-known/oauth-protected-resource\""
verdict "2. POST /api/users without a token answers 401 naming the metadata"

# The same registered client, asking for a token for the node's root.
state2="$work/client2.json"
js 'const fs = require("fs");
    const s = JSON.parse(fs.readFileSync(argv[0]));
    fs.writeFileSync(argv[1],
      JSON.stringify({ client_information: s.client_information }));' \
  "$state1" "$state2"
oauth_client "$state2" "$A" --token-only
root_token=$(field "$(cat "$state2")" tokens.access_token)
need "exit 0 (got $rc)" is "$rc" 0
need "not the saved client" has "$out" 'register=0 authorize=1'
need "aud is not $A" is "$(field "$(claims "$root_token")" aud)" "$A"
verdict "2. the same client gets a token for resource=$A" "$work/client.out"

answer=$(post_user "$root_token" 2)
need "not 201: $answer" has "$answer" ' 201'
verdict "2. POST /api/users with the token for the root answers 201"

answer=$(post_user "$access1" 3)
need "not 401: $answer" has "$answer" ' 401'
need "not invalid_token" has "$answer" 'error="invalid_token"'
answer=$(mcp_post "$A/mcp/system" -H "Authorization: Bearer $access1" | head -1)
need "it does not serve /mcp/system either: $answer" has "$answer" ' 200'
verdict "2. the token for /mcp/system, valid there, answers 401 on /api/users"

answer=$(post_user "" 4 "?access_token=$root_token")
need "/api/users: not 401: $answer" has "$answer" ' 401'
answer=$(mcp_post "$A/mcp/system?access_token=$root_token" | head -1)
need "/mcp/system: not 401: $answer" has "$answer" ' 401'
verdict "2. a token in the query string (?access_token=) is not accepted"

# -- 3. a login the allow list refuses -----------------------------------------

state3="$work/client3.json"
oauth_client "$state3" "${base[B]}/mcp/system"
need "exit 3 (got $rc)" is "$rc" 3
need "not access_denied" has "$out" 'denied: error=access_denied'
need "a token in the state file" \
  is "$(field "$(cat "$state3" 2>/dev/null || echo '{}')" tokens)" ""
need "a code exchange with the node" has "$out" 'authorization_code=0'
verdict "3. bob's login ends at the redirect URI with access_denied, no token" \
  "$work/client.out"

log=$(http "$b/_log")
need "bob did not log in at the provider" \
  is "$(entries "$log" method=POST path=/login/oauth/access_token status=200)" 1
need "the node did not log the refusal" \
  grep -q 'login not allowed subject=github:bob' "$work/B.1.stderr"
verdict "3. the provider let bob in; the node's allow list refused him"

# -- 5. local login with curl --------------------------------------------------

L=${base[L]}
redirect=http://127.0.0.1/curl/callback
registration=$(http -X POST "$L/oauth/register" \
  -H 'Content-Type: application/json' -w '\n%{http_code}' -d "{
    \"redirect_uris\": [\"$redirect\"], \"client_name\": \"curl\",
    \"token_endpoint_auth_method\": \"client_secret_basic\",
    \"grant_types\": [\"authorization_code\", \"refresh_token\"],
    \"response_types\": [\"code\"]}")
client5=$(field "${registration%$'\n'*}" client_id)
secret5=$(field "${registration%$'\n'*}" client_secret)
need "not 201: $registration" is "${registration##*$'\n'}" 201
need "no client_secret" isnt "$secret5" ""
verdict "5. a confidential client registers on node L"

verifier=$(random_text)$(random_text)
challenge=$(js 'console.log(require("crypto").createHash("sha256")
                  .update(argv[0]).digest("base64url"));' "$verifier")
state=$(random_text)
authorize() { # authorize COOKIE_JAR: the authorization request's headers
  http -G -c "$1" -o /dev/null -D - "$L/oauth/authorize" \
    -d response_type=code -d "client_id=$client5" \
    --data-urlencode "redirect_uri=$redirect" \
    -d "code_challenge=$challenge" -d code_challenge_method=S256 \
    -d "state=$state" --data-urlencode "resource=$L/mcp/system" \
    --data-urlencode scope=mcp:system | tr -d '\r'
}
answer=$(authorize "$work/jar")
need "not 200" has "$answer" 'HTTP/1.1 200'
need "no sb_authz cookie" matches "$answer" $'\n[Ss]et-[Cc]ookie: sb_authz='
verdict "5. GET /oauth/authorize answers 200 with the cookie sb_authz"

link=$(sed -n 's/^login link (single use, valid 10 minutes): //p' \
  "$work/L.1.stderr" | tail -1)
page=$(http -b "$work/jar" -c "$work/jar" -D "$work/page.head" "$link")
request=$(sed -n 's/.*name="request" value="\([^"]*\)".*/\1/p' <<<"$page")
need "no login link on stderr" has "$link" "$L/oauth/local?token="
need "not 200" has "$(tr -d '\r' <"$work/page.head")" 'HTTP/1.1 200'
need "no consent form" isnt "$request" ""
need "the page does not name the client" has "$page" "$client5"
need "a login cookie" lacks "$(cat "$work/page.head")" 'sb_login='
verdict "5. the link from stderr, in that browser, shows the consent page"

answer=$(http -b "$work/jar" -c "$work/jar" -o /dev/null -D - \
  -X POST "$L/oauth/approve" --data-urlencode "request=$request" \
  -d decision=allow | tr -d '\r')
location=$(sed -n 's/^[Ll]ocation: //p' <<<"$answer")
code=$(param "${location:-http://x/}" code)
need "not 302" has "$answer" 'HTTP/1.1 302'
need "not to the redirect URI" has "$location" "$redirect?"
need "no code" isnt "$code" ""
need "not our state" is "$(param "${location:-http://x/}" state)" "$state"
need "iss is not $L" is "$(param "${location:-http://x/}" iss)" "$L"
verdict "5. Allow on the consent page redirects with the code"

tokens=$(http -X POST "$L/oauth/token" -u "$client5:$secret5" \
  -d grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$redirect" \
  --data-urlencode "code_verifier=$verifier")
access5=$(field "$tokens" access_token)
refresh5=$(field "$tokens" refresh_token)
need "no access token: $tokens" isnt "$access5" ""
need "no refresh token" isnt "$refresh5" ""
need "not a Bearer token" is "$(field "$tokens" token_type)" Bearer
need "sub is not local:..." \
  matches "$(field "$(claims "$access5")" sub)" '^local:'
verdict "5. the code and verifier give tokens (client_secret_basic)"

answer=$(mcp_post "$L/mcp/system" -H "Authorization: Bearer $access5")
need "not 200: $(head -1 <<<"$answer")" has "$answer" 'HTTP/1.1 200'
need "no Mcp-Session-Id" matches "$answer" $'\n[Mm]cp-[Ss]ession-[Ii]d: [^\n]'
verdict "5. initialize on /mcp/system with the bearer answers 200 and a session"

# A second browser: an authorization request of its own, the spent link.
authorize "$work/jar2" >/dev/null
answer=$(http -b "$work/jar2" -o /dev/null -D - "$link" | tr -d '\r')
need "not 403: $(head -1 <<<"$answer")" has "$answer" 'HTTP/1.1 403'
need "a redirect" lacks "${answer,,}" $'\nlocation:'
need "a login session" lacks "$answer" 'sb_login='
verdict "5. the login link does not log in a second time"

# The SDK client through the local login: the authorization page, the
# newest link from the node's stderr in that browser, Allow.
state5="$work/state5.json"
oauth_client "$state5" "$L/mcp/system" --login-link "$work/L.1.stderr"
need "exit 0 (got $rc)" is "$rc" 0
need "no uptime" has "$out" 'call uptime: '
need "not one registration, link, consent and code exchange" has "$out" \
  'register=1 authorize=1 consent=1 authorization_code=1 refresh_token=0 login_link=1'
verdict "5. the SDK client logs in with the local login link, calls uptime" \
  "$work/client.out"

# And a protected HTTP route of that node, with a token for its root: the
# same client, a new grant (a refresh cannot widen the grant's resource).
js 'const fs = require("fs");
    const s = JSON.parse(fs.readFileSync(argv[0]));
    fs.writeFileSync(argv[1],
      JSON.stringify({ client_information: s.client_information }));' \
  "$state5" "$work/state5root.json"
oauth_client "$work/state5root.json" "$L" --token-only \
  --login-link "$work/L.1.stderr"
root5=$(field "$(cat "$work/state5root.json")" tokens.access_token)
need "exit 0 (got $rc)" is "$rc" 0
answer=$(http -o /dev/null -w '%{http_code}' -X POST "$L/api/users" \
  -H 'Content-Type: application/json' -H "Authorization: Bearer $root5" \
  -d "$(user_json 5)")
need "not 201: $answer" is "$answer" 201
answer=$(http -o /dev/null -w '%{http_code}' -X POST "$L/api/users" \
  -H 'Content-Type: application/json' -d "$(user_json 6)")
need "not 401 without a token: $answer" is "$answer" 401
verdict "5. with the local login, a protected HTTP route takes the token" \
  "$work/client.out"

# -- 4, second part: refresh after the access token expired --------------------

# The node accepts a token until 30 s (its leeway) past `exp`.
expires=$(field "$claims1" exp)
wait_s=$((${expires:-0} + 31 - $(date +%s)))
if ((wait_s > 0)); then
  echo "waiting ${wait_s} s for the access token of case 1 to expire"
  sleep "$wait_s"
fi
answer=$(mcp_post "$A/mcp/system" -H "Authorization: Bearer $access1" | head -1)
need "not 401: $answer" has "$answer" ' 401'
verdict "4. the access token of case 1 has expired"

authorizations=$(entries "$(http "$a/_log")" method=GET path=/authorize)
registrations=$(grep -c 'client registered' "$work/A.2.stderr")
oauth_client "$state1" "$A/mcp/system"
need "exit 0 (got $rc)" is "$rc" 0
need "no result of uptime" has "$out" 'call uptime: '
need "not one refresh and nothing else" \
  has "$out" 'register=0 authorize=0 consent=0 authorization_code=0 refresh_token=1'
verdict "4. the restarted node refreshes the saved token; uptime is called" \
  "$work/client.out"

saved=$(cat "$state1")
refresh2=$(field "$saved" tokens.refresh_token)
access2=$(field "$saved" tokens.access_token)
need "another client_id" is "$(field "$saved" client_information.client_id)" \
  "$client1"
need "the same refresh token" isnt "$refresh2" "$refresh1"
need "the same access token" isnt "$access2" "$access1"
need "a registration at the node" \
  is "$(grep -c 'client registered' "$work/A.2.stderr")" "$registrations"
need "a login at the provider" \
  is "$(entries "$(http "$a/_log")" method=GET path=/authorize)" \
  "$authorizations"
verdict "4. no new registration and no new login; the tokens rotated"

refresh() { # refresh TOKEN: the token endpoint's answer and status
  http -X POST "$A/oauth/token" -w ' %{http_code}' -d grant_type=refresh_token \
    -d "client_id=$client1" --data-urlencode "refresh_token=$1"
}
answer=$(refresh "$refresh1")
need "not 400: $answer" matches "$answer" ' 400$'
need "not invalid_grant" is "$(field "${answer% *}" error)" invalid_grant
verdict "4. the spent refresh token is refused (invalid_grant)"

answer=$(refresh "$refresh2")
need "not 400: $answer" matches "$answer" ' 400$'
need "not invalid_grant" is "$(field "${answer% *}" error)" invalid_grant
verdict "4. its reuse revoked the family: the latest refresh token is refused"

# -- 6. no secret in the logs --------------------------------------------------

{
  for x in "$access1" "$access2" "$root_token" "$access5"; do
    echo "access token|$x"
  done
  for x in "$refresh1" "$refresh2" "$refresh5"; do echo "refresh token|$x"; done
  echo "authorization code|$code"
  echo "client secret|$secret5"
  echo "upstream client secret|$up_secret"
  echo "code verifier|$verifier"
  # The codes the providers gave the nodes.
  for x in "$a" "$b"; do
    js 'for (const e of JSON.parse(argv[0]))
          if (e.form?.code) console.log(`upstream code|${e.form.code}`);' \
      "$(http "$x/_log")"
  done
} >"$work/secrets"
for name in A B L; do
  for err in "$work/$name".*.stderr; do
    while IFS='|' read -r what secret; do
      [[ -z $secret ]] && continue
      grep -qF -- "$secret" "$err" &&
        why+="${why:+; }$what in $(basename "$err")"
    done <"$work/secrets"
  done
done
need "the login link is missing" grep -q '^login link ' "$work/L.1.stderr"
verdict "6. no token, code or secret in the nodes' logs (trace level)"

# -- stop ----------------------------------------------------------------------

for name in A B L; do
  stop "$name"
  rc=$?
  need "node $name exited $rc" is "$rc" 0
done
no_errors() { ! grep -qE '^[0-9T:.-]+ (error|critical) ' "$1"; }
for err in "$work"/*.stderr; do
  need "errors in $(basename "$err")" no_errors "$err"
done
verdict "the nodes logged no errors and stop cleanly on SIGINT"
for name in up-alice up-bob; do
  stop "$name"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
