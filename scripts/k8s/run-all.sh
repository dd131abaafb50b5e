#!/usr/bin/env bash
# Runs every end-to-end check against the current cluster (after install.sh).
#   scripts/k8s/run-all.sh [--stop-on-failure] [--only NAME]...
# NAME: control-plane, plugin-loaded, identity, selector, percentage, metrics,
# streams, stream-handlers, bookinfo-identity.
# Exit codes: 0 all passed, 1 at least one failed, 2 environment not ready
# (nothing failed, but a check could not run).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

all=(control-plane plugin-loaded identity selector percentage metrics streams stream-handlers bookinfo-identity)
stop=0 only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stop-on-failure) stop=1; shift ;;
    --only) only+=("${2:-}"); shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit "$E_ENV" ;;
  esac
done
checks=("${all[@]}")
if [ ${#only[@]} -gt 0 ]; then
  for c in "${only[@]}"; do
    [ -f "$here/e2e-$c.sh" ] || { echo "unknown check: $c (one of: ${all[*]})" >&2; exit "$E_ENV"; }
  done
  checks=("${only[@]}")
fi

# Shared prerequisites first, so a missing cluster is one clear message.
require_cmds node base64 || exit "$E_ENV"
require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
require_hfi || exit "$E_ENV"
require_demo || exit "$E_ENV"

passed=() failed=() not_run=()
for c in "${checks[@]}"; do
  info "── $c"
  bash "$here/e2e-$c.sh"
  case $? in
    0) passed+=("$c") ;;
    2) not_run+=("$c") ;;
    *) failed+=("$c") ;;
  esac
  if [ "$stop" -eq 1 ] && [ ${#failed[@]} -gt 0 ]; then
    warn "stopping after the first failure (--stop-on-failure)"
    break
  fi
done

echo
[ ${#failed[@]} -gt 0 ] && fail "failed: ${failed[*]}"
[ ${#not_run[@]} -gt 0 ] && not_ready "environment not ready for: ${not_run[*]}"
echo "${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -gt 0 ] && exit "$E_FAIL"
[ ${#not_run[@]} -gt 0 ] && exit "$E_ENV"
exit "$E_PASS"
