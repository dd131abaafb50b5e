#!/usr/bin/env bash
# User story: control-plane restarts leave nothing behind in the sidecars.
# Envoy erases a gRPC stream's handler on a remote close only if the plugin
# closed the stream itself; a handler left behind keeps a stale stream
# pointer that the root context's destructor resets when the plugin is
# unloaded. The control plane is restarted ROUNDS times (default 3; each
# restart closes every config stream from the server side); after each, every
# frontend sidecar must be back to concurrency + 1 streams, both in
# `hfi policy status` and as open requests to the control-plane cluster in
# Envoy's /clusters (rq_active: nothing extra held open). Then the WasmPlugin
# is re-created, which destroys the old root contexts, and every sidecar must
# load it again without its istio-proxy container restarting, with Envoy LIVE
# and concurrency + 1 streams again.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

rounds="${ROUNDS:-3}"
plugin="hfi-fault-injection"
cp_cluster="outbound|9090||hfi-control-plane.$HFI_NAMESPACE.svc.cluster.local"
saved="$(mktemp)"
trap 'stop_port_forwards; rm -f "$saved"' EXIT
require_policy_e2e node base64 || exit "$E_ENV"
if ! k -n "$DEMO_NAMESPACE" get wasmplugin "$plugin" >/dev/null 2>&1; then
  not_ready "WasmPlugin $DEMO_NAMESPACE/$plugin is not installed"
  exit "$E_ENV"
fi
mapfile -t pods < <(pods_of frontend | grep .)
if [ ${#pods[@]} -eq 0 ]; then
  not_ready "no frontend pods running in $DEMO_NAMESPACE"
  exit "$E_ENV"
fi

declare -A want restarts
for p in "${pods[@]}"; do
  c="$(envoy_concurrency "$p")"
  [[ "$c" =~ ^[0-9]+$ ]] || { fail "$p: cannot read Envoy's concurrency (got '$c')"; exit "$E_FAIL"; }
  want[$p]=$((c + 1))
  restarts[$p]="$(proxy_restarts "$p")"
done

status_streams() { hfi policy status -o json | streams_by_pod | awk -v p="$1" '$1 == p {print $2}'; } # POD
open_requests() { # POD -> rq_active summed over the control-plane cluster's hosts
  k -n "$DEMO_NAMESPACE" exec "$1" -c istio-proxy -- pilot-agent request GET clusters 2>/dev/null |
    awk -F'::' -v c="$cp_cluster" '$1 == c && $3 == "rq_active" {s += $4} END {print s + 0}'
}
settled() { # POD: status and Envoy agree on concurrency + 1 streams
  [ "$(status_streams "$1")" = "${want[$1]}" ] && [ "$(open_requests "$1")" = "${want[$1]}" ]
}
check_all() { # WHEN
  local p bad=0
  for p in "${pods[@]}"; do
    if wait_until 90 "$p back to ${want[$p]} streams $1" settled "$p"; then
      ok "$p: ${want[$p]} streams, ${want[$p]} open requests to the control plane ($1)"
    else
      fail "$p $1: status shows $(status_streams "$p") streams, Envoy $(open_requests "$p") open requests; want ${want[$p]}"
      bad=1
    fi
  done
  return "$bad"
}
reconnect() { stop_port_forwards; connect_hfi >/dev/null || { fail "cannot reach the control plane again"; return 1; }; }

failed=0
check_all "before" || failed=1
for ((i = 1; i <= rounds; i++)); do
  info "control-plane restart $i/$rounds"
  k -n "$HFI_NAMESPACE" rollout restart deploy/hfi-control-plane >/dev/null || { fail "rollout restart failed"; exit "$E_FAIL"; }
  k -n "$HFI_NAMESPACE" rollout status deploy/hfi-control-plane --timeout=180s >/dev/null || { fail "control plane not ready after restart $i"; exit "$E_FAIL"; }
  reconnect || exit "$E_FAIL"
  check_all "after restart $i" || failed=1
done

info "re-creating WasmPlugin $plugin (the old root contexts are destroyed)"
k -n "$DEMO_NAMESPACE" get wasmplugin "$plugin" -o json |
  node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8"));for(const k of ["uid","resourceVersion","creationTimestamp","generation","managedFields"])delete o.metadata[k];delete o.status;console.log(JSON.stringify(o))' >"$saved" ||
  { fail "could not read WasmPlugin $plugin"; exit "$E_FAIL"; }
k -n "$DEMO_NAMESPACE" delete wasmplugin "$plugin" --wait=true >/dev/null || exit "$E_FAIL"
sleep 2
k apply -f "$saved" >/dev/null || { fail "re-applying WasmPlugin $plugin failed"; exit "$E_FAIL"; }
live() { k -n "$DEMO_NAMESPACE" exec "$1" -c istio-proxy -- pilot-agent request GET server_info 2>/dev/null | grep -q '"state": *"LIVE"'; }
for p in "${pods[@]}"; do
  if [ "$(proxy_restarts "$p")" != "${restarts[$p]}" ]; then
    fail "$p: istio-proxy restarted (restartCount ${restarts[$p]} -> $(proxy_restarts "$p")): see its previous log (kubectl logs -p)"
    failed=1
  elif ! wait_until 30 "$p Envoy LIVE" live "$p"; then
    failed=1
  fi
done
check_all "after the plugin reload" || failed=1
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "$rounds control-plane restarts and a plugin reload: no extra streams, no sidecar restart (${#pods[@]} sidecars)"
exit "$E_PASS"
