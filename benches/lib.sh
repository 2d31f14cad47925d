# Shared by benches/load.sh and benches/scale.sh (sourced, not run): installs what the
# benchmarks need, builds release, writes configs and tokens, starts processes pinned to a
# CPU and measures one load run of one process. Everything started is recorded in PIDS and
# stopped by PID on exit; nothing else is touched.

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need haproxy haproxy
need nginx nginx
need taskset util-linux
need curl curl
need openssl openssl
need ss iproute2

# CPU 0 runs the proxy being measured; CPU 1 the load generator and the upstream.
# WORKERS=2: every proxy gets two threads (doorman workers, HAProxy nbthread, nginx worker
# processes) and both CPUs, shared with the load generator.
WORKERS=${WORKERS:-1}
if [ "$WORKERS" -gt 1 ]; then
  PROXY_CPU=${PROXY_CPU:-0-1}
  LOAD_CPU=${LOAD_CPU:-0-1}
fi
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet --bin doorman --example fast_upstream
BIN=target/release/doorman
UP=target/release/examples/fast_upstream
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ISSUER="https://clerk.bench.example"
$BIN token keygen --out "$WORK/key.pem" --kid bench >"$WORK/jwks.json"
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null

# The claims of user N ({n} is replaced by `token mint --count`).
CLAIMS='{"iss":"'$ISSUER'","sub":"user_{n}","sid":"sess_{n}","metadata":{"onboarding":"completed","roles":[{"name":"member","permissions":["view_project"]}]}}'

# mint_tokens COUNT FILE: COUNT distinct tokens valid for 2 hours, one per line.
mint_tokens() {
  if [ "$1" -gt 1 ]; then
    $BIN token mint --key "$WORK/key.pem" --kid bench --ttl 2h --count "$1" --claims "$CLAIMS" >"$2"
  else
    $BIN token mint --key "$WORK/key.pem" --kid bench --ttl 2h --claims "${CLAIMS//\{n\}/1}" >"$2"
  fi
}

# doorman_config PORT ADMIN_PORT EXTRA_ROUTES CACHE_TOML: a config with the bench routes.
doorman_config() {
  cat <<TOML
[server]
listen = "127.0.0.1:$1"
admin_listen = "127.0.0.1:$2"
workers = $WORKERS
[clerk]
issuer = "$ISSUER"
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
  local i
  for ((i = 0; i < $3; i++)); do
    printf '[[routes]]\nname = "gen%d"\npath = "/area%d/section%d/{id}/item%d/**"\npermissions_any = ["p%d", "view_project"]\n' \
      "$i" $((i % 10)) $((i % 7)) "$i" "$i"
  done
  echo "$4"
}

# haproxy_config PORT MAXCONN JWT(0|1)
haproxy_config() {
  cat <<HA
global
  nbthread $WORKERS
  maxconn $2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$1
HA
  if [ "$3" = 1 ]; then
    # What docs/performance.md's "jwt_verify on every request + path rules + identity header" does.
    cat <<HA
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$WORK/pub.pem") -m int 1 }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.now) date
  http-request deny status 401 if { var(txn.exp),sub(txn.now) -m int le 0 }
  http-request deny status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str $ISSUER }
  http-request deny status 403 unless { path_beg /api/projects/ }
  http-request del-header x-user-id
  http-request set-header X-User-Id %[var(txn.bearer),jwt_payload_query('\$.sub')]
HA
  fi
  cat <<HA
  default_backend be
backend be
  server up 127.0.0.1:$PORT_UP maxconn $2
HA
}

# port_free PORT: fails the benchmark when something already listens on PORT.
port_free() {
  if ss -ltn "sport = :$1" | grep -q LISTEN; then
    echo "port $1 is in use; stop what listens there (ss -ltnp 'sport = :$1') and rerun" >&2
    exit 1
  fi
}

# start_upstream: the fast upstream on LOAD_CPU.
start_upstream() {
  port_free "$PORT_UP"
  taskset -c "$LOAD_CPU" "$UP" "127.0.0.1:$PORT_UP" &
  PIDS+=($!)
  UP_PID=$!
}

# start_doorman NAME CONFIG_TEXT ADMIN_PORT [RUST_LOG]: sets <NAME>_PID, waits until
# ready. Logs go to $WORK/NAME.log; RUST_LOG defaults to `error` (no request lines).
start_doorman() {
  local name=$1 admin=$3 pid
  port_free "$admin"
  echo "$2" >"$WORK/$name.toml"
  RUST_LOG=${4:-error} taskset -c "$PROXY_CPU" "$BIN" --config "$WORK/$name.toml" 2>"$WORK/$name.log" &
  pid=$!
  PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  local deadline=$((SECONDS + 30))
  until curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "doorman $name did not become ready" >&2; exit 1; }
    sleep 0.1
  done
}

# start_haproxy NAME CONFIG_TEXT: sets <NAME>_PID.
start_haproxy() {
  local name=$1 pid
  echo "$2" >"$WORK/$name.cfg"
  taskset -c "$PROXY_CPU" haproxy -f "$WORK/$name.cfg" -db >/dev/null 2>&1 &
  pid=$!
  PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  sleep 0.3
  kill -0 "$pid" 2>/dev/null || { echo "haproxy $name did not start: haproxy -f $WORK/$name.cfg -db" >&2; exit 1; }
}

