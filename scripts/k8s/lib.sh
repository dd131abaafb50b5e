#!/usr/bin/env bash
# Shared helpers for scripts/k8s/*.sh (sourced, not run).
#
# Exit codes used by every script: 0 pass, 1 fail, 2 environment not ready
# (missing tool, unreachable cluster, Istio or HFI not installed).
# Environment knobs:
#   KUBECTL        kubectl binary (default: kubectl)
#   HFI_NAMESPACE  control-plane namespace (default: boifi)
#   DEMO_NAMESPACE example namespace (default: demo)
#   NO_COLOR       disable colours (they are only used on a terminal anyway)

# shellcheck disable=SC2034  # constants are used by the scripts sourcing this file
readonly E_PASS=0 E_FAIL=1 E_ENV=2

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"
HFI_NAMESPACE="${HFI_NAMESPACE:-boifi}"
DEMO_NAMESPACE="${DEMO_NAMESPACE:-demo}"
export REPO_ROOT KUBECTL HFI_NAMESPACE DEMO_NAMESPACE

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  _c_red=$'\033[31m' _c_green=$'\033[32m' _c_yellow=$'\033[33m' _c_blue=$'\033[34m' _c_off=$'\033[0m'
else
  _c_red="" _c_green="" _c_yellow="" _c_blue="" _c_off=""
fi

