#!/usr/bin/env bash
# Builds the HFI proxy-wasm filter (AssemblyScript -> wasm):
#   filter/build/hfi-filter.wasm       the module Envoy / the Node host load
#   filter/build/hfi-filter-test.wasm  test-only entry (decoder, regex, JSON) for test/filter/*
# Options live in filter/asconfig.json (targets "release" and "test").
# Fails when the production module exceeds 64 KiB or imports anything outside
# the Envoy ABI table (test/support/envoy-abi.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
ASC=node_modules/.bin/asc
OUT=filter/build
mkdir -p "$OUT"

"$ASC" filter/assembly/index.ts --config filter/asconfig.json --target release -o "$OUT/hfi-filter.wasm"
"$ASC" filter/assembly/test-entry.ts --config filter/asconfig.json --target test -o "$OUT/hfi-filter-test.wasm"

size=$(wc -c < "$OUT/hfi-filter.wasm")
limit=65536
if [ "$size" -gt "$limit" ]; then
  echo "filter: hfi-filter.wasm is $size bytes, over the $limit byte budget" >&2
  exit 1
fi
echo "filter: $OUT/hfi-filter.wasm $size bytes (budget $limit)"
