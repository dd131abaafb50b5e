#!/usr/bin/env bash
# User story: the filter's metrics and the policy status are visible without
# restarting anything. After faults are injected, a frontend sidecar shows
#   - wasmcustom.hfi_faults_aborts_total in Envoy's stats (pilot-agent), and
#   - wasmcustom_hfi_faults_aborts_total on the Prometheus endpoint that the
#     pod's prometheus.io annotations point at (pilot-agent :15020/stats/prometheus);
# and `hfi policy status` reports the policy.
# PROMETHEUS_URL (optional, e.g. a port-forwarded Prometheus) also queries it.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

policy="e2e-metrics"
frontend="http://frontend.$DEMO_NAMESPACE.svc.cluster.local/"
trap 'cleanup_policy "$policy"' EXIT

require_policy_e2e node base64 || exit "$E_ENV"

apply_abort_policy "$policy" frontend 100 || { fail "could not apply $policy"; exit "$E_FAIL"; }
some_aborted() { http_codes "$frontend" 5 | grep -q '^503$'; }
wait_until 30 "requests to frontend aborted" some_aborted || exit "$E_FAIL"
http_codes "$frontend" 20 >/dev/null

failed=0
mapfile -t pods < <(pods_of frontend | grep .)
for p in "${pods[@]}"; do
  stats="$(proxy_stats "$p" hfi_ 2>/dev/null)"
  if grep -Eq '^(wasmcustom\.)?hfi_faults_aborts_total: [1-9]' <<<"$stats"; then
    ok "$p: Envoy stats have $(grep -E 'hfi_faults_aborts_total' <<<"$stats" | head -1)"
    prom="$(proxy_prometheus "$p" 2>/dev/null | grep -E '^(wasmcustom_)?hfi_' || true)"
    if grep -Eq '^(wasmcustom_)?hfi_faults_aborts_total(\{[^}]*\})? [1-9]' <<<"$prom"; then
      ok "$p: Prometheus endpoint has $(grep -E 'hfi_faults_aborts_total' <<<"$prom" | head -1)"
    else
      fail "$p: hfi metrics missing from :15020/stats/prometheus (see k8s/README.md, Metrics)"
      failed=1
    fi
  fi
done
if ! proxy_stats "${pods[0]}" hfi_ 2>/dev/null | grep -q hfi_faults_aborts_total; then
  fail "no frontend sidecar shows hfi_faults_aborts_total (is the plugin loaded? e2e-plugin-loaded.sh)"
  failed=1
fi
port="$(k -n "$DEMO_NAMESPACE" get pod "${pods[0]}" -o jsonpath='{.metadata.annotations.prometheus\.io/port}')"
[ "$port" = 15020 ] || warn "pod ${pods[0]} has prometheus.io/port=$port, not 15020: Istio metrics merging is off, so scrape :15090/stats/prometheus"

if [ -n "${PROMETHEUS_URL:-}" ]; then
  prom_has() {
    curl -s "$PROMETHEUS_URL/api/v1/query" --data-urlencode 'query=sum({__name__=~"(wasmcustom_)?hfi_faults_aborts_total"})' | grep -q '"result":\[{'
  }
  if wait_until 90 "hfi_faults_aborts_total in Prometheus at $PROMETHEUS_URL" prom_has; then
    ok "Prometheus scraped the filter metrics"
  else
    failed=1
  fi
fi

status="$(hfi policy status 2>&1)" || { fail "hfi policy status failed: $status"; failed=1; }
if grep -q "$policy" <<<"$status"; then
  ok "hfi policy status lists $policy"
  printf '%s\n' "$status"
else
  fail "hfi policy status does not list $policy: $status"
  failed=1
fi
[ "$failed" -eq 0 ] || exit "$E_FAIL"
exit "$E_PASS"
