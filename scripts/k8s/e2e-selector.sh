#!/usr/bin/env bash
# User story: a policy that selects service "frontend" faults requests to
# frontend and leaves productcatalog alone; deleting it restores frontend.
# Requests come from the in-mesh client pod (k8s/examples).
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

policy="e2e-frontend-only"
n="${REQUESTS:-20}"
frontend="http://frontend.$DEMO_NAMESPACE.svc.cluster.local/"
catalog="http://productcatalog.$DEMO_NAMESPACE.svc.cluster.local/"
trap 'cleanup_policy "$policy"' EXIT

require_policy_e2e node base64 || exit "$E_ENV"

all_codes() { # URL CODE: N requests, all answered with CODE
  local codes
  codes="$(http_codes "$1" "$n")" || return 1
  [ "$(grep -c "^$2\$" <<<"$codes")" -eq "$n" ]
}

info "baseline: frontend and productcatalog answer 200"
all_codes "$frontend" 200 || { not_ready "frontend does not answer 200 before the test"; exit "$E_ENV"; }
all_codes "$catalog" 200 || { not_ready "productcatalog does not answer 200 before the test"; exit "$E_ENV"; }

info "applying $policy (abort 100 % of requests to frontend with 503)"
apply_abort_policy "$policy" frontend 100 || { fail "could not apply $policy"; exit "$E_FAIL"; }
start=$SECONDS
# All 3 frontend sidecars must have the policy: N consecutive requests spread
# over the replicas must all be aborted.
wait_until 30 "every request to frontend aborted with 503" all_codes "$frontend" 503 || exit "$E_FAIL"
ok "frontend faulted ($(elapsed_since "$start") s after apply)"
if ! all_codes "$catalog" 200; then
  fail "productcatalog was affected by a frontend-only policy: $(http_codes "$catalog" "$n" | sort | uniq -c | tr '\n' ' ')"
  exit "$E_FAIL"
fi
ok "productcatalog unaffected ($n/$n answered 200)"

hfi policy delete "$policy" >/dev/null || { fail "could not delete $policy"; exit "$E_FAIL"; }
wait_until 30 "frontend answering 200 again after delete" all_codes "$frontend" 200 || exit "$E_FAIL"
ok "frontend restored after delete"
exit "$E_PASS"
