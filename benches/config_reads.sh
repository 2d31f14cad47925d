#!/usr/bin/env bash
# How often an idle doorman reads its config file: starts BIN (default: this checkout's
# release build) under strace, edits the config once after 2 s, and counts the opens of the
# config file over DURATION seconds (default 60). A settled reload reads once at start and
# once for the edit.
#
#   benches/config_reads.sh [BIN] [DURATION]      (needs strace; installed with apt-get when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/doorman}")
DURATION=${2:-60}
[ -x "$BIN" ] || cargo build --release
command -v strace >/dev/null || { apt-get update -qq && apt-get install -y -qq strace >/dev/null; }
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" token keygen --out "$WORK/key.pem" --kid k >"$WORK/jwks.json"
cat >"$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[clerk]
issuer = "https://clerk.example"
jwks_file = "$WORK/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:9"
[[routes]]
name = "public"
path = "/**"
access = "public"
TOML
strace -f -e trace=openat -o "$WORK/trace.txt" "$BIN" --config "$WORK/config.toml" 2>/dev/null &
PID=$!
sleep 2
echo "# edited" >>"$WORK/config.toml"
sleep "$DURATION"
echo "$(grep -c 'config.toml' "$WORK/trace.txt") opens of the config file in $((DURATION + 2)) s (one at start, one per edit when settled)"
