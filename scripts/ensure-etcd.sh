#!/usr/bin/env bash
# Tests run against a real etcd. Install Debian's etcd-server when it is
# missing and we can (root + apt-get); otherwise say exactly what to do.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "etcd not found: installing Debian package etcd-server (and etcd-client)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
  command -v etcd >/dev/null 2>&1 && exit 0
fi
echo "error: the tests need etcd on PATH. Install it (Debian/Ubuntu: 'sudo apt-get install etcd-server etcd-client') or set PATH to include an etcd 3.4+ binary." >&2
exit 1
