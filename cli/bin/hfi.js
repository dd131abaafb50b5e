#!/usr/bin/env node
// `hfi` / `hfi-cli`. Runs the compiled CLI (dist/cli/main.js, `npm run build`)
// when it is there and no source is newer than the build. In a checkout whose
// sources changed since (or were never built) it runs cli/main.ts through tsx
// (a dev dependency) instead, so an edit never runs stale code. Images and
// packages ship dist/ without the sources: there the check finds nothing.
import { readdirSync, statSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const rootDir = fileURLToPath(root);
const stamp = mtime(`${rootDir}dist/.build-stamp`);

// Plain path strings, not URLs: this runs for ~200 files on every call.
function mtime(file) {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
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
    const child = `${dir}/${e.name}`;
    if (e.isDirectory() ? newerSource(child) : e.name.endsWith(".ts") && mtime(child) > stamp) return true;
  }
  return false;
}

// >= 0: images are built with every mtime 0 (reproducible), the stamp's too.
const fresh =
  stamp >= 0 &&
  process.env.HFI_FROM_SOURCE !== "1" &&
  !["proto", "policy", "server", "cli", "filter/host"].some((d) => newerSource(rootDir + d));

// A module that cannot be found is an install problem: say what to run
// instead of printing Node's stack trace.
function missingModule(err) {
  if (err?.code !== "ERR_MODULE_NOT_FOUND" && err?.code !== "MODULE_NOT_FOUND") throw err;
  const dir = fileURLToPath(root);
  const pkg = /Cannot find package '([^']+)'/.exec(err.message)?.[1];
  const file = /Cannot find module '([^']+)'/.exec(err.message)?.[1];
  if (pkg === "tsx" || err.message.includes("/tsx/")) {
    process.stderr.write(
      `hfi: no compiled build in ${dir}dist/ (or sources newer than it), and tsx, which runs the sources, is not installed.\n` +
        `  Run: npm ci && npm run build:js   (in ${dir}; the build needs the dev dependencies)\n`,
    );
  } else if (pkg) {
    process.stderr.write(`hfi: the dependency '${pkg}' is not installed.\n  Run: npm ci   (in ${dir}; or npm ci --omit=dev for a runtime-only install)\n`);
  } else {
    const what = file ? file.replace(dir, "") : err.message;
    process.stderr.write(`hfi: ${what} is missing: the build in ${dir}dist/ is incomplete.\n  Run: npm run build:js   (in ${dir})\n`);
  }
  process.exitCode = 1;
}

try {
  if (fresh) {
    // Node >= 22.1 keeps compiled code between runs (V8 code cache on disk, in the OS temp
    // directory): most of a cold `hfi policy list` is compiling the bundled gRPC and protobuf
    // code. Older Node has no such API and compiles every time.
    module.enableCompileCache?.();
    await import("../../dist/cli/main.js");
  } else {
    const { register } = await import("tsx/esm/api");
    register();
    await import(fileURLToPath(new URL("cli/main.ts", root)));
  }
} catch (err) {
  missingModule(err);
}
