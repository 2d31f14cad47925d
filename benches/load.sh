#!/usr/bin/env bash
# Load benchmark: doorman against the upstream alone and HAProxy, in one run, on loopback.
#
#   benches/load.sh [DURATION] [CONNECTIONS]      (defaults: 10s, 64)
#   env: ROUNDS=3   interleaved rounds; each row is the round with the median CPU/request
#        TOKENS=2000  distinct tokens of the "token pool" scenario
#        WORKERS=1    proxy threads (2: doorman workers, HAProxy threads, nginx workers)
#        ALLOCS=1     also count heap allocations per warm request (heaptrack; 0: skip)
#
# Builds release; starts the fast upstream (examples/fast_upstream.rs) on CPU 1; doorman
# (one worker), HAProxy (one thread) and nginx (one process, plain proxy, no access log) on
# CPU 0; drives each with wrk on CPU 1 (keep-alive); and prints, per scenario of
# docs/performance.md, requests/s, p50/p99, CPU µs per request of the measured process (utime+stime from /proc/PID/stat over the run) and its
# peak RSS, then the ratios against the targets. HAProxy runs twice: as a plain proxy, and
# verifying the RS256 token of every request with `jwt_verify` (plus issuer, expiry, a path
# rule and an identity header). Installs wrk, haproxy, nginx, heaptrack and openssl with apt-get when missing.
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-2000}
PORT_UP=13000
# shellcheck source=benches/lib.sh
source benches/lib.sh
RESULTS="$WORK/results.tsv"

mint_tokens 1 "$WORK/token.txt"
TOKEN=$(cat "$WORK/token.txt")
mint_tokens "$TOKENS" "$WORK/tokens.txt"

start_upstream
start_haproxy ha "$(haproxy_config 18081 4096 0)"
start_haproxy hajwt "$(haproxy_config 18082 4096 1)"
start_nginx ng "$(nginx_config 18084)"
start_doorman dm "$(doorman_config 18080 18090 0 '')" 18090
# The same config with doorman's default request log on (one line per request, to a file).
start_doorman dmlog "$(doorman_config 18088 18098 0 '')" 18098 info
# Cold: the pool is twice the cache, sent in turn, so every token misses (CLOCK evicts it
# before it comes round again) and is verified, inserted and evicted.
start_doorman cold "$(doorman_config 18083 18093 0 "$(printf '[cache]\nmax_entries = %d' $((TOKENS / 2 > 0 ? TOKENS / 2 : 1)))")" 18093
start_doorman nocache "$(doorman_config 18087 18097 0 $'[cache]\nenabled = false')" 18097

A="a upstream alone"
H="h HAProxy plain proxy"
N="n nginx plain proxy"
J="j HAProxy jwt_verify every request"
B="b doorman public route"
C="c doorman protected, same token (warm)"
L="l doorman warm, request log on"
P="p doorman protected, $TOKENS-token pool"
D="d doorman protected, every token a miss (cold)"
D0="d0 doorman protected, cache disabled"
E="e doorman redirect to sign-in"
AUTH=(-H "Authorization: Bearer $TOKEN")
echo "each run: wrk -t1 -c$CONNS -d$DURATION; $ROUNDS round(s)" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round" >&2
  measure "$A" "$UP_PID" "$CONNS" "$DURATION" "http://127.0.0.1:$PORT_UP/public/x"
  measure "$H" "$ha_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18081/public/x"
  measure "$N" "$ng_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18084/public/x"
  TOKEN_FILE="$WORK/tokens.txt" measure "$J" "$hajwt_PID" "$CONNS" "$DURATION" \
    "http://127.0.0.1:18082/" -s "$WORK/tokens.lua"
  measure "$B" "$dm_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18080/public/x"
  measure "$C" "$dm_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18080/api/projects/1" "${AUTH[@]}"
  measure "$L" "$dmlog_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18088/api/projects/1" "${AUTH[@]}"
  TOKEN_FILE="$WORK/tokens.txt" measure "$P" "$dm_PID" "$CONNS" "$DURATION" \
    "http://127.0.0.1:18080/" -s "$WORK/tokens.lua"
  TOKEN_FILE="$WORK/tokens.txt" measure "$D" "$cold_PID" "$CONNS" "$DURATION" \
    "http://127.0.0.1:18083/" -s "$WORK/tokens.lua"
  TOKEN_FILE="$WORK/tokens.txt" measure "$D0" "$nocache_PID" "$CONNS" "$DURATION" \
    "http://127.0.0.1:18087/" -s "$WORK/tokens.lua"
  measure "$E" "$dm_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18080/dashboard" -H "Accept: text/html"
done

echo
echo "doorman CPU µs per request against the targets (same run; lower is better):"
echo
table
hits=$(metric 18090 doorman_token_cache_hits_total)
misses=$(metric 18090 doorman_token_cache_misses_total)
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t) ? "met" : "NOT met"}'; }
cw=$(ratio "$C" "$H")
dj=$(ratio "$D" "$J")
echo
echo "| ratio | value | target |"
echo "|---|---:|---|"
echo "| c/h warm protected ÷ HAProxy plain proxy | $cw | ≤ 1.00: $(verdict "$cw" 1.00) |"
echo "| c/n warm protected ÷ nginx plain proxy | $(ratio "$C" "$N") | stretch ≤ 1.00 |"
echo "| d/j cold protected ÷ HAProxy verifying every token | $dj | ≤ 0.75: $(verdict "$dj" 0.75) |"
echo "| l−c what the request log line adds (CPU µs/request) | $(awk -v l="$(cpu "$L")" -v c="$(cpu "$C")" 'BEGIN {printf "%.1f", l - c}') | ≤ 1.0 |"
echo "| n/h nginx ÷ HAProxy, both plain | $(ratio "$N" "$H") | |"
echo "| p/h token pool (cache on) ÷ HAProxy plain proxy | $(ratio "$P" "$H") | |"
echo "| b/h public route ÷ HAProxy plain proxy | $(ratio "$B" "$H") | |"
echo "| c/b what auth adds to proxying | $(ratio "$C" "$B") | |"
echo "| d0/j cache disabled ÷ HAProxy verifying every token | $(ratio "$D0" "$J") | |"
echo "| d/c cold ÷ warm | $(ratio "$D" "$C") | |"
echo "| j/h HAProxy: verifying ÷ plain (reference: 61 ÷ 13) | $(ratio "$J" "$H") | |"
echo
if [ "${ALLOCS:-1}" = 1 ]; then
  echo
  echo "heap allocations per warm protected request (heaptrack):" \
    "$(alloc_per_request alloc "$(doorman_config 18089 18099 0 '')" 18099 \
      "http://127.0.0.1:18089/api/projects/1" "${AUTH[@]}")"
fi
echo "warm doorman token cache: $hits hits, $misses misses;" \
  "cold doorman: $(metric 18093 doorman_token_cache_hits_total) hits," \
  "$(metric 18093 doorman_token_cache_misses_total) misses"
