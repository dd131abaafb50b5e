#!/usr/bin/env bash
# User story: the control plane is ready within 60 s of a rollout and survives
# one pod being killed: the API keeps answering (or is back within 60 s with a
# single replica) and no policy is lost. With 3+ etcd members, killing one
# member loses nothing either.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

policy="e2e-cp-survives"
trap 'cleanup_policy "$policy"' EXIT

require_cmds node base64 || exit "$E_ENV"
require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
require_hfi || exit "$E_ENV"

ns="$HFI_NAMESPACE"
has_ready_endpoint() {
  k -n "$ns" get endpoints hfi-control-plane -o jsonpath='{.subsets[*].addresses[*].ip}' | grep -q .
}
ready_count_is() { # WORKLOAD N
  [ "$(k -n "$ns" get "$1" -o jsonpath='{.status.readyReplicas}')" = "$2" ]
}
replicas="$(k -n "$ns" get deploy hfi-control-plane -o jsonpath='{.spec.replicas}')"

info "rolling out hfi-control-plane ($replicas replicas): must be ready within 60 s"
start=$SECONDS
k -n "$ns" rollout restart deploy/hfi-control-plane >/dev/null || exit "$E_FAIL"
if ! k -n "$ns" rollout status deploy/hfi-control-plane --timeout=60s >/dev/null; then
  fail "control plane not ready 60 s after a rollout"
  k -n "$ns" get pods -l app.kubernetes.io/name=hfi-control-plane >&2
  exit "$E_FAIL"
fi
ok "control plane ready in $(elapsed_since "$start") s"

connect_hfi || exit "$E_FAIL"
apply_abort_policy "$policy" e2e-nothing 100 || { fail "could not apply policy $policy"; exit "$E_FAIL"; }
stop_port_forwards

victim="$(k -n "$ns" get pods -l app.kubernetes.io/name=hfi-control-plane -o jsonpath='{.items[0].metadata.name}')"
info "killing control-plane pod $victim"
start=$SECONDS
k -n "$ns" delete pod "$victim" --grace-period=0 --force >/dev/null 2>&1
if [ "$replicas" -gt 1 ]; then
  # Another replica must keep the Service's endpoints populated.
  if ! wait_until 10 "a ready hfi-control-plane endpoint" has_ready_endpoint; then
    fail "no ready control-plane endpoint after killing one of $replicas replicas"
    exit "$E_FAIL"
  fi
fi
if ! wait_until 60 "hfi-control-plane back to $replicas ready replicas" ready_count_is deploy/hfi-control-plane "$replicas"; then
  exit "$E_FAIL"
fi
connect_hfi || exit "$E_FAIL"
if ! hfi policy get "$policy" >/dev/null; then
  fail "policy $policy lost after a control-plane pod was killed"
  exit "$E_FAIL"
fi
ok "control plane recovered in $(elapsed_since "$start") s; policy $policy still there"
stop_port_forwards

members="$(k -n "$ns" get statefulset hfi-etcd -o jsonpath='{.spec.replicas}')"
if [ "${members:-1}" -ge 3 ]; then
  info "killing etcd member hfi-etcd-1 (of $members)"
  k -n "$ns" delete pod hfi-etcd-1 --grace-period=0 --force >/dev/null 2>&1
  connect_hfi || exit "$E_FAIL"
  if ! wait_until 30 "policy readable with one etcd member down" hfi policy get "$policy"; then
    exit "$E_FAIL"
  fi
  ok "policies readable with one etcd member down"
  wait_until 120 "etcd back to $members ready members" ready_count_is statefulset/hfi-etcd "$members" || exit "$E_FAIL"
else
  info "etcd has $members member(s): skipping the member-loss step (needs 3)"
fi
ok "control plane survives pod loss"
exit "$E_PASS"
