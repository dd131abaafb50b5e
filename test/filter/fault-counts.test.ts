// Per-policy fault counts end to end: the compiled filter in 3 serving VMs
// (host worker threads) counts per rule and reports on its config stream; a
// real server over a real etcd adds them up. Checked: exact counts in
// Prometheus and GetPolicyStatus (per service and per proxy) equal to what
// the VMs did, nothing after delete or pause, faults injected while the
// control plane is down arrive after it is back, nothing counted twice
// across the restart, and the cardinality bound.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { VmPool } from "../../filter/host/pool.ts";
import { runHfi } from "../cli/run.ts";
import { waitAcked, waitFor, loadPool } from "./helpers.ts";
import type { Policy } from "../../proto/loader.ts";

const N = 20;
const REPORT_MS = 150;

const policy = (name: string, rules: NonNullable<Policy["spec"]>["rules"]): Policy => ({ metadata: { name }, spec: { selector: { service: "frontend" }, rules } });
const abortA = policy("abort-a", [{ match: { path: { prefix: "/a" } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }]);
const mixed = policy("mixed", [
  { match: { path: { prefix: "/d" } }, fault: { percentage: 100, delay: { fixedDelayMs: 5 } } },
  { match: { path: { prefix: "/p" } }, fault: { percentage: 50, abort: { httpStatus: 429 } } },
]);

/** One sample of a Prometheus text exposition (0 when absent). */
async function sample(server: TestServer, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (want.length === 0 && line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf("}"));
    const have = labelText.split(",");
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

const labels = (policy: string, rule: number, extra: Record<string, string> = {}) => ({ policy, rule: String(rule), ...extra, service: "frontend", namespace: "demo" });

async function sendEach(pool: VmPool, path: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n * pool.vms.length; i++) statuses.push((await pool.request({ path })).status);
  return statuses;
}

test("exact counts across 3 VMs; none after delete or pause; restart neither loses nor doubles", async () => {
  const etcd = await TestEtcd.start();
  const grpcAddr = `127.0.0.1:${await freePort()}`;
  let server: TestServer | undefined;
  let pc: PolicyClient | undefined;
  let pool: VmPool | undefined;
  try {
    server = await startTestServer({ etcd, grpcAddr });
    pc = new PolicyClient(grpcAddr);
    pool = await loadPool(grpcAddr, { service: "frontend", namespace: "demo" }, 3, { pluginConfig: JSON.stringify({ report_interval_ms: REPORT_MS }) });
    const vms = pool.allVms.length;
    assert.is(pool.vms.length, 3);
    await pc.apply({ policy: abortA });
    await pc.apply({ policy: mixed });
    await waitAcked(pc, "abort-a", vms);
    await waitAcked(pc, "mixed", vms);

    assert.ok((await sendEach(pool, "/a", N)).every((s) => s === 503));
    await sendEach(pool, "/d", N);
    const p = await sendEach(pool, "/p", N);
    const aborted429 = p.filter((s) => s === 429).length;
    assert.ok(aborted429 > 0 && aborted429 < 3 * N, `50 % of ${3 * N}: ${aborted429}`);

    const s = server;
    await waitFor(async () => (await sample(s, "hfi_faults_injected_total", labels("abort-a", 0, { kind: "abort" }))) === 3 * N, "abort counts");
    await waitFor(async () => (await sample(s, "hfi_fault_requests_matched_total", labels("mixed", 1))) === 3 * N, "matched /p");
    assert.is(await sample(s, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" })), 3 * N);
    const delaySeconds = await sample(s, "hfi_fault_delay_seconds_total", labels("mixed", 0));
    assert.ok(Math.abs(delaySeconds - (3 * N * 5) / 1000) < 1e-9, `delay seconds ${delaySeconds}`);
    assert.is(await sample(s, "hfi_fault_aborts_total", labels("mixed", 1, { status: "429" })), aborted429);
    assert.is(await sample(s, "hfi_fault_requests_skipped_total", labels("mixed", 1, { reason: "percentage" })), 3 * N - aborted429);
    // The same as the filter's own Envoy counters.
    const envoy = pool.metrics();
    assert.is(envoy["wasmcustom.hfi_faults_aborts_total"], 3 * N + aborted429);

    // GetPolicyStatus: per service, then per proxy (each serving VM did N).
    const st = (await pc.status("abort-a")).policies[0]!;
    assert.is(Number(st.faultsTotal!.aborted), 3 * N);
    const perService = st.faults.filter((f) => !f.proxyId);
    assert.equal(perService.map((f) => [f.service, f.namespace, f.rule, f.abortStatus, Number(f.totals!.aborted)]), [["frontend", "demo", 0, 503, 3 * N]]);
    const perProxy = st.faults.filter((f) => f.proxyId).map((f) => Number(f.totals!.aborted)).sort();
    assert.equal(perProxy, [N, N, N]);
    const cli = await runHfi(["policy", "status", "abort-a", "--server", grpcAddr]);
    assert.match(cli.stdout, `abort 503: ${3 * N}`);

    // Deleted: requests pass and nothing more is counted.
    await pc.delete("abort-a");
    await waitFor(async () => (await pc!.status()).proxies.every((p) => !p.policies.includes("abort-a") && p.ackedVersion === p.sentVersion), "deletion ACKed");
    assert.ok((await sendEach(pool, "/a", N)).every((x) => x === 200));
    await new Promise((r) => setTimeout(r, REPORT_MS * 4));
    assert.is(await sample(s, "hfi_faults_injected_total", labels("abort-a", 0, { kind: "abort" })), 3 * N);

    // Paused: no injection, no counts.
    assert.is((await runHfi(["pause", "--server", grpcAddr])).code, 0);
    await waitFor(async () => (await sendEach(pool!, "/d", 1)) && (await pc!.status("mixed")).policies[0]!.paused, "paused");
    await waitAcked(pc, "mixed", vms);
    const delaysBefore = await sample(s, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" }));
    await sendEach(pool, "/d", N);
    await new Promise((r) => setTimeout(r, REPORT_MS * 4));
    assert.is(await sample(s, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" })), delaysBefore);
    assert.is((await runHfi(["resume", "--server", grpcAddr])).code, 0);
    await waitAcked(pc, "mixed", vms);
    await waitFor(async () => !(await pc!.status("mixed")).policies[0]!.paused, "resumed");

    // Control plane down: the filters keep injecting (last snapshot) and report once it is back.
    await server.close();
    server = undefined;
    await sendEach(pool, "/d", N);
    server = await startTestServer({ etcd, grpcAddr });
    const s2 = server;
    await waitFor(async () => (await sample(s2, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" }))) === 3 * N, "downtime delays reported", 20_000);
    // Then exactly what happens next, on top: nothing from before the restart counted again.
    await sendEach(pool, "/d", N);
    await waitFor(async () => (await sample(s2, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" }))) === 6 * N, "post-restart delays");
    await new Promise((r) => setTimeout(r, REPORT_MS * 4));
    assert.is(await sample(s2, "hfi_faults_injected_total", labels("mixed", 0, { kind: "delay" })), 6 * N);
    assert.is(await sample(s2, "hfi_faults_injected_total", labels("abort-a", 0, { kind: "abort" })), 0);
    assert.ok(pool.vms.every((vm) => vm.stats.crashes === 0));
  } finally {
    await pool?.close();
    pc?.close();
    await server?.close();
    await etcd.stop();
  }
});

test("cardinality bound: label sets past --max-fault-series are counted under _overflow", async () => {
  const server = await startTestServer({ maxFaultSeries: 2 });
  const pc = new PolicyClient(server.grpcAddress);
  const pool = await loadPool(server.grpcAddress, { service: "frontend", namespace: "demo" }, 1, { pluginConfig: JSON.stringify({ report_interval_ms: REPORT_MS }) });
  try {
    for (const name of ["p1", "p2", "p3"]) {
      await pc.apply({ policy: policy(name, [{ match: { path: { exact: `/${name}` } }, fault: { percentage: 100, abort: { httpStatus: 500 } } }]) });
      await waitAcked(pc, name, pool.allVms.length);
      await pool.request({ path: `/${name}` });
      // One at a time: the first two label sets are taken before the third arrives.
      await waitFor(async () => (await sample(server, "hfi_fault_requests_matched_total", { policy: name, rule: "0", service: "frontend", namespace: "demo" })) === 1 || name === "p3", `${name} counted`);
    }
    await waitFor(async () => (await sample(server, "hfi_faults_injected_total", { policy: "_overflow", rule: "0", kind: "abort", service: "_overflow", namespace: "_overflow" })) === 1, "overflow series");
    assert.is(await sample(server, "hfi_faults_injected_total", { policy: "p3", rule: "0", kind: "abort", service: "frontend", namespace: "demo" }), 0);
    assert.ok((await sample(server, "hfi_fault_series_overflow_total", {})) >= 1);
    assert.is(server.streams.faults.series.size, 3); // 2 + the one overflow set
  } finally {
    await pool.close();
    pc.close();
    await server.close();
  }
});

test.run();