info() { printf '%s==>%s %s\n' "$_c_blue" "$_c_off" "$*"; }
ok() { printf '%sPASS%s %s\n' "$_c_green" "$_c_off" "$*"; }
warn() { printf '%sWARN%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
fail() { printf '%sFAIL%s %s\n' "$_c_red" "$_c_off" "$*" >&2; }
# not_ready MESSAGE: report an environment problem (exit code 2 territory).
not_ready() { printf '%sNOT READY%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }

k() { "$KUBECTL" "$@"; }

# require_cmds CMD...: every command must be on PATH; names all missing ones.
require_cmds() {
  local missing=() c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    not_ready "missing on PATH: ${missing[*]}"
    return 1
  fi
}

# require_cluster: kubectl present and the API server answers.
require_cluster() {
  require_cmds "$KUBECTL" || return 1
  if ! k version --request-timeout=5s >/dev/null 2>&1 && ! k get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
    not_ready "no Kubernetes cluster reachable with $KUBECTL (context: $(k config current-context 2>/dev/null || echo none))"
    return 1
  fi
}

# require_istio: Istio's CRDs and istiod are installed.
require_istio() {
  local crd
  for crd in wasmplugins.extensions.istio.io authorizationpolicies.security.istio.io peerauthentications.security.istio.io; do
    if ! k get crd "$crd" >/dev/null 2>&1; then
      not_ready "Istio is not installed (CRD $crd missing): install Istio 1.24+ (istioctl install)"
      return 1
    fi
  done
  if ! k get deploy -A -l app=istiod -o name 2>/dev/null | grep -q .; then
    not_ready "istiod is not running"
    return 1
  fi
}

# require_hfi: the control plane is deployed (install.sh or kubectl apply -k k8s/).
require_hfi() {
  if ! k -n "$HFI_NAMESPACE" get deploy hfi-control-plane >/dev/null 2>&1; then
    not_ready "HFI is not installed in namespace $HFI_NAMESPACE (run scripts/k8s/install.sh)"
    return 1
  fi
}

# require_demo: the example apps from k8s/examples are deployed.
require_demo() {
  local d
  for d in frontend productcatalog client; do
    if ! k -n "$DEMO_NAMESPACE" get deploy "$d" >/dev/null 2>&1; then
      not_ready "demo app $d missing in namespace $DEMO_NAMESPACE (kubectl apply -k k8s/examples or install.sh)"
      return 1
    fi
  done
}

# require_docker: a Docker client and a reachable engine.
require_docker() {
  require_cmds docker || return 1
  if ! timeout 15 docker info >/dev/null 2>&1; then
    not_ready "no Docker engine reachable (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}): start Docker or point DOCKER_HOST at one"
    return 1
  fi
}

# wait_until TIMEOUT_S DESCRIPTION CMD...: retry CMD every second until it
# succeeds; returns 1 (after saying what timed out) when TIMEOUT_S passes.
wait_until() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "timed out after ${timeout}s waiting for: $what"
      return 1
    fi
    sleep 1
  done
}

# elapsed_since START: seconds since START (a $SECONDS value).
elapsed_since() { echo $((SECONDS - $1)); }

# api_token: the management API token from the hfi-api-token Secret.
api_token() {
  k -n "$HFI_NAMESPACE" get secret hfi-api-token -o jsonpath='{.data.token}' | base64 -d
}

# random_token: 64 hex chars without requiring openssl.
random_token() {
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

_pf_pids=()
# port_forward TARGET LOCAL:REMOTE [NAMESPACE]: background kubectl
# port-forward, stopped by stop_port_forwards (scripts trap EXIT to call it).
port_forward() {
  local target="$1" ports="$2" ns="${3:-$HFI_NAMESPACE}" log
  log="$(mktemp)"
  k -n "$ns" port-forward "$target" "$ports" --address 127.0.0.1 >"$log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 20))
  _pf_pids+=("$pid")
  until grep -q "Forwarding from" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      fail "port-forward $ns/$target $ports did not start: $(cat "$log")"
      rm -f "$log"
      return 1
    fi
    sleep 0.2
  done
  rm -f "$log"
}

stop_port_forwards() {
  local p
  for p in "${_pf_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  _pf_pids=()
}

# free_port: an unused local TCP port.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# hfi ARGS...: the repo's CLI against the port-forwarded control plane
# (HFI_SERVER / HFI_TOKEN are set by connect_hfi).
hfi() { node "$REPO_ROOT/cli/bin/hfi.js" "$@"; }

# connect_hfi: port-forward the control plane's gRPC port and export
# HFI_SERVER and HFI_TOKEN for `hfi policy ...`.
connect_hfi() {
  local port
  port="$(free_port)" || return 1
  port_forward svc/hfi-control-plane "$port:9090" || return 1
  HFI_SERVER="127.0.0.1:$port"
  HFI_TOKEN="$(api_token)" || return 1
  export HFI_SERVER HFI_TOKEN
}

# require_policy_e2e CMD...: preflight of the policy-driven e2e scripts: the
# commands exist, the demo stack is up, the control plane is reachable.
# Returns non-zero (the caller exits E_ENV) after naming what is missing.
require_policy_e2e() {
  require_cmds "$@" && require_cluster && require_istio && require_hfi &&
    require_demo && connect_hfi
}

# in_client CMD...: run CMD in the in-mesh client pod of the demo namespace.
in_client() { k -n "$DEMO_NAMESPACE" exec deploy/client -c curl -- "$@"; }

# http_codes URL N: N requests from the client pod, one status code per line.
http_codes() {
  local url="$1" n="$2"
  in_client sh -c "i=0; while [ \$i -lt $n ]; do curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 '$url'; i=\$((i+1)); done"
}

# pods_of APP: names of the demo pods labelled app=APP.
pods_of() { k -n "$DEMO_NAMESPACE" get pods -l "app=$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }

# proxy_stats POD [FILTER]: Envoy stats of a sidecar via pilot-agent.
proxy_stats() {
  k -n "$DEMO_NAMESPACE" exec "$1" -c istio-proxy -- pilot-agent request GET "stats${2:+?filter=$2}"
}

# proxy_prometheus POD: the merged Prometheus endpoint pilot-agent serves on
# POD_IP:15020, fetched from the client pod the way Prometheus scrapes it.
proxy_prometheus() {
  local ip
  ip="$(k -n "$DEMO_NAMESPACE" get pod "$1" -o jsonpath='{.status.podIP}')" || return 1
  in_client curl -s --max-time 10 "http://$ip:15020/stats/prometheus"
}

_applied_policies=()
# apply_policy NAME YAML: apply a policy document through the CLI (stdin);
# cleanup_policy deletes it again.
apply_policy() {
  _applied_policies+=("$1")
  printf '%s\n' "$2" | hfi policy apply -f - >/dev/null
}

# apply_abort_policy NAME SERVICE PERCENTAGE: apply policy NAME aborting
# PERCENTAGE % of the requests to SERVICE (demo namespace) with 503.
apply_abort_policy() {
  apply_policy "$1" "metadata:
  name: $1
spec:
  selector:
    service: $2
    namespace: $DEMO_NAMESPACE
  rules:
    - fault:
        percentage: $3
        abort:
          http_status: 503"
}

delete_policy() { hfi policy delete "$1" >/dev/null 2>&1 || true; }

# cleanup_policy NAME: delete a test policy on exit, reconnecting when the
# port-forward is gone, then stop every port-forward.
cleanup_policy() {
  if [ ${#_applied_policies[@]} -eq 0 ]; then
    stop_port_forwards
    return 0
  fi
  if ! { [ -n "${HFI_SERVER:-}" ] && hfi policy delete "$1" >/dev/null 2>&1; }; then
    stop_port_forwards
    connect_hfi >/dev/null 2>&1 && delete_policy "$1"
  fi
  stop_port_forwards
}

# sidecar_pods: running pods of the demo namespace that have an injected sidecar
# (by the injector's status annotation, so native sidecars count too).
sidecar_pods() {
  k -n "$DEMO_NAMESPACE" get pods --field-selector=status.phase=Running \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.annotations.sidecar\.istio\.io/status}{"\n"}{end}' |
    awk 'NF > 1 {print $1}'
}

# streams_by_pod: from `hfi policy status -o json` (stdin), one line per pod
# of the demo namespace: "POD STREAMS IDLE SERVICE VERSION SERVICE_SOURCE"
# (empty fields as "-"; key spelling snake_case or lowerCamel).
streams_by_pod() {
  node -e '
    const st = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const get = (o, a, b) => (o && (o[a] ?? o[b])) ?? "";
    const by = new Map();
    for (const p of st.proxies ?? []) {
      const id = p.identity ?? {};
      if (id.namespace !== process.argv[1]) continue;
      const e = by.get(id.pod) ?? { n: 0, idle: 0, service: id.service || "-", version: id.version || "-", source: get(id, "service_source", "serviceSource") || "-" };
      e.n++;
      if (p.idle) e.idle++;
      by.set(id.pod, e);
    }
    for (const [pod, e] of by) console.log([pod, e.n, e.idle, e.service, e.version, e.source.replace(/ /g, "_")].join(" "));
  ' "$DEMO_NAMESPACE"
}

# envoy_concurrency POD: the worker count the sidecar's Envoy runs with
# (command_line_options.concurrency of its /server_info).
envoy_concurrency() {
  k -n "$DEMO_NAMESPACE" exec "$1" -c istio-proxy -- pilot-agent request GET server_info 2>/dev/null |
    node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(s.command_line_options.concurrency)'
}

# proxy_restarts POD: restart count of the pod's istio-proxy container.
proxy_restarts() {
  k -n "$DEMO_NAMESPACE" get pod "$1" -o jsonpath='{range .status.containerStatuses[?(@.name=="istio-proxy")]}{.restartCount}{end}{range .status.initContainerStatuses[?(@.name=="istio-proxy")]}{.restartCount}{end}'
}
