#!/usr/bin/env bash
# User story: once the WasmPlugin is applied, every sidecar in the demo
# namespace has loaded the HFI filter within 30 s. The plugin is deleted and
# re-created from its live definition, then each sidecar's ECDS counter
# (extension_config_discovery...hfi-fault-injection.config_reload) must grow.
# Exit codes: 0 pass, 1 fail, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
require_hfi || exit "$E_ENV"
plugin="hfi-fault-injection"
if ! k -n "$DEMO_NAMESPACE" get wasmplugin "$plugin" >/dev/null 2>&1; then
  not_ready "WasmPlugin $DEMO_NAMESPACE/$plugin is not installed"
  exit "$E_ENV"
fi

# Pods with a sidecar (the plugin only reaches those).
mapfile -t pods < <(sidecar_pods)
if [ ${#pods[@]} -eq 0 ]; then
  not_ready "no running pods with an istio-proxy sidecar in $DEMO_NAMESPACE"
  exit "$E_ENV"
fi

reloads() { # POD -> config_reload count of the plugin's ECDS resource (0 when absent)
  proxy_stats "$1" "$plugin" 2>/dev/null | awk -F': ' '/'"$plugin"'\.config_reload:/ {s += $2} END {print s + 0}'
}

declare -A before
reload_grew() { [ "$(reloads "$1")" -gt "${before[$1]}" ]; }
for p in "${pods[@]}"; do before[$p]="$(reloads "$p")"; done

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
  if wait_until "$remaining" "filter loaded in $p" reload_grew "$p"; then
    ok "$p loaded the filter ($(elapsed_since "$start") s)"
  else
    fails="$(proxy_stats "$p" "$plugin" 2>/dev/null | grep -E 'config_fail|config_conflict' || true)"
    fail "$p did not load the filter within 30 s ${fails:+($fails)}"
    warn "check: kubectl -n $DEMO_NAMESPACE logs $p -c istio-proxy | grep -i wasm"
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit "$E_FAIL"
ok "all ${#pods[@]} sidecars loaded the filter in $(elapsed_since "$start") s"
exit "$E_PASS"
