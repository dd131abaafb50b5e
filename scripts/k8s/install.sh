#!/usr/bin/env bash
# Installs HFI into a local k3s or kind cluster that already runs Istio 1.24+:
# builds the control-plane image and the filter module, loads the image into
# the cluster, pushes the filter to an in-cluster dev registry, creates the
# API token Secret and applies k8s/overlays/dev (one etcd member, one
# control-plane replica, the demo apps).
#
#   scripts/k8s/install.sh [--cluster kind|k3s|none] [--kind-name NAME] [--skip-build]
#
#   --cluster     how to get the control-plane image onto the nodes (default:
#                 detected). "none": the image is already pullable (set it in
#                 an overlay with `kustomize edit set image`).
#   --kind-name   kind cluster name (default: kind)
#   --skip-build  reuse hfi/hfi-control-plane:dev and filter/build/hfi-filter.wasm
#
# Exit codes: 0 installed and ready, 1 a step failed, 2 environment not ready.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$REPO_ROOT" || exit "$E_ENV"

cluster="" kind_name="kind" skip_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) cluster="${2:-}"; shift 2 ;;
    --kind-name) kind_name="${2:-}"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit "$E_ENV" ;;
  esac
done

image="hfi/hfi-control-plane:dev"
trap stop_port_forwards EXIT

# --- prerequisites ---------------------------------------------------------
require_cmds node npm base64 od || exit "$E_ENV"
require_cluster || exit "$E_ENV"
require_istio || exit "$E_ENV"
if [ -z "$cluster" ]; then
  if k get nodes -o jsonpath='{.items[*].spec.providerID}' 2>/dev/null | grep -q 'kind://'; then
    cluster=kind
  elif k get nodes -o jsonpath='{.items[*].status.nodeInfo.kubeletVersion}' 2>/dev/null | grep -q 'k3s'; then
    cluster=k3s
  else
    not_ready "cannot tell whether this is kind or k3s: pass --cluster kind|k3s|none"
    exit "$E_ENV"
  fi
fi
case "$cluster" in
  kind) require_cmds kind || exit "$E_ENV" ;;
  k3s) command -v k3s >/dev/null 2>&1 || command -v k3d >/dev/null 2>&1 || {
    not_ready "k3s cluster but neither k3s (local node) nor k3d found to import the image"
    exit "$E_ENV"
  } ;;
  none) ;;
  *) echo "--cluster must be kind, k3s or none" >&2; exit "$E_ENV" ;;
esac
if [ "$skip_build" -eq 0 ] || [ "$cluster" != none ]; then
  require_docker || exit "$E_ENV"
fi
info "cluster: $cluster ($(k config current-context 2>/dev/null))"

# --- build -------------------------------------------------------------------
if [ "$skip_build" -eq 0 ]; then
  info "building the filter module"
  npm run --silent build:filter || { fail "filter build failed"; exit "$E_FAIL"; }
  bash "$here/docker-build.sh" server dev || exit "$E_FAIL"
fi
if [ ! -s filter/build/hfi-filter.wasm ]; then
  fail "filter/build/hfi-filter.wasm is missing (run without --skip-build)"
  exit "$E_FAIL"
fi

# --- control-plane image onto the nodes -------------------------------------
case "$cluster" in
  kind)
    info "loading $image into kind cluster $kind_name"
    kind load docker-image "$image" --name "$kind_name" || { fail "kind load failed"; exit "$E_FAIL"; }
    ;;
  k3s)
    info "importing $image into k3s"
    if command -v k3d >/dev/null 2>&1 && ! command -v k3s >/dev/null 2>&1; then
      k3d image import "$image" || { fail "k3d image import failed"; exit "$E_FAIL"; }
    else
      # k3s's containerd needs root; sudo is skipped when already root.
      sudo_cmd=()
      [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
      docker save "$image" | "${sudo_cmd[@]}" k3s ctr images import - || { fail "k3s ctr images import failed"; exit "$E_FAIL"; }
    fi
    ;;
esac

# --- namespaces, dev registry, filter image ---------------------------------
# The registry and the ProxyConfig that lets demo sidecars pull from it over
# plain HTTP must exist before the demo pods are created (injection time).
info "applying namespaces and the dev registry"
k apply -f k8s/base/namespaces.yaml >/dev/null || { fail "kubectl apply namespaces failed"; exit "$E_FAIL"; }
k apply -f k8s/overlays/dev/registry.yaml >/dev/null || { fail "kubectl apply registry failed"; exit "$E_FAIL"; }
k -n hfi-registry rollout status deploy/hfi-registry --timeout=120s || { fail "dev registry not ready"; exit "$E_FAIL"; }

reg_port="$(free_port)" || exit "$E_FAIL"
port_forward svc/hfi-registry "$reg_port:5000" hfi-registry || { fail "port-forward to the dev registry failed"; exit "$E_FAIL"; }
info "pushing the filter to the dev registry"
node --import tsx "$here/push-wasm.ts" filter/build/hfi-filter.wasm "http://127.0.0.1:$reg_port/hfi-filter:dev" ||
  { fail "pushing the filter image failed"; exit "$E_FAIL"; }

# --- API token ---------------------------------------------------------------
if ! k -n "$HFI_NAMESPACE" get secret hfi-api-token >/dev/null 2>&1; then
  info "creating Secret hfi-api-token (random token)"
  k -n "$HFI_NAMESPACE" create secret generic hfi-api-token --from-literal=token="$(random_token)" >/dev/null ||
    { fail "creating the API token Secret failed"; exit "$E_FAIL"; }
fi

# --- HFI ---------------------------------------------------------------------
info "applying k8s/overlays/dev"
k apply -k k8s/overlays/dev || { fail "kubectl apply -k k8s/overlays/dev failed"; exit "$E_FAIL"; }
# A re-install pushes a new dev filter under the same tag: restart nothing,
# imagePullPolicy Always in the dev overlay makes the sidecars fetch it on the
# next config push; the control plane picks up a rebuilt image on restart.
if [ "$skip_build" -eq 0 ]; then
  k -n "$HFI_NAMESPACE" rollout restart deploy/hfi-control-plane >/dev/null
fi
k -n "$HFI_NAMESPACE" rollout status statefulset/hfi-etcd --timeout=180s || { fail "etcd not ready"; exit "$E_FAIL"; }
k -n "$HFI_NAMESPACE" rollout status deploy/hfi-control-plane --timeout=180s || { fail "control plane not ready"; exit "$E_FAIL"; }
for d in frontend productcatalog client; do
  k -n "$DEMO_NAMESPACE" rollout status "deploy/$d" --timeout=180s || { fail "demo app $d not ready"; exit "$E_FAIL"; }
done
ok "HFI installed (API token: kubectl -n $HFI_NAMESPACE get secret hfi-api-token -o jsonpath='{.data.token}' | base64 -d)"
exit "$E_PASS"
