#!/usr/bin/env bash
# Before/after benchmark of doorman's warm path: two doorman binaries against the same
# upstream, interleaved in one run, each as a ratio to the upstream alone.
#
#   benches/compare.sh BEFORE_BIN [DURATION] [CONNECTIONS]     (defaults: 10s, 64)
#   env: ROUNDS=3
#
# BEFORE_BIN is a doorman binary built from the commit to compare with, e.g.
#   git worktree add /tmp/before <commit> && (cd /tmp/before && cargo build --release)
# The "after" binary is this checkout's release build. Scenarios: the upstream alone, and
# for each binary a public route and a protected route with the same token (warm cache).
# Prints CPU µs per request of each process (median round) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$(realpath "${1:?usage: benches/compare.sh BEFORE_BIN [DURATION] [CONNECTIONS]}")
DURATION=${2:-10s}
CONNS=${3:-64}
ROUNDS=${ROUNDS:-3}
PORT_UP=13000
# shellcheck source=benches/lib.sh
source benches/lib.sh
RESULTS="$WORK/results.tsv"
AFTER=$BIN

mint_tokens 1 "$WORK/token.txt"
TOKEN=$(cat "$WORK/token.txt")
start_upstream
BIN=$BEFORE start_doorman old "$(doorman_config 18180 18190 0 '')" 18190
BIN=$AFTER start_doorman new "$(doorman_config 18280 18290 0 '')" 18290

A="a upstream alone"
OB="before: public route"
NB="after: public route"
OC="before: protected, warm"
NC="after: protected, warm"
AUTH=(-H "Authorization: Bearer $TOKEN")
echo "each run: wrk -t1 -c$CONNS -d$DURATION; $ROUNDS round(s)" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round" >&2
  measure "$A" "$UP_PID" "$CONNS" "$DURATION" "http://127.0.0.1:$PORT_UP/public/x"
  measure "$OB" "$old_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18180/public/x"
  measure "$NB" "$new_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18280/public/x"
  measure "$OC" "$old_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18180/api/projects/1" "${AUTH[@]}"
  measure "$NC" "$new_PID" "$CONNS" "$DURATION" "http://127.0.0.1:18280/api/projects/1" "${AUTH[@]}"
done

echo
table
echo
echo "| ratio | before | after | after ÷ before |"
echo "|---|---:|---:|---:|"
for pair in "public route:$OB:$NB" "protected, warm:$OC:$NC"; do
  IFS=: read -r label old new <<<"$pair"
  rb=$(ratio "$old" "$A")
  ra=$(ratio "$new" "$A")
  echo "| $label ÷ upstream alone | $rb | $ra | $(ratio "$new" "$old") |"
done
