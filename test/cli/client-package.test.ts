// npm run pack:client's tarball as a user's project gets it: installed into a
// fresh temp project from the tarball (offline: its two dependencies come from
// the npm cache that `npm ci` filled), used from plain node as .mjs and .cjs
// against a real server (no tsx, no top-level await), and type-checked from
// a TypeScript consumer (ESM and CommonJS), where a wrong field is an error.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createPolicyClient } from "hfi/client";
import { startTestServer } from "../support/server.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-client-pkg-"));
const project = path.join(tmp, "consumer");
let tarball = "";

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const policy = (name: string) => ({
  metadata: { name },
  spec: {
    selector: { service: "web" },
    rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: 25, abort: { httpStatus: 503 } } }],
  },
});

test("npm run pack:client prints the tarball's path as its last line", async () => {
  const { stdout } = await run("npm", ["run", "--silent", "pack:client", "--", "--out", path.join(tmp, "pack")], {
    cwd: ROOT,
    maxBuffer: 1 << 24,
  });
  tarball = stdout.trim().split("\n").at(-1)!;
  assert.ok(path.isAbsolute(tarball) && tarball.endsWith(".tgz"), tarball);
  assert.ok(fs.statSync(tarball).size > 0);
});

interface LockEntry {
  version: string;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

// The consumer's package-lock.json: the tarball plus its dependencies'
// closure as this repository's lock pins them (versions + integrity), so
// `npm ci --offline` takes every package from the cache `npm ci` filled and
// asks no registry (a plain `npm install` would fetch registry metadata).
function consumerLock(pkg: { dependencies: Record<string, string> }, tarballDeps: Record<string, string>): object {
  const repo = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")).packages as Record<string, LockEntry>;
  const find = (from: string, name: string): string => {
    // Node's lookup: the nearest node_modules/NAME up from the requiring package.
    for (let base = from; ; base = base.includes("/node_modules/") ? base.slice(0, base.lastIndexOf("/node_modules/")) : "") {
      const key = `${base ? `${base}/` : ""}node_modules/${name}`;
      if (repo[key]) return key;
      if (!base) throw new Error(`${name} (needed by ${from || "@hfi/client"}) is not in package-lock.json`);
    }
  };
  const closure: Record<string, LockEntry> = {};
  const walk = (from: string, deps: Record<string, string>) => {
    for (const name of Object.keys(deps)) {
      const key = find(from, name);
      if (closure[key]) continue;
      const { dev: _d, peer: _p, optional: _o, devOptional: _do, ...entry } = repo[key]!;
      closure[key] = entry;
      walk(key, entry.dependencies ?? {});
    }
  };
  walk("", tarballDeps);
  const integrity = `sha512-${crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("base64")}`;
  return {
    name: "consumer",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": pkg,
      "node_modules/@hfi/client": { version: "0.1.0", resolved: pkg.dependencies["@hfi/client"], integrity, dependencies: tarballDeps },
      ...closure,
    },
  };
}

test("a fresh project installs the tarball offline", async () => {
  fs.mkdirSync(project);
  const { stdout: manifestJson } = await run("tar", ["-xzOf", tarball, "package/package.json"]);
  const manifest = JSON.parse(manifestJson) as { name: string; version: string; dependencies: Record<string, string> };
  assert.is(manifest.name, "@hfi/client");
  const pkg = { name: "consumer", private: true, dependencies: { "@hfi/client": `file:${tarball}` } };
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify(pkg));
  fs.writeFileSync(path.join(project, "package-lock.json"), JSON.stringify(consumerLock(pkg, manifest.dependencies)));
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: project });
  const installed = JSON.parse(fs.readFileSync(path.join(project, "node_modules/@hfi/client/package.json"), "utf8"));
  assert.is(installed.version, manifest.version);
  assert.ok(fs.existsSync(path.join(project, "node_modules/@grpc/grpc-js")), "grpc-js installed as a dependency");
  assert.not.ok(fs.existsSync(path.join(project, "node_modules/tsx")), "no tsx in the user's project");
});

