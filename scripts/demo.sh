#!/usr/bin/env bash
# npm run demo: the whole system on this machine (control plane, demo
# service, sidecar with the filter), policies applied while traffic runs.
# Builds first what is missing: the filter (filter/build/hfi-filter.wasm) and
# the compiled CLI (dist/, rebuilt when a source is newer than the build).
# Runs about 40 s and exits 0 when the faults were seen and traffic was
# healthy again; Ctrl-C stops everything. Under CI=true or without a
# terminal: no colour, no refreshing lines.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f filter/build/hfi-filter.wasm ]; then
  echo "filter/build/hfi-filter.wasm is missing: building it (npm run build:filter)"
  npm run --silent build:filter
fi
if [ ! -f dist/.build-stamp ] || [ -n "$(find proto server cli filter/host -name '*.ts' -newer dist/.build-stamp -print -quit)" ]; then
  echo "dist/ is missing or older than the sources: building it (npm run build:js)"
  bash scripts/build.sh
fi
# exec: the demo gets the signals (Ctrl-C) directly and stops its children.
exec node --import tsx cli/demo/run.ts "$@"
