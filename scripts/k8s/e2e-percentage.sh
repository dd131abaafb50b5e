#!/usr/bin/env bash
# User story: a 30 % abort policy on frontend (3 replicas) aborts about 30 %
# of requests. With N requests the count of 503s must lie within
# N*p +- 4.5*sqrt(N*p*(1-p)) (a false failure about once in 150 000 runs),
# every other answer must be 200, and each replica must have injected aborts
# (its wasmcustom.hfi_faults_aborts_total counter grew).
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

policy="e2e-percentage"
n="${REQUESTS:-600}"
pct=30
frontend="http://frontend.$DEMO_NAMESPACE.svc.cluster.local/"
trap 'cleanup_policy "$policy"' EXIT

require_policy_e2e node base64 awk || exit "$E_ENV"

mapfile -t pods < <(pods_of frontend | grep .)
[ ${#pods[@]} -ge 1 ] || { not_ready "no frontend pods"; exit "$E_ENV"; }

stat_value() { # POD NAME -> value of the filter stat NAME (0 when absent)
  proxy_stats "$1" "$2" 2>/dev/null | awk -F': ' '$1 ~ /(^|\.)'"$2"'$/ {v = $2} END {print v + 0}'
}
declare -A version_before aborts_before
for p in "${pods[@]}"; do
  version_before[$p]="$(stat_value "$p" hfi_config_version)"
done
version_changed() { [ "$(stat_value "$1" hfi_config_version)" != "${version_before[$1]}" ]; }

info "applying $policy (abort $pct % of requests to frontend)"
apply_abort_policy "$policy" frontend "$pct" || { fail "could not apply $policy"; exit "$E_FAIL"; }
for p in "${pods[@]}"; do
  wait_until 30 "$p to receive the new config version" version_changed "$p" || exit "$E_FAIL"
  aborts_before[$p]="$(stat_value "$p" hfi_faults_aborts_total)"
done
ok "all ${#pods[@]} frontend sidecars have the policy"

info "sending $n requests to frontend"
codes="$(http_codes "$frontend" "$n")" || { fail "requests from the client pod failed"; exit "$E_FAIL"; }
aborted="$(grep -c '^503$' <<<"$codes")"
passed="$(grep -c '^200$' <<<"$codes")"
other=$((n - aborted - passed))
read -r lo hi < <(awk -v n="$n" -v p="$pct" 'BEGIN { p /= 100; m = n * p; s = 4.5 * sqrt(n * p * (1 - p)); printf "%d %d\n", m - s, m + s + 0.999 }')
info "503: $aborted, 200: $passed, other: $other (accepted 503 range: $lo..$hi)"
failed=0
[ "$other" -eq 0 ] || { fail "$other answers were neither 200 nor 503"; failed=1; }
if [ "$aborted" -lt "$lo" ] || [ "$aborted" -gt "$hi" ]; then
  fail "$aborted of $n aborted is outside the binomial bound $lo..$hi for $pct %"
  failed=1
fi
for p in "${pods[@]}"; do
  delta=$(( $(stat_value "$p" hfi_faults_aborts_total) - ${aborts_before[$p]} ))
  if [ "$delta" -gt 0 ]; then ok "$p injected $delta aborts"; else fail "$p injected no aborts"; failed=1; fi
done
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "$pct % abort over ${#pods[@]} replicas: $aborted/$n"
exit "$E_PASS"
