#!/usr/bin/env bash
# Tests run against a real etcd, lint shell scripts with shellcheck, push
# the filter image to a real registry (docker-registry) checked by skopeo and
# check the monitoring rules with promtool (Debian package prometheus).
# Install Debian's packages when they are missing and we can (root +
# apt-get); otherwise say exactly what to do. Never skip silently.
set -euo pipefail
missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
# The filter's OCI image: validated and pushed to a real registry in test/k8s.
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# The control-plane image (npm run image:server) strips the node binary.
command -v strip >/dev/null 2>&1 || missing+=(binutils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing missing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ok=1
for tool in etcd etcdctl shellcheck skopeo docker-registry promtool strip; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: the tests need '$tool' on PATH (Debian/Ubuntu: sudo apt-get install etcd-server etcd-client shellcheck skopeo docker-registry prometheus binutils)." >&2
    ok=0
  fi
done
[ "$ok" = 1 ]
