// Issue 12's request-side faults end to end through `hfi sidecar` (the
// proxy, worker VMs running the compiled filter, the real control plane, a
// real upstream over HTTP): delay distributions, the gRPC shorthand.
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { startSidecar, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, applyAndWait, closeAll, quietLogger, waitConnected } from "./helpers.ts";
import type { Policy } from "../../proto/loader.ts";

let server: TestServer;
let pc: PolicyClient;
let upstream: http.Server;
let sidecar: RunningSidecar;
let base: string;
let upstreamCalls = 0;

test.before(async () => {
  upstream = http.createServer((req, res) => {
    upstreamCalls++;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  sidecar = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
    controlPlane: server.grpcAddress,
    service: "frontend",
    namespace: "demo",
    workers: 2,
    wasm: FILTER_WASM,
    metricsAddr: "127.0.0.1:0",
    logger: quietLogger,
  });
  base = `http://${sidecar.address}`;
  await waitConnected(pc, 2);
});

test.after(async () => {
  await closeAll(sidecar);
  pc?.close();
  await server?.close();
  await new Promise((r) => upstream?.close(r));
});

const policy = (name: string, rules: NonNullable<Policy["spec"]>["rules"]): Policy => ({
  metadata: { name },
  spec: { selector: { service: "frontend", namespace: "demo" }, rules },
});

async function delayStats(): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`http://${sidecar.metricsAddress}/stats/prometheus`)).text();
  const count = Number(/wasmcustom_hfi_delay_ms_count (\d+)/.exec(text)?.[1] ?? 0);
  const sum = Number(/wasmcustom_hfi_delay_ms_sum (\d+)/.exec(text)?.[1] ?? 0);
  return { count, sum };
}

test("delay.uniform: each request waits a draw from [min_ms, max_ms], then reaches the upstream", async () => {
  await applyAndWait(pc, policy("fe-uniform", [{ match: { path: { prefix: "/uniform" } }, fault: { percentage: 100, delay: { uniform: { minMs: 300, maxMs: 400 } } } }]), 2);
  const before = await delayStats();
  const calls = upstreamCalls;
  const times = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/uniform/x`);
      assert.is(res.status, 200);
      await res.text();
      return performance.now() - t0;
    }),
  );
  for (const ms of times) assert.ok(ms >= 299, `held ${ms.toFixed(1)} ms`);
  assert.is(upstreamCalls - calls, 6);
  // The filter's delay histogram holds the draws themselves.
  const after = await delayStats();
  assert.is(after.count - before.count, 6);
  const sum = after.sum - before.sum;
  assert.ok(sum >= 6 * 300 && sum <= 6 * 400, `draws sum to ${sum}`);
});

test("delay.lognormal: draws around the median, recorded per request", async () => {
  await applyAndWait(pc, policy("fe-lognormal", [{ match: { path: { prefix: "/tail" } }, fault: { percentage: 100, delay: { lognormal: { p50Ms: 20, p99Ms: 40 } } } }]), 2);
  const before = await delayStats();
  const n = 40;
  await Promise.all(Array.from({ length: n }, async () => (await fetch(`${base}/tail/x`)).text()));
  const after = await delayStats();
  assert.is(after.count - before.count, n);
  // Mean of this lognormal: 20 * exp(sigma^2 / 2) = 20.9 ms, standard error 1 ms over 40 draws.
  const mean = (after.sum - before.sum) / n;
  assert.ok(mean >= 15 && mean <= 27, `mean draw ${mean}`);
});

test("match.grpc compiles to the path: the service's calls get the gRPC-aware abort, others pass", async () => {
  await applyAndWait(
    pc,
    policy("fe-grpc", [
      { match: { grpc: { service: "demo.Catalog", method: "*" } }, fault: { percentage: 100, abort: { httpStatus: 503, grpcStatus: 14 } } },
      { match: { grpc: { service: "*", method: "Ping" } }, fault: { percentage: 100, abort: { httpStatus: 418 } } },
    ]),
    2,
  );
  const grpcCall = (path: string) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/grpc", te: "trailers" }, body: new Uint8Array(5) });
  const hit = await grpcCall("/demo.Catalog/ListProducts");
  assert.is(hit.status, 200, "gRPC aborts are HTTP 200 with a grpc-status (trailers-only)");
  assert.is(hit.headers.get("grpc-status"), "14");
  assert.is(hit.headers.get("x-hfi-fault"), "fe-grpc");
  const other = await grpcCall("/demo.Cart/ListProducts");
  assert.is(other.status, 200);
  assert.is(other.headers.get("grpc-status"), null, "another service reaches the upstream");
  assert.match(await other.text(), /demo\.Cart/);
  // service "*": any service's Ping; plain HTTP gets the HTTP status.
  assert.is((await fetch(`${base}/demo.Cart/Ping`)).status, 418);
  assert.is((await fetch(`${base}/demo.Cart/Ping/more`)).status, 200, "exactly /<service>/<method>");
});

test.run();
