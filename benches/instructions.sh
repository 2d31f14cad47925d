#!/usr/bin/env bash
# Instructions doorman executes per request (valgrind callgrind, exact and noise-free): the
# process runs under callgrind twice, serving N1 and then N2 keep-alive GETs of a public
# route from one client, and the totals are differenced, so start-up and shutdown cancel.
#
#   benches/instructions.sh [BIN...]     (default: this checkout's release build)
#   e.g. benches/instructions.sh target/no-otel/release/doorman target/release/doorman
# Needs valgrind (installed with apt-get when missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N1=500
N2=2500
[ $# -gt 0 ] || set -- target/release/doorman
[ -x target/release/examples/fast_upstream ] || cargo build --release --example fast_upstream
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
WORK=$(mktemp -d)
UP=target/release/examples/fast_upstream
"$UP" 127.0.0.1:18902 &
UP_PID=$!
trap 'kill "$UP_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$1" token keygen --out "$WORK/key.pem" --kid k >"$WORK/jwks.json"
cat >"$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:18900"
admin_listen = "127.0.0.1:18901"
workers = 1
[clerk]
issuer = "https://clerk.bench.example"
jwks_file = "$WORK/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:18902"
[[routes]]
name = "public"
path = "/public/**"
access = "public"
TOML
for bin in "$@"; do
  total=()
  for n in $N1 $N2; do
    RUST_LOG=error valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$n" "$bin" --config "$WORK/config.toml" 2>/dev/null &
    pid=$!
    for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18901/readyz >/dev/null 2>&1 && break; sleep 0.3; done
    python3 - "$n" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", 18900)
for _ in range(int(sys.argv[1])):
    c.request("GET", "/public/x")
    c.getresponse().read()
PY
    kill -INT "$pid"
    wait "$pid" 2>/dev/null || true
    total+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/cg.$n")")
  done
  echo "$bin: $(((total[1] - total[0]) / (N2 - N1))) instructions per request"
done
