// Control plane restarts (policies in a real etcd): filters keep faulting
// with their last snapshot while it is down, reconnect by themselves when it
// is back, and pick up changes made afterwards.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { VmPool } from "../../filter/host/pool.ts";
import { abortPolicy, applyAndWait, waitAcked, waitFor, loadPool } from "./helpers.ts";

test("control plane down and back: last snapshot keeps faulting, filters reconnect and converge", async () => {
  const etcd = await TestEtcd.start();
  const port = await freePort();
  const grpcAddr = `127.0.0.1:${port}`;
  let server: TestServer | undefined;
  let pc: PolicyClient | undefined;
  let pool: VmPool | undefined;
  try {
    server = await startTestServer({ etcd, grpcAddr });
    pc = new PolicyClient(grpcAddr);
    pool = await loadPool(grpcAddr, { service: "frontend", namespace: "demo" }, 2);
    // Every VM holds a stream: the main thread's and the 2 workers' (as in Envoy).
    const streams = pool.allVms.length;
    assert.is(streams, 3);
    await applyAndWait(pc, abortPolicy("before-restart", { service: "frontend" }, { path: "/r1", status: 503 }), streams);

    await server.close();
    server = undefined;
    // Down: every worker still applies the last snapshot (fail static, not fail open).
    for (let i = 0; i < 10; i++) assert.is((await pool.request({ path: "/r1" })).status, 503);
    await waitFor(() => pool!.vms.every((vm) => vm.grpcStreamCount === 0 || vm.metrics()["wasmcustom.hfi_config_reconnects_total"]! > 0), "stream loss noticed");
    await new Promise((r) => setTimeout(r, 700));
    for (let i = 0; i < 4; i++) assert.is((await pool.request({ path: "/r1" })).status, 503);

    server = await startTestServer({ etcd, grpcAddr });
    await waitAcked(pc, "before-restart", streams, 20_000);
    assert.ok(pool.metrics()["wasmcustom.hfi_config_reconnects_total"]! >= 2, "both workers reconnected");

    // Changes after the restart reach both workers.
    await applyAndWait(pc, abortPolicy("after-restart", { service: "frontend" }, { path: "/r2", status: 429 }), streams);
    for (let i = 0; i < 4; i++) assert.is((await pool.request({ path: "/r2" })).status, 429);
    await pc.delete("before-restart");
    await waitFor(async () => {
      const rs = await Promise.all([pool!.request({ path: "/r1" }), pool!.request({ path: "/r1" })]);
      return rs.every((r) => r.status === 200);
    }, "deletion reaching both workers");
    assert.ok(pool.vms.every((vm) => vm.stats.crashes === 0));
  } finally {
    await pool?.close();
    pc?.close();
    await server?.close();
    await etcd.stop();
  }
});

test.run();
