#!/usr/bin/env bash
# Scale checks (docs/performance.md, "Scale"), on loopback like benches/load.sh:
#
#   benches/scale.sh [DURATION]          (default 10s per load run)
#   env: TOKENS=100000       distinct live tokens for the memory check
#        TOKEN_RUN=60s       how long the distinct-token load runs
#        CONNS_MANY=5000     the many-connections check
#
# 1. routes: doorman with 3 routes against doorman with 1,003 (1,000 generated) routes,
#    public and warm protected, CPU µs/request in the same run;
# 2. connections: 64 against CONNS_MANY keep-alive connections, for HAProxy (plain) and
#    doorman (public, warm protected): CPU µs/request, p99 and peak RSS;
# 3. tokens: TOKENS distinct live tokens sent in turn to doorman with the default cache
#    bounds (100,000 entries, 64 MiB), sampling RSS and the cache gauges every 2 s: the
#    cache stops growing at its byte bound and RSS plateaus with it.
#
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
TOKENS=${TOKENS:-100000}
TOKEN_RUN=${TOKEN_RUN:-60s}
CONNS_MANY=${CONNS_MANY:-5000}
PORT_UP=13000
# shellcheck source=benches/lib.sh
source benches/lib.sh
RESULTS="$WORK/results.tsv"

mint_tokens 1 "$WORK/token.txt"
AUTH=(-H "Authorization: Bearer $(cat "$WORK/token.txt")")
start_upstream
start_haproxy ha "$(haproxy_config 18081 $((CONNS_MANY + 1000)) 0)"
start_doorman small "$(doorman_config 18080 18090 0 '')" 18090
start_doorman large "$(doorman_config 18084 18094 1000 '')" 18094

echo "== 1. routes: 3 against 1,003 ==" >&2
measure "3 routes, public" "$small_PID" 64 "$DURATION" "http://127.0.0.1:18080/public/x"
measure "1,003 routes, public" "$large_PID" 64 "$DURATION" "http://127.0.0.1:18084/public/x"
measure "3 routes, protected warm" "$small_PID" 64 "$DURATION" "http://127.0.0.1:18080/api/projects/1" "${AUTH[@]}"
measure "1,003 routes, protected warm" "$large_PID" 64 "$DURATION" "http://127.0.0.1:18084/api/projects/1" "${AUTH[@]}"
measure "1,003 routes, deep generated route" "$large_PID" 64 "$DURATION" \
  "http://127.0.0.1:18084/area7/section0/42/item987/x/y" "${AUTH[@]}"

echo "== 2. connections: 64 against $CONNS_MANY ==" >&2
measure "HAProxy plain, 64 conns" "$ha_PID" 64 "$DURATION" "http://127.0.0.1:18081/public/x"
measure "HAProxy plain, $CONNS_MANY conns" "$ha_PID" "$CONNS_MANY" "$DURATION" "http://127.0.0.1:18081/public/x"
measure "doorman public, 64 conns" "$small_PID" 64 "$DURATION" "http://127.0.0.1:18080/public/x"
measure "doorman public, $CONNS_MANY conns" "$small_PID" "$CONNS_MANY" "$DURATION" "http://127.0.0.1:18080/public/x"
measure "doorman protected warm, $CONNS_MANY conns" "$small_PID" "$CONNS_MANY" "$DURATION" \
  "http://127.0.0.1:18080/api/projects/1" "${AUTH[@]}"

echo
table
echo
echo "| ratio | value |"
echo "|---|---:|"
echo "| 1,003 ÷ 3 routes, public | $(ratio "1,003 routes, public" "3 routes, public") |"
echo "| 1,003 ÷ 3 routes, protected warm | $(ratio "1,003 routes, protected warm" "3 routes, protected warm") |"
echo "| doorman public ÷ HAProxy, $CONNS_MANY conns | $(ratio "doorman public, $CONNS_MANY conns" "HAProxy plain, $CONNS_MANY conns") |"
echo "| doorman public, $CONNS_MANY ÷ 64 conns | $(ratio "doorman public, $CONNS_MANY conns" "doorman public, 64 conns") |"

echo
echo "== 3. $TOKENS distinct live tokens, default cache bounds ==" >&2
start=$SECONDS
mint_tokens "$TOKENS" "$WORK/many.txt"
echo "minted $TOKENS tokens in $((SECONDS - start)) s" >&2
start_doorman many "$(doorman_config 18085 18095 0 '')" 18095
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
echo "| t (s) | RSS MiB | cache entries | cache MiB | misses |"
echo "|---:|---:|---:|---:|---:|"
echo "| 0 | $(rss "$many_PID") | 0 | 0 | 0 |"
TOKEN_FILE="$WORK/many.txt" taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$TOKEN_RUN" \
  -s "$WORK/tokens.lua" "http://127.0.0.1:18085/" >"$WORK/many.wrk" &
WRK_PID=$!
PIDS+=("$WRK_PID")
t=0
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep 2
  t=$((t + 2))
  kill -0 "$WRK_PID" 2>/dev/null || break
  printf '| %d | %s | %s | %.1f | %s |\n' "$t" "$(rss "$many_PID")" \
    "$(metric 18095 doorman_token_cache_entries)" \
    "$(awk -v b="$(metric 18095 doorman_token_cache_bytes)" 'BEGIN {print b / 1048576}')" \
    "$(metric 18095 doorman_token_cache_misses_total)"
done
echo
echo "peak RSS $(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$many_PID/status") MiB;" \
  "$(awk '/requests in/ {print $1}' "$WORK/many.wrk") requests," \
  "$(metric 18095 doorman_token_cache_hits_total) hits," \
  "$(metric 18095 doorman_token_cache_misses_total) misses"
