// `hfi policy apply --wait` / `delete --wait` and the client's {wait}: the
// real CLI against a real server; proxies are the compiled filter in the host
// (which ACKs), and filter stand-ins on StreamConfig that never answer or NACK.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer, TestSubscriber, type TestServer } from "../support/server.ts";
import { createPolicyClient, ConvergenceError } from "../../cli/client/index.ts";
import { loadFilter, waitConnected } from "../filter/helpers.ts";
import { PolicyClient } from "../support/server.ts";
import { runHfi } from "./run.ts";
import type { WasmVm } from "../../filter/host/vm.ts";

const doc = (name: string, service: string, status = 503) =>
  JSON.stringify({ metadata: { name }, spec: { selector: { service }, rules: [{ fault: { percentage: 100, abort: { httpStatus: status } } }] } });

let server: TestServer;
let dir: string;
let vm: WasmVm;
const subs: TestSubscriber[] = [];
const file = (name: string, service: string, status?: number) => {
  const f = path.join(dir, `${name}-${status ?? 503}.json`);
  fs.writeFileSync(f, doc(name, service, status));
  return f;
};
const hfi = (...args: string[]) => runHfi([...args, "--server", server.grpcAddress]);

test.before(async () => {
  server = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-wait-"));
  vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" });
  const pc = new PolicyClient(server.grpcAddress);
  await waitConnected(pc, 1);
  pc.close();
});

test.after(async () => {
  for (const s of subs) s.close();
  await vm?.close();
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("apply --wait returns once the filter ACKed; delete --wait once it dropped the policy", async () => {
  const r = await hfi("policy", "apply", "-f", file("ok", "frontend"), "--wait=20s");
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /policy "ok" version \d+ ACKed by 1\/1 proxies/);
  // Converged means applied: the very next request is faulted.
  assert.is((await vm.request({ path: "/" })).status, 503);
  const d = await hfi("policy", "delete", "ok", "--wait");
  assert.is(d.code, 0, d.stderr);
  assert.match(d.stdout, 'policy "ok" removed from every proxy');
  assert.is((await vm.request({ path: "/" })).status, 200);
});

test("apply --wait times out naming the proxy that did not ACK; the policy stays stored", async () => {
  const silent = new TestSubscriber(server.grpcAddress, { service: "quiet", namespace: "demo", proxyId: "silent-1" }, { silent: true });
  subs.push(silent);
  await silent.waitFor(() => true);
  const r = await hfi("policy", "apply", "-f", file("slow", "quiet"), "--wait=1s");
  assert.is(r.code, 1);
  assert.match(r.stderr, 'policy "slow" version');
  assert.match(r.stderr, "not applied within 1000 ms: 1 of 1 proxies have not ACKed it: silent-1");
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    assert.ok(await client.getPolicy("slow"), "stored although not converged");
    const err = await client.applyPolicy(JSON.parse(doc("slow", "quiet", 500)), { wait: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, ConvergenceError);
    assert.is((err as ConvergenceError).code, "DEADLINE_EXCEEDED");
    assert.equal((err as ConvergenceError).pending.map((p) => p.identity?.proxyId), ["silent-1"]);
    // delete --wait: the silent proxy never ACKs the snapshot without it.
    const d = await hfi("policy", "delete", "slow", "--wait=500ms");
    assert.is(d.code, 1);
    assert.match(d.stderr, 'deletion of policy "slow" not applied within 500 ms', `stderr: ${d.stderr}`);
    assert.match(d.stderr, "silent-1");
  } finally {
    client.close();
    silent.close();
  }
});

test("apply --wait fails at once on a NACK, with the proxy and its reason", async () => {
  const nacker = new TestSubscriber(
    server.grpcAddress,
    { service: "picky", namespace: "demo", proxyId: "nacker-1" },
    { nack: (s) => (s.policies.some((p) => p.name === "picky") ? "policies[0]: unsupported by this build" : undefined) },
  );
  subs.push(nacker);
  await nacker.waitFor(() => true);
  const r = await hfi("policy", "apply", "-f", file("picky", "picky"), "--wait=30s");
  assert.is(r.code, 1);
  assert.match(r.stderr, /policy "picky" version \d+ was rejected by 1 of 1 proxies: nacker-1 \(policies\[0\]: unsupported by this build\)/);
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    const err = await client.applyPolicy(JSON.parse(doc("picky", "picky", 500)), { wait: 30_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, ConvergenceError);
    assert.is((err as ConvergenceError).code, "FAILED_PRECONDITION");
    assert.is((err as ConvergenceError).nacked[0]!.error, "policies[0]: unsupported by this build");
    // A policy the filter accepts, with the client: resolves with the converged status.
    const ok = await client.applyPolicy(JSON.parse(doc("fine", "frontend")), { wait: 20_000 });
    assert.is(ok.status?.ackedCount, 1);
    assert.is(ok.status?.targetedProxies, 1);
  } finally {
    client.close();
  }
});

test.run();
