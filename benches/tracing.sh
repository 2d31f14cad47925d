#!/bin/bash
# Tracing overhead: doorman built without OpenTelemetry (`--no-default-features`, "none"),
# and the default build with [telemetry] off and on (OTLP/HTTP to a local sink), interleaved,
# one worker pinned to CPU 0, wrk (1 thread, 64 connections, keep-alive) and the upstream on
# CPU 1. CPU us/request = (utime+stime ticks delta) * 10000 / requests.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# Its own target directory, so neither build undoes the other's features.
cargo build --release --quiet --no-default-features --bin doorman --target-dir target/no-otel
cp target/no-otel/release/doorman "$WORK/doorman-none"
cargo build --release --quiet --bin doorman --example fast_upstream
./target/release/doorman token keygen --out "$WORK/key.pem" > "$WORK/jwks.json"
# shellcheck source=benches/tracing_cfg.sh
source benches/tracing_cfg.sh
BIN=target/release/doorman; UP=target/release/examples/fast_upstream
D=${D:-10s}
pids=()
taskset -c 1 $UP 127.0.0.1:13100 >/dev/null 2>&1 & pids+=($!)
python3 benches/otlp_sink.py 14318 & pids+=($!)
cfg 18180 18190 "" > "$WORK/off.toml"
cfg 18181 18191 $'[telemetry]\notlp_endpoint = "http://127.0.0.1:14318/v1/traces"' > "$WORK/on.toml"
cfg 18182 18192 "" > "$WORK/none.toml"
RUST_LOG=warn taskset -c 0 "$WORK/doorman-none" --config "$WORK/none.toml" 2>/dev/null & NONE=$!; pids+=($NONE)
RUST_LOG=warn taskset -c 0 $BIN --config "$WORK/off.toml" 2>/dev/null & OFF=$!; pids+=($OFF)
RUST_LOG=warn taskset -c 0 $BIN --config "$WORK/on.toml" 2>/dev/null & ON=$!; pids+=($ON)
sleep 2
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
measure() { # name pid port
  taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:$3/public/x >/dev/null 2>&1
  local t0=$(ticks $2)
  local out=$(taskset -c 1 wrk -t1 -c64 -d$D http://127.0.0.1:$3/public/x 2>&1)
  local t1=$(ticks $2)
  local n=$(echo "$out" | awk '/requests in/{print $1}')
  local rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  echo "$1 requests=$n rps=$rps cpu_us_per_req=$(python3 -c "print(round(($t1-$t0)*10000/$n,2))")"
}
for round in 1 2 3; do
  measure "none round$round" $NONE 18182
  measure "off  round$round" $OFF 18180
  measure "on  round$round" $ON 18181
done
kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
