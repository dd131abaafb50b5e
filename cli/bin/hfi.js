#!/usr/bin/env node
// `hfi` / `hfi-cli`. Runs the compiled CLI (dist/cli/main.js, `npm run build`)
// when it is there and no source is newer than the build. In a checkout whose
// sources changed since (or were never built) it runs cli/main.ts through tsx
// (a dev dependency) instead, so an edit never runs stale code. Images and
// packages ship dist/ without the sources: there the check finds nothing.
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const stamp = mtime(new URL("dist/.build-stamp", root));

function mtime(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return -1;
  }
}

// The folders tsconfig.build.json compiles, scanned for a .ts newer than the stamp.
function newerSource(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const child = new URL(e.isDirectory() ? `${e.name}/` : e.name, dir);
    if (e.isDirectory() ? newerSource(child) : e.name.endsWith(".ts") && mtime(child) > stamp) return true;
  }
  return false;
}

const fresh =
  stamp > 0 &&
  process.env.HFI_FROM_SOURCE !== "1" &&
  !["proto/", "policy/", "server/", "cli/", "filter/host/"].some((d) => newerSource(new URL(d, root)));

if (fresh) {
  await import("../../dist/cli/main.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(fileURLToPath(new URL("cli/main.ts", root)));
}
