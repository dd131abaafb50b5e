#!/usr/bin/env bash
# User story: each sidecar holds exactly one config stream per Wasm VM that
# lives: one per Envoy worker plus one for Envoy's main thread, and none left
# from proxy-wasm-cpp-host's configuration canary. For every frontend and
# productcatalog pod: streams in `hfi policy status` = Envoy's concurrency
# (from its /server_info) + 1, and at least one of them is idle (the main
# thread's VM never serves a request). Traffic is sent first so that workers
# that get requests report serving.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

trap stop_port_forwards EXIT
require_policy_e2e node base64 || exit "$E_ENV"

for app in frontend productcatalog; do
  http_codes "http://$app.$DEMO_NAMESPACE.svc.cluster.local/" 20 >/dev/null || true
done

pod_line() { hfi policy status -o json | streams_by_pod | awk -v p="$1" '$1 == p'; } # POD
has_streams() { [ "$(pod_line "$1" | awk '{print $2}')" = "$2" ]; }            # POD N

failed=0 checked=0
for app in frontend productcatalog; do
  while read -r pod; do
    [ -n "$pod" ] || continue
    checked=$((checked + 1))
    concurrency="$(envoy_concurrency "$pod")"
    if ! [[ "$concurrency" =~ ^[0-9]+$ ]]; then
      fail "$pod: cannot read Envoy's concurrency from server_info (got '$concurrency')"
      failed=1
      continue
    fi
    want=$((concurrency + 1))
    if ! wait_until 60 "$want streams from $pod" has_streams "$pod" "$want"; then
      line="$(pod_line "$pod")"
      fail "$pod: ${line:-no} streams (pod streams idle ...): want concurrency $concurrency + 1 = $want"
      failed=1
      continue
    fi
    read -r _ n idle _ < <(pod_line "$pod")
    if [ "$idle" -lt 1 ]; then
      fail "$pod: $n streams but none idle: the main thread's VM should never report serving"
      failed=1
    else
      ok "$pod: $n streams = concurrency $concurrency + 1 (main thread), $idle idle"
    fi
  done < <(pods_of "$app")
done
if [ "$checked" -eq 0 ]; then
  not_ready "no frontend/productcatalog pods running in $DEMO_NAMESPACE"
  exit "$E_ENV"
fi
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "streams per sidecar = concurrency + 1 in $checked sidecars"
exit "$E_PASS"
