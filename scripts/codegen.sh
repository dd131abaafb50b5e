#!/usr/bin/env bash
# The one script that writes generated code, all in proto/gen/:
#   *.ts, hfi/            TypeScript types for every message and service
#   descriptor.ts         the protos precompiled (protobufjs JSON + the
#                         FileDescriptorSet from buf build): what proto/loader.ts
#                         loads at run time — no .proto parsing
# The filter's codec is hand-written (see filter/README.md) and is checked
# against these protos by test/filter/codec.test.ts.
#   scripts/codegen.sh          regenerate
#   scripts/codegen.sh --check  fail when the committed output is stale
set -euo pipefail
cd "$(dirname "$0")/.."
out=proto/gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protos=(hfi/v1/policy.proto hfi/v1/policy_service.proto hfi/v1/config_discovery.proto)
# Options must match proto/loader.ts CONVERSION_OPTIONS (keepCase off = lowerCamel names).
npx --no-install proto-loader-gen-types \
  --longs=Number --enums=String --defaults --oneofs --includeComments \
  --grpcLib=@grpc/grpc-js -I proto -O "$tmp" \
  "${protos[@]}" >/dev/null
# Imports must carry .ts extensions for ESM under tsx/tsc (allowImportingTsExtensions).
find "$tmp" -name '*.ts' -print0 | xargs -0 sed -i -E "s#(from '\./[^']+)'#\1.ts'#; s#(from '\.\./[^']+)'#\1.ts'#; s#(import\(\"\./[^\"]+)\"\)#\1.ts\")#g; s#(import\(\"\.\./[^\"]+)\"\)#\1.ts\")#g"
set_file=$(mktemp --suffix=.binpb)
npx --no-install buf build --exclude-source-info -o "$set_file"
node --import tsx scripts/proto-descriptor.ts proto "$set_file" "${protos[@]}" > "$tmp/descriptor.ts"
rm -f "$set_file"
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$tmp" "$out" >/dev/null; then
    echo "generated code in $out is stale: run 'npm run codegen' and commit" >&2
    diff -r "$tmp" "$out" | head -20 >&2
    exit 1
  fi
  echo "generated code is fresh"
else
  rm -rf "$out" && mkdir -p "$out" && cp -r "$tmp"/. "$out"/
  echo "wrote $out"
fi
