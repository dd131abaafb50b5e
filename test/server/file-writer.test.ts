// The embedded store's writer thread (server/store/file-writer.ts): a write
// that fails on disk is a clear `unavailable` with nothing half-stored and no
// temp file left; the store writes again once the disk lets it; and the
// thread never keeps a process alive (nor lets it exit mid-write).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { pino } from "pino";
import { parsePolicyInput } from "../../policy/index.ts";
import { EmbeddedStore, StoreError } from "../../server/store/index.ts";
import { AtomicFileWriter } from "../../server/store/file-writer.ts";

const logger = pino({ level: "silent" });
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const test = suite("embedded store writer thread");
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-file-writer-"));
test.after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const POLICY_SPEC = { selector: { service: "svc" }, rules: [{ fault: { percentage: 10, delay_ms: 5 } }] };

function policy(name: string) {
  const r = parsePolicyInput({ metadata: { name }, spec: POLICY_SPEC });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

test("a failed replace is unavailable, stores nothing, leaves no temp file; the next write works", async () => {
  const dir = path.join(tmpRoot, "fail");
  const store = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    await store.put(policy("a"));
    const file = path.join(dir, "policies.json");
    const before = fs.readFileSync(file, "utf8");
    // rename() over a non-empty directory fails even for root.
    fs.rmSync(file);
    fs.mkdirSync(path.join(file, "blocker"), { recursive: true });
    const err = await store.put(policy("b")).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreError, String(err));
    assert.is((err as StoreError).code, "unavailable");
    assert.match((err as Error).message, /cannot write .*policies\.json/);
    assert.is(await store.get("b"), undefined);
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes(".tmp-")), []);
    fs.rmSync(file, { recursive: true });
    fs.writeFileSync(file, before);
    await store.put(policy("b"));
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as { policies: Record<string, unknown> };
    assert.equal(Object.keys(data.policies).sort(), ["a", "b"]);
  } finally {
    await store.close();
  }
});

test("concurrent replaces all land, each answered once", async () => {
  const w = new AtomicFileWriter();
  const dir = path.join(tmpRoot, "many");
  fs.mkdirSync(dir);
  try {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        w.replace({ tmp: path.join(dir, `f${i}.tmp`), file: path.join(dir, `f${i}`), dir, text: `v${i}`, mode: 0o600 }),
      ),
    );
    for (let i = 0; i < 20; i++) assert.is(fs.readFileSync(path.join(dir, `f${i}`), "utf8"), `v${i}`);
    assert.is((fs.statSync(path.join(dir, "f0")).mode & 0o777).toString(8), "600");
  } finally {
    await w.close();
  }
});

test("a process that wrote and never closed the store exits by itself, with the write on disk", () => {
  const dir = path.join(tmpRoot, "exit");
  const script = `
    import { pino } from "pino";
    import { EmbeddedStore } from "./server/store/index.ts";
    import { parsePolicyInput } from "./policy/index.ts";
    const s = await EmbeddedStore.open({ dataDir: ${JSON.stringify(dir)}, logger: pino({ level: "silent" }) });
    // No await: only the pending write may keep the process alive until it is on disk.
    const r = parsePolicyInput({ metadata: { name: "p" }, spec: ${JSON.stringify(POLICY_SPEC)} });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    void s.put(r.policy);
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, timeout: 20_000, encoding: "utf8" });
  assert.is(r.signal, null, `killed: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  const data = JSON.parse(fs.readFileSync(path.join(dir, "policies.json"), "utf8")) as { policies: Record<string, unknown> };
  assert.equal(Object.keys(data.policies), ["p"]);
});

test.run();
