// Istio-style identity through a real `hfi sidecar`: a Deployment named
// reviews-v1 with label app=reviews (as Bookinfo) is service "reviews", the
// way Istio's canonical service resolves it, and each sidecar holds one
// config stream per Wasm VM — the main thread's and one per worker.
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import type net from "node:net";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { startSidecar, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, abortPolicy, applyAndWait, closeAll, quietLogger, waitFor } from "./helpers.ts";

let server: TestServer;
let pc: PolicyClient;
let upstream: http.Server;
let reviews: RunningSidecar;

test.before(async () => {
  upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  reviews = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
    controlPlane: server.grpcAddress,
    workload: "reviews-v1",
    labels: { app: "reviews", version: "v1" },
    namespace: "bookinfo",
    serviceAccount: "bookinfo-reviews",
    workers: 2,
    wasm: FILTER_WASM,
    logger: quietLogger,
  });
});

test.after(async () => {
  await closeAll(reviews);
  pc?.close();
  await server?.close();
  await new Promise((r) => upstream?.close(r));
});

test("workers + 1 streams per sidecar, all as service reviews (from label app), version v1", async () => {
  const st = await waitFor(async () => {
    const s = await pc.status();
    return s.proxies.filter((p) => p.ackedVersion).length === 3 ? s : undefined;
  }, "3 streams (main thread + 2 workers)");
  assert.is(st.proxies.length, 3, "no stream from the canary VM");
  for (const p of st.proxies) {
    assert.is(p.identity!.service, "reviews");
    assert.is(p.identity!.namespace, "bookinfo");
    // From node metadata SERVICE_ACCOUNT: what --mesh-identity checks against the SPIFFE ID.
    assert.is(p.identity!.serviceAccount, "bookinfo-reviews");
  }
});

test("selector.service: reviews targets the reviews-v1 workload", async () => {
  await applyAndWait(pc, abortPolicy("reviews-down", { service: "reviews", namespace: "bookinfo" }, { path: "/reviews" }), 3);
  const res = await fetch(`http://${reviews.address}/reviews/1`);
  assert.is(res.status, 503);
  assert.is(res.headers.get("x-hfi-fault"), "reviews-down");
  assert.is((await fetch(`http://${reviews.address}/other`)).status, 200);
  await pc.delete("reviews-down");
});

test("a policy for the Deployment name does not match (Istio's service is the app label)", async () => {
  await pc.apply({ policy: abortPolicy("by-deployment", { service: "reviews-v1" }, { path: "/dep" }) });
  await waitFor(async () => ((await pc.status("by-deployment")).policies[0]?.targetedProxies === 0 ? true : undefined), "status computed");
  assert.is((await fetch(`http://${reviews.address}/dep`)).status, 200);
  await pc.delete("by-deployment");
});

test.run();
