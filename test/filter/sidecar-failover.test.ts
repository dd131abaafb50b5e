// `hfi sidecar --control-plane a,b`: the filter's config stream goes to the
// first address that answers and moves to the next when its replica goes
// away (two replicas on one real etcd, the compiled filter in the host).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { PolicyClient, startTestServer } from "../support/server.ts";
import { startSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, abortPolicy, quietLogger, waitFor } from "./helpers.ts";

test("a dead first address and a replica that goes away: faults keep coming from the next one", async () => {
  const etcd = await TestEtcd.start();
  const a = await startTestServer({ etcd });
  const b = await startTestServer({ etcd });
  const upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  const dead = `127.0.0.1:${await freePort()}`;
  const pcB = new PolicyClient(b.grpcAddress);
  const sidecar = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: upstreamUrl,
    controlPlane: `${dead},${a.grpcAddress},${b.grpcAddress}`,
    service: "frontend",
    namespace: "demo",
    wasm: FILTER_WASM,
    logger: quietLogger,
  });
  const status = async (path: string) => (await fetch(`http://${sidecar.address}${path}`)).status;
  try {
    await pcB.apply({ policy: abortPolicy("first", { service: "frontend" }, { status: 418, path: "/first" }) });
    await waitFor(async () => (await status("/first")) === 418, "policy via the second address", 20_000);
    // Its stream is on A (the first address that answers); B reports it through the shared status board.
    await waitFor(async () => (await pcB.status("first")).proxies.some((p) => p.replica === a.replicaId), "the stream on A", 20_000);
    await a.close();
    await pcB.apply({ policy: abortPolicy("second", { service: "frontend" }, { status: 419, path: "/second" }) });
    await waitFor(async () => (await status("/second")) === 419, "policy after A went away", 30_000);
    assert.is(await status("/first"), 418, "the held rules stayed");
  } finally {
    await sidecar.close();
    pcB.close();
    await a.close().catch(() => {});
    await b.close();
    await new Promise((r) => upstream.close(r));
    await etcd.stop();
  }
});

test.run();
