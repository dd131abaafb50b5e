// Fault counts aggregated across replicas (two servers on one etcd: each
// counts its own filters, GetPolicyStatus on either sums both through the
// status board) and across the workers of one replica (`--workers 2` as a
// real process: /metrics and status of the primary cover every worker; the
// pause switch reaches filters on every worker).
// The compiled filter in the host reports; nothing is faked.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { loadFilter, waitAcked } from "../filter/helpers.ts";
import { createPolicyClient } from "../../cli/client/index.ts";
import type { WasmVm } from "../../filter/host/vm.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REPORTS = { pluginConfig: JSON.stringify({ report_interval_ms: 100 }) };
const abortAll = { metadata: { name: "abort-web" }, spec: { selector: { service: "web" }, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] } };

async function injected(httpAddress: string): Promise<number> {
  const text = await (await fetch(`http://${httpAddress}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('hfi_faults_injected_total{policy="abort-web"') && l.includes('kind="abort"'));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function requests(vm: WasmVm, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.is((await vm.request({ path: "/" })).status, 503);
}

test("replicas: each exposes its own filters' counts; status on either sums both", async () => {
  const etcd = await TestEtcd.start();
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  const vms: WasmVm[] = [];
  const pcs: PolicyClient[] = [];
  try {
    a = await startTestServer({ etcd, replicaId: "a", statusCacheMs: 0 });
    b = await startTestServer({ etcd, replicaId: "b", statusCacheMs: 0 });
    const pa = new PolicyClient(a.grpcAddress);
    const pb = new PolicyClient(b.grpcAddress);
    pcs.push(pa, pb);
    await pa.apply({ policy: abortAll });
    vms.push(await loadFilter(a.grpcAddress, { service: "web", namespace: "demo", pod: "web-a" }, REPORTS));
    vms.push(await loadFilter(b.grpcAddress, { service: "web", namespace: "demo", pod: "web-b" }, REPORTS));
    // Counted over both replicas (A lists only its own proxies).
    await waitFor(async () => (await pa.status("abort-web")).policies[0]!.ackedCount === 2, "both filters ACKed", 15_000);
    await requests(vms[0]!, 7);
    await requests(vms[1]!, 5);
    await waitFor(async () => (await injected(a!.httpAddress)) === 7 && (await injected(b!.httpAddress)) === 5, "each replica's own counts");
    for (const pc of [pa, pb]) {
      const st = await waitFor(async () => {
        const p = (await pc.status("abort-web")).policies[0]!;
        return Number(p.faultsTotal?.aborted) === 12 ? p : undefined;
      }, "summed over both replicas");
      const perService = st.faults.filter((f) => !f.proxyId);
      assert.equal(perService.map((f) => [f.service, f.namespace, Number(f.totals!.aborted)]), [["web", "demo", 12]]);
      // Per proxy: the answering replica's own.
      const own = st.faults.filter((f) => f.proxyId).map((f) => Number(f.totals!.aborted));
      assert.equal(own, [pc === pa ? 7 : 5]);
    }
  } finally {
    for (const vm of vms) await vm.close();
    for (const pc of pcs) pc.close();
    await a?.close();
    await b?.close();
    await etcd.stop();
  }
});

test("workers: the primary's /metrics and status cover the filters of every worker", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-counts-workers-"));
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "test/server/fixtures/server-process.ts"), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--workers", "2", "--data-dir", dataDir],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.once("exit", r));
  const vms: WasmVm[] = [];
  let pc: PolicyClient | undefined;
  try {
    const listening = await waitFor(() => {
      const line = out.split("\n").find((l) => l.includes('"hfi server listening"'));
      return line ? (JSON.parse(line) as { grpcAddress: string; httpAddress: string; workers: number }) : undefined;
    }, "server listening", 30_000);
    assert.is(listening.workers, 2);
    pc = new PolicyClient(listening.grpcAddress);
    await pc.apply({ policy: abortAll });
    // Connections are handed out round-robin: the VMs land on both workers.
    for (let i = 0; i < 4; i++) vms.push(await loadFilter(listening.grpcAddress, { service: "web", namespace: "demo", pod: `web-${i}` }, REPORTS));
    await waitAcked(pc, "abort-web", 4, 15_000);
    for (let i = 0; i < vms.length; i++) await requests(vms[i]!, i + 1);
    await waitFor(async () => (await injected(listening.httpAddress)) === 10, "10 aborts summed over the workers", 15_000);
    const st = await waitFor(async () => {
      const p = (await pc!.status("abort-web")).policies[0]!;
      return Number(p.faultsTotal?.aborted) === 10 ? p : undefined;
    }, "status over the workers");
    assert.equal(st.faults.filter((f) => f.proxyId).map((f) => Number(f.totals!.aborted)).sort(), [1, 2, 3, 4]);
    // The pause switch through a worker (its store calls and the switch's watch go over IPC to the primary).
    const client = createPolicyClient({ server: listening.grpcAddress });
    try {
      assert.ok((await client.pausePolicies({ all: true })).all);
      await waitFor(async () => {
        for (const vm of vms) if ((await vm.request({ path: "/" })).status !== 200) return false;
        return true;
      }, "every VM on both workers paused");
      await client.resumePolicies({ all: true });
      await waitFor(async () => (await vms[3]!.request({ path: "/" })).status === 503, "resumed");
    } finally {
      client.close();
    }
  } finally {
    for (const vm of vms) await vm.close();
    pc?.close();
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
