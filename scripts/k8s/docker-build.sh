#!/usr/bin/env bash
# Builds HFI's images with the local Docker engine.
#   scripts/k8s/docker-build.sh server [TAG]   control plane  -> hfi/hfi-control-plane:TAG
#   scripts/k8s/docker-build.sh filter [TAG]   filter (OCI)   -> hfi/hfi-filter:TAG
# TAG defaults to dev; IMAGE_PREFIX (default "hfi/") changes the repository.
# The filter target runs `npm run build:filter` first.
# Exit codes: 0 built, 1 build failed, 2 environment not ready (no Docker
# client or engine, no filter module after the build) or usage error.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$REPO_ROOT"

what="${1:-}"
tag="${2:-dev}"
prefix="${IMAGE_PREFIX:-hfi/}"

case "$what" in
  server | filter) ;;
  *)
    echo "usage: $0 server|filter [TAG]" >&2
    exit 2
    ;;
esac

require_docker || exit 2

if [ "$what" = server ]; then
  image="${prefix}hfi-control-plane:${tag}"
  info "building $image"
  docker build -t "$image" -f Dockerfile . || { fail "docker build of $image failed"; exit 1; }
  bytes=$(docker image inspect -f '{{.Size}}' "$image")
  info "$image: $((bytes / 1000000)) MB (target <= 150 MB)"
else
  image="${prefix}hfi-filter:${tag}"
  info "building the filter module"
  npm run --silent build:filter || { fail "filter build failed"; exit 1; }
  if [ ! -s filter/build/hfi-filter.wasm ]; then
    fail "filter/build/hfi-filter.wasm is missing: run 'npm run build:filter' first"
    exit 2
  fi
  info "building $image"
  docker build -t "$image" -f filter/Dockerfile filter || { fail "docker build of $image failed"; exit 1; }
fi
ok "built $image"
