#!/usr/bin/env bash
# User story: once the WasmPlugin is applied, every sidecar in the demo
# namespace has loaded the HFI filter within 30 s. The plugin is deleted and
# re-created from its live definition; a sidecar counts as loaded when Envoy
# created a new Wasm VM for it (wasm.envoy.wasm.runtime.*.created grew — kept
# by Istio's default stats matcher) or the filter logged its startup line
# ("hfi: filter starting", visible with the wasm:info log level the demo apps
# set) since the re-create.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

require_cmds node || exit "$E_ENV"
require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
require_hfi || exit "$E_ENV"
plugin="hfi-fault-injection"
if ! k -n "$DEMO_NAMESPACE" get wasmplugin "$plugin" >/dev/null 2>&1; then
  not_ready "WasmPlugin $DEMO_NAMESPACE/$plugin is not installed"
  exit "$E_ENV"
fi

mapfile -t pods < <(sidecar_pods)
if [ ${#pods[@]} -eq 0 ]; then
  not_ready "no running pods with an Istio sidecar in $DEMO_NAMESPACE"
  exit "$E_ENV"
fi

vms_created() { # POD -> Wasm VMs Envoy has created so far
  proxy_stats "$1" 'wasm\.envoy\.wasm\.runtime' 2>/dev/null |
    awk -F': ' '$1 ~ /^wasm\.envoy\.wasm\.runtime\.[a-z0-9_]+\.created$/ {s += $2} END {print s + 0}'
}
declare -A vms_before
for p in "${pods[@]}"; do vms_before[$p]="$(vms_created "$p")"; done
since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
loaded() { # POD
  [ "$(vms_created "$1")" -gt "${vms_before[$1]}" ] ||
    k -n "$DEMO_NAMESPACE" logs "$1" -c istio-proxy --since-time="$since" 2>/dev/null | grep -q 'hfi: filter starting'
}

saved="$(mktemp)"
trap 'rm -f "$saved"' EXIT
k -n "$DEMO_NAMESPACE" get wasmplugin "$plugin" -o json |
  node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8"));for(const k of ["uid","resourceVersion","creationTimestamp","generation","managedFields"])delete o.metadata[k];delete o.status;console.log(JSON.stringify(o))' >"$saved" ||
  { fail "could not read WasmPlugin $plugin"; exit "$E_FAIL"; }

info "re-creating WasmPlugin $plugin; ${#pods[@]} sidecars must load it within 30 s"
k -n "$DEMO_NAMESPACE" delete wasmplugin "$plugin" --wait=true >/dev/null || exit "$E_FAIL"
sleep 2
start=$SECONDS
k apply -f "$saved" >/dev/null || { fail "re-applying WasmPlugin $plugin failed"; exit "$E_FAIL"; }

failed=0
for p in "${pods[@]}"; do
  remaining=$((30 - $(elapsed_since "$start")))
  [ "$remaining" -lt 1 ] && remaining=1
  if wait_until "$remaining" "filter loaded in $p" loaded "$p"; then
    ok "$p loaded the filter ($(elapsed_since "$start") s)"
  else
    errors="$(k -n "$DEMO_NAMESPACE" logs "$p" -c istio-proxy --since-time="$since" 2>/dev/null | grep -i 'wasm' | grep -iE 'error|fail' | tail -3)"
    fail "$p did not load the filter within 30 s${errors:+: $errors}"
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "all ${#pods[@]} sidecars loaded the filter in $(elapsed_since "$start") s"
exit "$E_PASS"
