// The kill switch end to end: `hfi pause` (the real CLI) changes the switch
// in a real etcd, the server pushes it to every filter VM (main thread + 2
// workers, the compiled .wasm in the host), requests held by a delay go on at
// once, nothing is injected while paused (also after a control-plane
// restart, and after the paused policy is edited), and `hfi resume` undoes it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { VmPool } from "../../filter/host/pool.ts";
import type { RequestResult } from "../../filter/host/http-stream.ts";
import { runHfi } from "../cli/run.ts";
import { abortPolicy, applyAndWait, waitAcked, waitFor, loadPool } from "./helpers.ts";
import type { Policy } from "../../proto/loader.ts";

const delayPolicy = (name: string, ms: number): Policy => ({
  metadata: { name },
  spec: { selector: { service: "frontend" }, rules: [{ match: { path: { prefix: "/slow" } }, fault: { percentage: 100, delay: { fixedDelayMs: ms } } }] },
});

/** Resolves with the result, or with "still held" when the request has not finished within `ms`. */
function settledWithin(p: Promise<RequestResult>, ms: number): Promise<RequestResult | "still held"> {
  return Promise.race([p, new Promise<"still held">((r) => setTimeout(() => r("still held"), ms).unref())]);
}

async function statusesOf(pool: VmPool, path: string): Promise<number[]> {
  // Two rounds over the worker VMs: each serves requests.
  const out: number[] = [];
  for (let i = 0; i < pool.vms.length * 2; i++) out.push((await pool.request({ path })).status);
  return out;
}

test("pause reaches every VM, releases held requests, survives restart and edits; resume restores", async () => {
  const etcd = await TestEtcd.start();
  const grpcAddr = `127.0.0.1:${await freePort()}`;
  let server: TestServer | undefined;
  let pc: PolicyClient | undefined;
  let pool: VmPool | undefined;
  const hfi = (...args: string[]) => runHfi([...args, "--server", grpcAddr]);
  try {
    server = await startTestServer({ etcd, grpcAddr });
    pc = new PolicyClient(grpcAddr);
    pool = await loadPool(grpcAddr, { service: "frontend", namespace: "demo" }, 2);
    const vms = pool.allVms.length;
    assert.is(vms, 3);
    await applyAndWait(pc, abortPolicy("kill-me", { service: "frontend" }, { path: "/a", status: 503 }), vms);
    // A delay far longer than this test: only a release can finish these requests.
    await applyAndWait(pc, delayPolicy("hold", 120_000), vms);
    assert.equal(await statusesOf(pool, "/a"), [503, 503, 503, 503]);
    const held = [pool.request({ path: "/slow" }), pool.request({ path: "/slow" }), pool.request({ path: "/slow" })];
    await waitFor(() => pool!.vms.every((vm) => vm.metrics()["wasmcustom.hfi_faults_delays_total"]! >= 1), "delays started on both workers");
    assert.is(await settledWithin(held[0]!, 300), "still held");

    const paused = await hfi("pause");
    assert.is(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, "paused: ALL policies");
    // Released at once (not after 120 s), passed upstream untouched.
    for (const r of await Promise.all(held.map((h) => settledWithin(h, 15_000)))) {
      assert.ok(r !== "still held", "a held request was released by pause");
      assert.is((r as RequestResult).kind, "continued");
      assert.is((r as RequestResult).status, 200);
    }
    // Every VM ACKed the paused snapshot; nothing is injected anywhere.
    await waitAcked(pc, "kill-me", vms);
    const st = await pc.status();
    assert.ok(st.pause?.all);
    assert.ok(st.policies.every((p) => p.paused));
    assert.equal(await statusesOf(pool, "/a"), [200, 200, 200, 200]);
    assert.is((await settledWithin(pool.request({ path: "/slow" }), 15_000)) !== "still held", true);

    // Shown by list and status.
    const list = await hfi("policy", "list");
    assert.match(list.stdout, "paused: ALL policies");
    const status = await hfi("policy", "status");
    assert.match(status.stdout, "kill-me (paused)");

    // A paused policy can be edited: the edit is stored and pushed, still paused.
    await applyAndWait(pc, abortPolicy("kill-me", { service: "frontend" }, { path: "/a", status: 429 }), vms);
    assert.equal(await statusesOf(pool, "/a"), [200, 200, 200, 200]);

    // Control plane restart: the switch is in etcd, the new server pushes it paused.
    await server.close();
    server = await startTestServer({ etcd, grpcAddr });
    await waitAcked(pc, "kill-me", vms, 20_000);
    assert.ok((await pc.status()).pause?.all);
    assert.equal(await statusesOf(pool, "/a"), [200, 200, 200, 200]);

    const resumed = await hfi("resume");
    assert.is(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, "nothing paused");
    await waitFor(async () => (await statusesOf(pool!, "/a")).every((s) => s === 429), "injection back on every worker");

    // One policy by name; a namespace (this workload's, then another's).
    assert.is((await hfi("pause", "kill-me")).code, 0);
    await waitFor(async () => (await statusesOf(pool!, "/a")).every((s) => s === 200), "kill-me paused by name");
    assert.is((await pc.status("kill-me")).policies[0]!.paused, true);
    assert.is((await pc.status("hold")).policies[0]!.paused, false);
    assert.is((await hfi("resume", "kill-me")).code, 0);
    await waitFor(async () => (await statusesOf(pool!, "/a")).every((s) => s === 429), "kill-me resumed");
    assert.is((await hfi("pause", "--namespace", "elsewhere")).code, 0);
    await waitAcked(pc, "kill-me", vms);
    assert.equal(await statusesOf(pool, "/a"), [429, 429, 429, 429]);
    assert.is((await hfi("pause", "--namespace", "demo")).code, 0);
    await waitFor(async () => (await statusesOf(pool!, "/a")).every((s) => s === 200), "namespace demo paused");
    assert.is((await hfi("resume", "--namespace", "demo")).code, 0);
    await waitFor(async () => (await statusesOf(pool!, "/a")).every((s) => s === 429), "namespace demo resumed");
    assert.ok(pool.vms.every((vm) => vm.stats.crashes === 0));
  } finally {
    await pool?.close();
    pc?.close();
    await server?.close();
    await etcd.stop();
  }
});

test.run();
