// Envoy's main-thread VM never sees a request and no proxy-wasm call tells it
// from a worker's, so each VM reports its first HTTP stream (a Serving
// message; later Subscribes carry serving = true) and status shows the
// others as idle: in a sidecar with 2 workers that had traffic, exactly one
// stream (the main thread's) stays idle. Real `hfi sidecar` (main + workers +
// canary, as Envoy), real control plane, real CLI output; the re-subscribe
// after a remote close is read on a fake control plane (the raw messages).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import type net from "node:net";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { startSidecar } from "../../filter/host/sidecar/proxy.ts";
import { statusText } from "../../cli/policy/read.ts";
import { FakeControlPlane } from "./fake-control-plane.ts";
import { FILTER_WASM, closeAll, loadFilter, quietLogger, waitFor } from "./helpers.ts";

test("a sidecar with 2 workers: all 3 streams idle until traffic, then only the main thread's", async () => {
  const upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const sidecar = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
    controlPlane: server.grpcAddress,
    service: "cart",
    namespace: "demo",
    workers: 2,
    wasm: FILTER_WASM,
    logger: quietLogger,
  });
  try {
    const before = await waitFor(async () => {
      const s = await pc.status();
      return s.proxies.filter((p) => p.ackedVersion).length === 3 ? s : undefined;
    }, "3 streams");
    assert.equal(before.proxies.map((p) => p.idle), [true, true, true], "no VM has handled a request yet");
    for (let i = 0; i < 4; i++) assert.is((await fetch(`http://${sidecar.address}/item/${i}`)).status, 200); // round-robin over the workers
    const after = await waitFor(async () => {
      const s = await pc.status();
      return s.proxies.filter((p) => p.idle).length === 1 ? s : undefined;
    }, "only one idle stream left");
    assert.is(after.proxies.length, 3);
    assert.is(after.proxies.filter((p) => !p.idle).length, 2, "both workers report serving");
    const text = statusText(after);
    assert.is(text.match(/\bACK idle\b/g)?.length, 1, text);
  } finally {
    await closeAll(sidecar);
    pc.close();
    await server.close();
    await new Promise((r) => upstream.close(r));
  }
});

test("the first request sends one Serving message; after a remote close the new Subscribe says serving", async () => {
  const fake = await FakeControlPlane.start();
  const vm = await loadFilter(fake.address, { service: "cart", namespace: "demo" });
  try {
    await fake.waitStream();
    assert.is(fake.requests[0]!.subscribe!.serving, false, "a fresh VM subscribes as not serving");
    await vm.request({ path: "/a" });
    await vm.request({ path: "/b" });
    await waitFor(() => fake.requests.some((r) => r.serving), "a Serving message");
    assert.is(fake.requests.filter((r) => r.serving).length, 1, "sent once, not per request");
    fake.endStream();
    await waitFor(() => fake.streams === 2 && fake.requests.filter((r) => r.subscribe).length === 2, "re-subscribe", 10_000);
    const again = fake.requests.filter((r) => r.subscribe)[1]!;
    assert.is(again.subscribe!.serving, true);
  } finally {
    await vm.close();
    await fake.close();
  }
});

test.run();
