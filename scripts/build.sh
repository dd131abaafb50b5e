#!/usr/bin/env bash
# npm run build:js (part of npm run build): the compiled JavaScript the published CLI, server and client
# run (no TypeScript at run time).
#   dist/<same path as the source>.js   every .ts under proto/ policy/ server/ cli/
#                                       filter/host/ (tsconfig.build.json; new
#                                       files are picked up by its globs)
#   dist/cli/main.js (+ chunk files)    then replaced by the bundled front end
#                                       (scripts/bundle-cli.ts)
#   dist/filter/build -> filter/build   the filter module (a link: never stale;
#                                       the sidecar finds it relative to itself)
#   dist/.build-stamp                   written last: cli/bin/hfi.js runs dist/
#                                       only when it is newer than every source
# Needs the dev dependencies (typescript). Takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
node_modules/.bin/tsc -p tsconfig.build.json
rm -f dist/package.json   # tsc copies the JSON cli/main.ts imports; the bundle inlines it
node --import tsx scripts/bundle-cli.ts
ln -s ../../filter/build dist/filter/build
node -e 'require("fs").writeFileSync("dist/.build-stamp", new Date().toISOString() + "\n")'
echo "build: dist/ ($(find dist -name '*.js' | wc -l) modules)"
