#!/usr/bin/env bash
# Load benchmark: doorman against the upstream alone and HAProxy, in one run, on loopback.
#
#   benches/load.sh [DURATION] [CONNECTIONS]      (defaults: 10s, 64)
#
# Builds release, starts a fast upstream (examples/fast_upstream.rs) pinned to CPU 1, doorman
# (one worker) and HAProxy (one thread) pinned to CPU 0, drives each with wrk (pinned to
# CPU 1, keep-alive), and prints requests/s, p50/p99, CPU µs per request of the measured
# process (utime+stime from /proc/PID/stat over the run), its peak RSS, and the ratios of
# ../shared/docs/BENCH.md. Installs wrk and haproxy with apt-get when missing. Stops only
# the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
TOKENS=${TOKENS:-2000}
PORT_UP=13000 PORT_DM=18080 PORT_ADMIN=18090 PORT_HA=18081

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need haproxy haproxy
need taskset util-linux

cargo build --release --quiet --bin doorman --example fast_upstream
BIN=target/release/doorman
UP=target/release/examples/fast_upstream
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# Keys, config, tokens.
$BIN token keygen --out "$WORK/key.pem" --kid bench >"$WORK/jwks.json"
cat >"$WORK/doorman.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT_DM"
admin_listen = "127.0.0.1:$PORT_ADMIN"
workers = 1
[clerk]
issuer = "https://clerk.bench.example"
jwks_file = "$WORK/jwks.json"
[claims]
roles = "/metadata/roles"
onboarding_status = "/metadata/onboarding"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:$PORT_UP"
[[routes]]
name = "public"
path = "/public/**"
access = "public"
[[routes]]
name = "projects"
path = "/api/projects/**"
respond = "api"
permissions_all = ["view_project"]
[[routes]]
name = "dashboard"
path = "/dashboard/**"
respond = "page"
TOML
claims() { echo "{\"iss\":\"https://clerk.bench.example\",\"sub\":\"user_$1\",\"sid\":\"sess_$1\",\"metadata\":{\"onboarding\":\"completed\",\"roles\":[{\"name\":\"member\",\"permissions\":[\"view_project\"]}]}}"; }
TOKEN=$($BIN token mint --key "$WORK/key.pem" --kid bench --ttl 1h --claims "$(claims warm)")
for i in $(seq 1 "$TOKENS"); do
  $BIN token mint --key "$WORK/key.pem" --kid bench --ttl 1h --claims "$(claims "$i")"
done >"$WORK/tokens.txt"
cat >"$WORK/cold.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("TOKEN_FILE")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/api/projects/1", { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA
cat >"$WORK/haproxy.cfg" <<HA
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$PORT_HA
  default_backend be
backend be
  server up 127.0.0.1:$PORT_UP
HA

# Processes.
taskset -c 1 "$UP" "127.0.0.1:$PORT_UP" & PIDS+=($!); UP_PID=$!
RUST_LOG=error taskset -c 0 "$BIN" --config "$WORK/doorman.toml" & PIDS+=($!); DM_PID=$!
taskset -c 0 haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 & PIDS+=($!); HA_PID=$!
deadline=$((SECONDS + 20))
until curl -fs "http://127.0.0.1:$PORT_ADMIN/readyz" >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || { echo "doorman did not become ready" >&2; exit 1; }
  sleep 0.1
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
declare -A CPU RPS
printf '%-34s %10s %9s %9s %12s %9s\n' scenario "req/s" p50 p99 "CPU µs/req" "RSS MiB"
run() { # name pid url [wrk args...]
  local name=$1 pid=$2 url=$3; shift 3
  local before after out reqs
  before=$(ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  after=$(ticks "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps p50 p99 cpu rss
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  cpu=$(awk -v a="$after" -v b="$before" -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.1f", (a - b) / hz * 1e6 / n}')
  rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  CPU[$name]=$cpu; RPS[$name]=$rps
  printf '%-34s %10s %9s %9s %12s %9s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$rss"
}
run "a upstream alone" "$UP_PID" "http://127.0.0.1:$PORT_UP/public/x"
run "h haproxy plain proxy" "$HA_PID" "http://127.0.0.1:$PORT_HA/public/x"
run "b doorman public route" "$DM_PID" "http://127.0.0.1:$PORT_DM/public/x"
run "c doorman protected, same token" "$DM_PID" "http://127.0.0.1:$PORT_DM/api/projects/1" -H "Authorization: Bearer $TOKEN"
TOKEN_FILE="$WORK/tokens.txt" run "d doorman protected, $TOKENS tokens" "$DM_PID" "http://127.0.0.1:$PORT_DM/" -s "$WORK/cold.lua"
run "e doorman redirect to sign-in" "$DM_PID" "http://127.0.0.1:$PORT_DM/dashboard" -H "Accept: text/html"

ratio() { awk -v a="${CPU[$1]}" -v b="${CPU[$2]}" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "ratios of CPU µs/request (same run):"
echo "  c/b  auth on top of proxying:          $(ratio 'c doorman protected, same token' 'b doorman public route')"
echo "  c/h  warm protected vs HAProxy plain:  $(ratio 'c doorman protected, same token' 'h haproxy plain proxy')"
echo "  b/h  public route vs HAProxy plain:    $(ratio 'b doorman public route' 'h haproxy plain proxy')"
echo "  d/h  cold protected vs HAProxy plain:  $(ratio "d doorman protected, $TOKENS tokens" 'h haproxy plain proxy')"
echo "  c/a  protected route vs upstream alone: $(ratio 'c doorman protected, same token' 'a upstream alone')"
