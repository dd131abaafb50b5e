#!/usr/bin/env bash
# User story: a workload named like Istio's Bookinfo sample — Deployment
# reviews-v1, labels app=reviews version=v1 — is service "reviews" version
# "v1" (Istio's canonical service and revision, not the Deployment name that
# the injector puts in WORKLOAD_NAME), so `selector.service: reviews` faults
# it and `selector.service: reviews-v1` matches nothing. Deploys reviews-v1
# and Service reviews in the demo namespace for the check and removes them.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

policy="e2e-bookinfo-reviews"
by_deployment="e2e-bookinfo-deployment-name"
deployed=0
cleanup() { # only what this script created
  [ ${#_applied_policies[@]} -gt 1 ] && delete_policy "$by_deployment"
  cleanup_policy "$policy"
  [ "$deployed" -eq 1 ] && k -n "$DEMO_NAMESPACE" delete deploy/reviews-v1 svc/reviews --ignore-not-found --wait=false >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
require_policy_e2e node base64 || exit "$E_ENV"

info "deploying reviews-v1 (app=reviews, version=v1) in $DEMO_NAMESPACE"
deployed=1
k apply -f - >/dev/null <<YAML || { fail "could not deploy reviews-v1"; exit "$E_FAIL"; }
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: $DEMO_NAMESPACE, labels: {app: reviews, version: v1}}
spec:
  replicas: 1
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata:
      labels: {app: reviews, version: v1}
      annotations: {sidecar.istio.io/componentLogLevel: "wasm:info"}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: app
          image: hashicorp/http-echo:1.0
          args: ["-listen=:8080", "-text=reviews"]
          ports: [{name: http, containerPort: 8080}]
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: $DEMO_NAMESPACE, labels: {app: reviews}}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 80, targetPort: http, appProtocol: http}]
YAML
k -n "$DEMO_NAMESPACE" rollout status deploy/reviews-v1 --timeout=180s >/dev/null || { fail "reviews-v1 not ready"; exit "$E_FAIL"; }
pod="$(k -n "$DEMO_NAMESPACE" get pods -l app=reviews,version=v1 -o jsonpath='{.items[0].metadata.name}')"

failed=0
identity_of() { hfi policy status -o json | streams_by_pod | awk -v p="$pod" '$1 == p'; }
subscribed() { [ -n "$(identity_of)" ]; }
if ! wait_until 60 "config streams from $pod" subscribed; then
  exit "$E_FAIL"
fi
read -r _ streams _ service version source < <(identity_of)
if [ "$service" = reviews ] && [ "$version" = v1 ]; then
  ok "$pod: $streams streams as service reviews version v1 (service from ${source//_/ })"
else
  fail "$pod: identity service=$service version=$version (from ${source//_/ }); want reviews / v1"
  failed=1
fi

apply_abort_policy "$policy" reviews 100 || { fail "could not apply $policy"; exit "$E_FAIL"; }
url="http://reviews.$DEMO_NAMESPACE.svc.cluster.local/"
all_aborted() { [ "$(http_codes "$url" 5 | sort -u)" = 503 ]; }
if wait_until 30 "selector.service: reviews aborting requests to reviews-v1" all_aborted; then
  ok "selector.service: reviews faults the reviews-v1 workload"
else
  failed=1
fi
delete_policy "$policy"

apply_policy "$by_deployment" "metadata:
  name: $by_deployment
spec:
  selector:
    service: reviews-v1
  rules:
    - fault:
        percentage: 100
        abort:
          http_status: 503" || { fail "could not apply $by_deployment"; exit "$E_FAIL"; }
none_aborted() { [ "$(http_codes "$url" 5 | sort -u)" = 200 ]; }
targeted="$(hfi policy status "$by_deployment" -o json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8"));const p=s.policies[0]||{};console.log(p.targeted_proxies ?? p.targetedProxies)')"
if [ "$targeted" = 0 ] && wait_until 30 "requests to reviews pass again" none_aborted; then
  ok "selector.service: reviews-v1 (the Deployment name) targets 0 proxies"
else
  fail "selector.service: reviews-v1 targets $targeted proxies (want 0: the service is the app label)"
  failed=1
fi
[ "$failed" -eq 0 ] || exit "$E_FAIL"
exit "$E_PASS"
