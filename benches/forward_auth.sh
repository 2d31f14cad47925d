#!/usr/bin/env bash
# Forward-auth against inline, in one run: CPU µs per authorization call (warm token) of
# doorman answering nginx's and Traefik's calls, against the same request forwarded inline.
#
#   benches/forward_auth.sh [DURATION] [CONNECTIONS]      (defaults: 10s, 64)
#   env: ROUNDS=3   interleaved rounds; each row is the round with the median CPU/request
#
# One doorman (one worker, CPU 0) serves both its public listener and [forward_auth]; wrk
# (CPU 1) sends the same protected request, same valid token every time (cache warm):
#   c  inline: GET /api/projects/1 forwarded to the fast upstream (examples/fast_upstream.rs)
#   fn nginx dialect: GET /nginx with X-Original-Method/-URI, answered 200 (nothing forwarded)
#   ft Traefik dialect: GET /traefik with X-Forwarded-Method/-Uri/-Host/-Proto
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONNS=${2:-64}
ROUNDS=${ROUNDS:-3}
PORT_UP=13000
# shellcheck source=benches/lib.sh
source benches/lib.sh
RESULTS="$WORK/results.tsv"

mint_tokens 1 "$WORK/token.txt"
TOKEN=$(cat "$WORK/token.txt")
start_upstream
port_free 18180
port_free 18191
config="$(doorman_config 18180 18190 0 $'[forward_auth]\nlisten = "127.0.0.1:18191"')"
config="${config/workers = 1/workers = 1
trusted_proxies = [\"127.0.0.1/32\"]}"
start_doorman fa "$config" 18190

C="c inline, protected, same token (forwarded)"
FN="fn forward-auth nginx, same token (answered)"
FT="ft forward-auth Traefik, same token (answered)"
AUTH=(-H "Authorization: Bearer $TOKEN")
echo "each run: wrk -t1 -c$CONNS -d$DURATION; $ROUNDS round(s)" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round" >&2
  measure "$C" "$fa_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18180/api/projects/1" "${AUTH[@]}"
  measure "$FN" "$fa_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18191/nginx" "${AUTH[@]}" \
    -H "X-Original-Method: GET" -H "X-Original-URI: /api/projects/1" -H "X-Forwarded-Host: shop.example"
  measure "$FT" "$fa_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18191/traefik" "${AUTH[@]}" \
    -H "X-Forwarded-Method: GET" -H "X-Forwarded-Uri: /api/projects/1" \
    -H "X-Forwarded-Host: shop.example" -H "X-Forwarded-Proto: https"
done
echo
echo "doorman CPU µs per request (same run; lower is better):"
echo
table
echo
echo "| ratio | value |"
echo "|---|---:|"
echo "| fn/c nginx forward-auth call ÷ inline forward | $(ratio "$FN" "$C") |"
echo "| ft/c Traefik forward-auth call ÷ inline forward | $(ratio "$FT" "$C") |"
echo
echo "forward-auth decisions: $(metric 18190 'doorman_requests_total{route="projects",decision="forward",mode="forward_auth"}')"
