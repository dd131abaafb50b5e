// `hfi` in a broken install says what to run instead of a stack trace: no
// dist/ and no tsx, dist/ without node_modules, dist/ with a chunk missing,
// and `hfi sidecar` without the built filter module. The installs are copies
// of this checkout's cli/bin/hfi.js and dist/ (npm test builds dist/ first)
// in a temp dir with no node_modules on the way up.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HFI_BIN, REPO, cleanEnv } from "./run.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-broken-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function install(name: string, withDist: boolean): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "cli/bin"), { recursive: true });
  fs.copyFileSync(HFI_BIN, path.join(dir, "cli/bin/hfi.js"));
  fs.copyFileSync(path.join(REPO, "package.json"), path.join(dir, "package.json"));
  if (withDist) {
    assert.ok(fs.existsSync(path.join(REPO, "dist/.build-stamp")), "dist/ missing: run npm run build:js");
    fs.cpSync(path.join(REPO, "dist"), path.join(dir, "dist"), { recursive: true, dereference: false, verbatimSymlinks: true });
  }
  return dir;
}

const hfi = (dir: string, args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(dir, "cli/bin/hfi.js"), ...args], { env: cleanEnv(), encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test("no dist/ and no tsx: names the build command", () => {
  const dir = install("no-dist", false);
  const r = hfi(dir, ["policy", "list"]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `hfi: no compiled build in ${dir}/dist/`);
  assert.match(r.stderr, "Run: npm ci && npm run build:js");
  assert.not.match(r.stderr, /at .*\(.*:\d+:\d+\)/, "no stack trace");
});

test("dist/ without node_modules: names the missing dependency and npm ci", () => {
  const dir = install("no-deps", true);
  const r = hfi(dir, ["server", "--data-dir", path.join(tmp, "data"), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /hfi: the dependency '[^']+' is not installed\.\n {2}Run: npm ci/);
  assert.not.match(r.stderr, /at .*\(.*:\d+:\d+\)/, "no stack trace");
});

test("dist/ with a chunk missing: names npm run build:js", () => {
  const dir = install("partial", true);
  // With the repo's node_modules reachable, only the build is broken.
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  for (const f of fs.readdirSync(path.join(dir, "dist/cli"))) if (/^policy-.*\.js$/.test(f)) fs.rmSync(path.join(dir, "dist/cli", f));
  const r = hfi(dir, ["policy", "list", "--server", "127.0.0.1:1"]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /hfi: dist\/cli\/policy-\w+\.js is missing: the build in .* is incomplete\.\n {2}Run: npm run build:js/);
});

test("hfi sidecar without the filter module names npm run build:filter", () => {
  const r = spawnSync(process.execPath, [HFI_BIN, "sidecar", "--upstream", "http://127.0.0.1:1", "--service", "x", "--wasm", path.join(tmp, "none.wasm")], {
    env: cleanEnv(),
    encoding: "utf8",
  });
  assert.is(r.status, 1);
  assert.match(r.stderr, `hfi sidecar: filter module ${path.join(tmp, "none.wasm")} not found: check --wasm`);
});

test.run();