const ESM = `import { createPolicyClient } from "@hfi/client";
const client = createPolicyClient({ server: process.env.HFI_SERVER });
client
  .applyPolicy(JSON.parse(process.env.POLICY))
  .then(({ result }) => client.getPolicy(JSON.parse(process.env.POLICY).metadata.name).then((p) => ({ result, p })))
  .then(({ result, p }) => console.log(JSON.stringify({ result, status: p.spec.rules[0].fault.abort.httpStatus, version: p.metadata.version })))
  .finally(() => client.close());
`;
const CJS = `const { createPolicyClient, HfiClientError } = require("@hfi/client");
const client = createPolicyClient({ server: process.env.HFI_SERVER });
const { name } = JSON.parse(process.env.POLICY).metadata;
client
  .applyPolicy(JSON.parse(process.env.POLICY))
  .then(({ result }) => client.getPolicy(name).then((p) => ({ result, p })))
  .then(async ({ result, p }) => {
    const missing = await client.getPolicy("no-such-policy").catch((e) => e instanceof HfiClientError && e.code);
    console.log(JSON.stringify({ result, status: p.spec.rules[0].fault.abort.httpStatus, version: p.metadata.version, missing }));
  })
  .finally(() => client.close());
`;

test("used from .mjs and .cjs with plain node against a running server", async () => {
  fs.writeFileSync(path.join(project, "use.mjs"), ESM);
  fs.writeFileSync(path.join(project, "use.cjs"), CJS);
  const server = await startTestServer();
  try {
    const env = { ...process.env, HFI_SERVER: server.grpcAddress, NODE_OPTIONS: "" };
    const esm = await run(process.execPath, ["use.mjs"], { cwd: project, env: { ...env, POLICY: JSON.stringify(policy("from-esm")) } });
    const e = JSON.parse(esm.stdout);
    assert.is(e.result, "created");
    assert.is(e.status, 503);
    assert.ok(e.version > 0);
    const cjs = await run(process.execPath, ["use.cjs"], { cwd: project, env: { ...env, POLICY: JSON.stringify(policy("from-cjs")) } });
    const c = JSON.parse(cjs.stdout);
    assert.is(c.result, "created");
    assert.is(c.status, 503);
    assert.is(c.missing, "NOT_FOUND");
    const ours = createPolicyClient({ server: server.grpcAddress });
    const names = (await ours.listPolicies().finally(() => ours.close())).policies.map((p) => p.metadata!.name);
    assert.equal(names.sort(), ["from-cjs", "from-esm"], "both applies reached the server");
  } finally {
    await server.close();
  }
});

const TS_CONSUMER = (imp: string) => `${imp}
const client = createPolicyClient({ server: "127.0.0.1:9090", timeoutMs: 1000 });
const p: Policy = { metadata: { name: "x" }, spec: { rules: [{ fault: { percentage: 5, delay: { fixedDelayMs: 10 } } }] } };
export async function main(): Promise<number> {
  const out = await client.applyPolicy(p, { dryRun: true });
  const outcome: "created" | "configured" | "unchanged" = out.result;
  const version: number = out.policy.metadata!.version;
  try { await client.getPolicy("x"); } catch (e: unknown) { if (e instanceof HfiClientError) return e.grpcCode; }
  return outcome.length + version;
}
`;

async function typecheck(files: Record<string, string>): Promise<{ ok: boolean; output: string }> {
  const dir = fs.mkdtempSync(path.join(project, "ts-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const args = [TSC, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", ...Object.keys(files)];
  try {
    await run(process.execPath, args, { cwd: dir });
    return { ok: true, output: "" };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout) };
  }
}

test("a TypeScript consumer type-checks, as ESM and as CommonJS, and a wrong field does not", async () => {
  const imports = `import { createPolicyClient, HfiClientError, type Policy } from "@hfi/client";`;
  // .mts resolves through the `import` condition, .cts through `require`.
  const both = await typecheck({ "consumer.mts": TS_CONSUMER(imports), "consumer.cts": TS_CONSUMER(imports) });
  assert.ok(both.ok, both.output);
  const wrong = await typecheck({
    "wrong.mts": `import { createPolicyClient, type Policy } from "@hfi/client";
export const p: Policy = { metadata: { nmae: "x" } };
export const v = createPolicyClient().getPolicy("x").then((got) => got.metadata!.revison);
`,
  });
  assert.not.ok(wrong.ok, "wrong fields must not type-check");
  assert.match(wrong.output, /wrong\.mts\(2,[^\n]*'nmae'/, wrong.output);
  assert.match(wrong.output, /wrong\.mts\(3,[^\n]*Property 'revison' does not exist on type 'Metadata__Output'/, wrong.output);
});

test.run();
