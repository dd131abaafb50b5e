#!/usr/bin/env bash
# The test command (npm test): checks generated code is fresh, type-checks,
# builds the filter and the compiled JS (dist/, what `hfi` runs), makes sure
# etcd is available, then runs every uvu test file in its own process (a crash
# in one file cannot hide another's results). Test files themselves run from
# source through tsx.
#   npm test                      everything
#   npm test -- test/server       only files under a path
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/ensure-tools.sh || exit 1
bash scripts/codegen.sh --check || exit 1
npm run --silent build:filter || { echo "filter build failed" >&2; exit 1; }
tsc -p tsconfig.json || { echo "type-check failed" >&2; exit 1; }
bash scripts/build.sh || { echo "build failed" >&2; exit 1; }

roots=("$@"); [ ${#roots[@]} -eq 0 ] && roots=(test)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' | sort)
passed=0; failed=0; skipped=0; bad_files=()
for f in "${files[@]}"; do
  echo "── $f"
  out=$(mktemp)
  timeout 900 node --import tsx "$f" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  p=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$out" | tail -1)
  t=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$out" | tail -1)
  s=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$out" | tail -1)
  rm -f "$out"
  p=${p:-0}; t=${t:-0}; s=${s:-0}
  passed=$((passed + p)); skipped=$((skipped + s))
  f_failed=$((t - p - s))
  if [ "$rc" -ne 0 ] && [ "$f_failed" -le 0 ]; then f_failed=1; fi   # crashed or timed out
  if [ "$t" -eq 0 ] && [ "$rc" -eq 0 ]; then f_failed=1; echo "no test ran in $f" >&2; fi
  failed=$((failed + f_failed))
  [ "$f_failed" -gt 0 ] && bad_files+=("$f")
done
echo
[ ${#bad_files[@]} -gt 0 ] && printf 'failed: %s\n' "${bad_files[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
