// /readyz means "this replica can serve config streams", on a real
// `hfi server` with 2 workers and a real etcd: not ready until the policy
// view is loaded (etcd down at start), ready once it is, and still ready
// through an etcd outage, when new subscribers get the last good view;
// meanwhile /healthz/store and hfi_store_up report the store, and writes
// fail UNAVAILABLE.
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, TestSubscriber, waitFor } from "../support/server.ts";
import { spawnServer } from "../support/server-process.ts";

async function get(addr: string, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://${addr}${path}`);
  return { status: r.status, body: await r.text() };
}

test("readiness follows the view and the workers, not etcd; store health has its own endpoint and metric", async () => {
  const etcd = await TestEtcd.start();
  await etcd.kill(); // down before the server starts
  const server = await spawnServer(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--workers", "2", "--etcd-endpoints", etcd.endpoint]);
  const client = new PolicyClient(server.grpcAddress);
  const subs: TestSubscriber[] = [];
  try {
    const early = await get(server.httpAddress, "/readyz");
    assert.is(early.status, 503, "no view yet: cannot serve config streams");
    assert.match(early.body, /policy view not loaded yet/);
    assert.is((await get(server.httpAddress, "/healthz/store")).status, 503);

    await etcd.restart();
    await waitFor(async () => (await get(server.httpAddress, "/readyz")).status === 200, "ready once the views load", 20_000);
    assert.is((await get(server.httpAddress, "/healthz/store")).status, 200);
    await client.apply({ policy: { metadata: { name: "web-abort" }, spec: { selector: { service: "web" }, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] } } });
    const before = new TestSubscriber(server.grpcAddress, { service: "web", proxyId: "before" });
    subs.push(before);
    await before.waitFor((s) => s.policies.some((p) => p.name === "web-abort"));

    await etcd.kill();
    await waitFor(async () => (await get(server.httpAddress, "/healthz/store")).status === 503, "store health reports the outage", 20_000);
    assert.match((await get(server.httpAddress, "/metrics")).body, /^hfi_store_up\{store="etcd"\} 0$/m);
    const ready = await get(server.httpAddress, "/readyz");
    assert.is(ready.status, 200, `still ready: ${ready.body}`);
    // A sidecar that subscribes during the outage gets the last good view (from either worker).
    for (let i = 0; i < 4; i++) {
      const s = new TestSubscriber(server.grpcAddress, { service: "web", proxyId: `during-${i}` });
      subs.push(s);
      await s.waitFor((x) => x.policies.some((p) => p.name === "web-abort"), "last good view during the outage");
    }
    const write = await client
      .apply({ policy: { metadata: { name: "during" }, spec: { rules: [{ fault: { percentage: 1, abort: { httpStatus: 503 } } }] } } })
      .then(() => grpc.status.OK, (e: grpc.ServiceError) => e.code);
    assert.is(write, grpc.status.UNAVAILABLE, "writes fail while etcd is down");
  } finally {
    subs.forEach((s) => s.close());
    client.close();
    await server.stop();
    await etcd.stop();
  }
});

test.run();
