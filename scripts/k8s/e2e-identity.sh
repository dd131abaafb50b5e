#!/usr/bin/env bash
# User story: each sidecar's filter learns its workload identity from Envoy's
# node metadata (no per-pod configuration). The filter logs it once when it
# starts ("hfi: filter starting: service=S namespace=N pod=P ..."); for every
# frontend and productcatalog pod, S must be the app, N the namespace and P
# the pod. The demo pods set sidecar.istio.io/componentLogLevel: wasm:info so
# the line is not filtered out at Envoy's default warning level.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
require_hfi || exit "$E_ENV"
require_demo || exit "$E_ENV"

startup_line() { # POD -> the filter's last startup line in the sidecar log
  k -n "$DEMO_NAMESPACE" logs "$1" -c istio-proxy 2>/dev/null | grep -o 'hfi: filter starting: .*' | tail -1
}
has_startup_line() { [ -n "$(startup_line "$1")" ]; }

failed=0 checked=0
for app in frontend productcatalog; do
  while read -r pod; do
    [ -n "$pod" ] || continue
    checked=$((checked + 1))
    if ! wait_until 30 "filter startup line in $pod" has_startup_line "$pod"; then
      warn "no startup line: is the plugin loaded (e2e-plugin-loaded.sh) and the wasm log level info?"
      failed=1
      continue
    fi
    line="$(startup_line "$pod")"
    want="service=$app namespace=$DEMO_NAMESPACE pod=$pod "
    if [[ "$line" == *"$want"* ]]; then
      ok "$pod: $line"
    else
      fail "$pod: expected '$want' in: $line"
      failed=1
    fi
  done < <(pods_of "$app")
done
if [ "$checked" -eq 0 ]; then
  not_ready "no frontend/productcatalog pods running in $DEMO_NAMESPACE"
  exit "$E_ENV"
fi
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "identity resolved from node metadata in $checked sidecars"
exit "$E_PASS"