# nginx_config PORT: a plain keep-alive proxy to the upstream, no access log, one process
# (master_process off) so its PID is the one doing the work.
nginx_config() {
  cat <<NG
master_process off;
daemon off;
worker_processes $WORKERS;
error_log $WORK/nginx-error.log error;
pid $WORK/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  upstream up { server 127.0.0.1:$PORT_UP; keepalive 256; }
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NG
}

# start_nginx NAME CONFIG_TEXT: sets <NAME>_PID. With WORKERS > 1 nginx needs its master
# process; the CPU is then summed over the master's workers (see nginx_ticks).
start_nginx() {
  local name=$1 pid
  echo "$2" >"$WORK/$name.conf"
  if [ "$WORKERS" -gt 1 ]; then
    sed -i 's/^master_process off;/master_process on;/' "$WORK/$name.conf"
  fi
  taskset -c "$PROXY_CPU" nginx -c "$WORK/$name.conf" -p "$WORK" >/dev/null 2>&1 &
  pid=$!
  PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  sleep 0.3
  kill -0 "$pid" 2>/dev/null || { echo "nginx $name did not start: nginx -c $WORK/$name.conf -p $WORK" >&2; exit 1; }
}

# alloc_per_request NAME CONFIG_TEXT ADMIN_PORT URL [wrk args...]: heap allocations per
# request of one doorman scenario, counted by heaptrack (installed when missing): two runs
# of different lengths, so start-up and connection set-up cancel out of the difference.
alloc_per_request() {
  need heaptrack heaptrack
  local name=$1 cfg=$2 admin=$3 url=$4 d allocs reqs pid
  shift 4
  echo "$cfg" >"$WORK/$name.toml"
  for d in 1 4; do
    port_free "$admin"
    RUST_LOG=error heaptrack -o "$WORK/heap-$d" "$BIN" --config "$WORK/$name.toml" >/dev/null 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 60))
    until curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; do
      [ $SECONDS -lt $deadline ] || { echo "doorman $name (heaptrack) did not become ready" >&2; exit 1; }
      sleep 0.2
    done
    reqs[$d]=$(wrk -t1 -c64 -d"${d}s" "$@" "$url" | awk '/requests in/ {print $1}')
    pkill -INT -P "$pid" 2>/dev/null || true
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    allocs[$d]=$(heaptrack_print "$WORK/heap-$d".* 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}')
  done
  awk -v a1="${allocs[1]}" -v a4="${allocs[4]}" -v r1="${reqs[1]}" -v r4="${reqs[4]}" \
    'BEGIN {printf "%.1f", (a4 - a1) / (r4 - r1)}'
}

# A wrk script that sends the tokens of $TOKEN_FILE in turn, one per request.
cat >"$WORK/tokens.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("TOKEN_FILE")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", os.getenv("TOKEN_PATH") or "/api/projects/1",
    { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# ticks_all PID: CPU ticks of PID and its children (nginx's workers under a master).
ticks_all() {
  local total pid
  total=$(ticks "$1")
  for pid in $(pgrep -P "$1" 2>/dev/null); do total=$((total + $(ticks "$pid"))); done
  echo "$total"
}

# measure NAME PID CONNS DURATION URL [wrk args...]: one wrk run against PID; prints and
# appends to $RESULTS: name, CPU µs/request of PID, req/s, p50, p99, peak RSS (MiB).
measure() {
  local name=$1 pid=$2 conns=$3 duration=$4 url=$5
  shift 5
  local before after out reqs rps p50 p99 cpu rss non2xx
  before=$(ticks_all "$pid")
  out=$(taskset -c "$LOAD_CPU" wrk -t"$WORKERS" -c"$conns" -d"$duration" --latency "$@" "$url")
  after=$(ticks_all "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx/ {print $5}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  cpu=$(awk -v a="$after" -v b="$before" -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.1f", (a - b) / hz * 1e6 / n}')
  rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  [ -z "$non2xx" ] || echo "  note: $name: $non2xx responses were not 2xx/3xx" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$cpu" "$rps" "$p50" "$p99" "$rss" >>"$RESULTS"
  printf '  %-44s %8s µs/req %9s req/s\n' "$name" "$cpu" "$rps" >&2
}

# table: for each scenario (in first-seen order) the run with the median CPU µs/request.
table() {
  printf '| %s | %s | %s | %s | %s | %s |\n' scenario "req/s" p50 p99 "CPU µs/req" "peak RSS MiB"
  echo "|---|---:|---:|---:|---:|---:|"
  awk -F'\t' '!seen[$1]++ {print $1}' "$RESULTS" | while IFS= read -r name; do
    awk -F'\t' -v n="$name" '$1 == n' "$RESULTS" | sort -t$'\t' -k2,2g |
      awk -F'\t' '{row[NR] = $0} END {split(row[int((NR + 1) / 2)], f, "\t");
        printf "| %s | %s | %s | %s | %s | %s |\n", f[1], f[3], f[4], f[5], f[2], f[6]}'
  done
}

# cpu NAME: the median CPU µs/request of a scenario.
cpu() {
  awk -F'\t' -v n="$1" '$1 == n {print $2}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# ratio A B: cpu(A) / cpu(B).
ratio() { awk -v a="$(cpu "$1")" -v b="$(cpu "$2")" 'BEGIN {printf "%.2f", a / b}'; }

# metric PORT NAME: an unlabelled value from doorman's /metrics.
metric() { curl -fs "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }
