// Issue 12's request-side faults end to end through `hfi sidecar` (the
// proxy, worker VMs running the compiled filter, the real control plane, a
// real upstream over HTTP): delay distributions, the gRPC shorthand,
// header-driven faults, caller matching (sidecars whose callers carry
// different peer identities, and the CLI's --peer-* flags).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { freePort } from "../support/ports.ts";
import { serializeProperty } from "../../filter/host/properties.ts";
import { connectionProperties, filterStateProperties, type DownstreamPeer } from "../../filter/host/peer.ts";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { startSidecar, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, applyAndWait, closeAll, quietLogger, waitConnected, waitFor, startFrontendSidecar } from "./helpers.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
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
  sidecar = await startFrontendSidecar(`http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, server.grpcAddress);
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
  const count = Number(/wasmcustom_hfi_fault_delay_milliseconds_count (\d+)/.exec(text)?.[1] ?? 0);
  const sum = Number(/wasmcustom_hfi_fault_delay_milliseconds_sum (\d+)/.exec(text)?.[1] ?? 0);
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

test("fault.header_control: a request names its own fault within the rule's bounds; others pass untouched", async () => {
  await applyAndWait(
    pc,
    policy("fe-on-demand", [
      { match: { path: { prefix: "/on-demand" } }, fault: { headerControl: { maxDelayMs: 500, allowAbort: true } } },
      { match: { path: { prefix: "/delay-only" } }, fault: { headerControl: { maxDelayMs: 500 } } },
      { match: { path: { prefix: "/plain" } }, fault: { percentage: 100, delay: { fixedDelayMs: 1 } } },
    ]),
    2,
  );
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const calls = upstreamCalls;
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, { headers });
    const body = await res.text();
    return { status: res.status, fault: res.headers.get("x-hfi-fault"), body, ms: performance.now() - t0, reached: upstreamCalls - calls };
  };

  const none = await get("/on-demand/a");
  assert.equal([none.status, none.reached], [200, 1], "no control header: untouched");

  const teapot = await get("/on-demand/a", { "x-hfi-abort-status": "418" });
  assert.equal([teapot.status, teapot.fault, teapot.body, teapot.reached], [418, "fe-on-demand", "", 0]);

  let before = await delayStats();
  const slow = await get("/on-demand/a", { "x-hfi-delay-ms": "300" });
  let after = await delayStats();
  assert.equal([slow.status, slow.reached], [200, 1]);
  assert.ok(slow.ms >= 299, `held ${slow.ms.toFixed(1)} ms`);
  assert.equal([after.count - before.count, after.sum - before.sum], [1, 300], "delayed exactly the asked 300 ms");

  before = await delayStats();
  await get("/on-demand/a", { "x-hfi-delay-ms": "100000" });
  after = await delayStats();
  assert.is(after.sum - before.sum, 500, "cut to max_delay_ms");

  // Delay, then abort, when both are asked for.
  const both = await get("/on-demand/a", { "x-hfi-delay-ms": "50", "x-hfi-abort-status": "503" });
  assert.equal([both.status, both.reached], [503, 0]);
  assert.ok(both.ms >= 49);

  // Values out of range or malformed ask for nothing.
  const malformed: Record<string, string>[] = [{ "x-hfi-abort-status": "700" }, { "x-hfi-abort-status": "4l8" }, { "x-hfi-abort-status": "418", "x-hfi-percentage": "half" }, { "x-hfi-abort-status": "418", "x-hfi-percentage": "100.5" }];
  for (const h of malformed) {
    const r = await get("/on-demand/a", h);
    assert.equal([r.status, r.reached], [200, 1], JSON.stringify(h));
  }
  assert.is((await get("/on-demand/a", { "x-hfi-abort-status": "418", "x-hfi-percentage": "0" })).status, 200);
  assert.is((await get("/on-demand/a", { "x-hfi-abort-status": "418", "x-hfi-percentage": "100.0000" })).status, 418);

  // Off unless enabled: allow_abort false, or a rule without header_control, ignores the headers.
  assert.is((await get("/delay-only/a", { "x-hfi-abort-status": "418" })).status, 200);
  before = await delayStats();
  const plain = await get("/plain/a", { "x-hfi-abort-status": "418", "x-hfi-delay-ms": "400" });
  after = await delayStats();
  assert.is(plain.status, 200);
  assert.equal([after.count - before.count, after.sum - before.sum], [1, 1], "a rule without header_control keeps its own 1 ms delay");

  // x-hfi-percentage: 50 → about half of the asking requests (binomial, 200 draws: sd 7).
  const results = await Promise.all(Array.from({ length: 200 }, () => get("/on-demand/p", { "x-hfi-abort-status": "429", "x-hfi-percentage": "50" })));
  const aborted = results.filter((r) => r.status === 429).length;
  assert.ok(aborted >= 65 && aborted <= 135, `${aborted} of 200 aborted at 50 %`);
});

test("host model of the downstream peer: connection.* without TLS, Istio's peer metadata readable field by field", () => {
  assert.equal(connectionProperties(undefined), { mtls: false });
  assert.equal(connectionProperties({ principal: "spiffe://cluster.local/ns/demo/sa/checkout" }), { mtls: true, uri_san_peer_certificate: "spiffe://cluster.local/ns/demo/sa/checkout" });
  const fs = filterStateProperties({ service: "checkout", namespace: "demo" });
  assert.is((fs.downstream_peer as Record<string, string>).service, "checkout");
  // As Envoy's field-support wrapper: the whole object serialises as an empty map (0 pairs).
  assert.equal([...serializeProperty(fs.downstream_peer)!], [0, 0, 0, 0]);
  assert.equal(filterStateProperties({ principal: "spiffe://x/ns/a/sa/b" }), {}, "no peer metadata: no downstream_peer");
});

test("match.source: the caller by mTLS principal or Istio peer metadata; unknown callers match nothing", async () => {
  const callers: Record<string, DownstreamPeer | undefined> = {
    checkout: { principal: "spiffe://cluster.local/ns/demo/sa/checkout", service: "checkout", namespace: "demo" },
    cart: { service: "cart", namespace: "demo" }, // peer metadata without mTLS
    certOnly: { principal: "spiffe://cluster.local/ns/demo/sa/checkout" }, // mTLS, no peer metadata
    anonymous: undefined,
  };
  const sidecars: Record<string, RunningSidecar> = {};
  try {
    for (const [name, peer] of Object.entries(callers)) {
      sidecars[name] = await startSidecar({
        listen: "127.0.0.1:0",
        upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
        controlPlane: server.grpcAddress,
        service: "catalog",
        namespace: "demo",
        pod: `catalog-${name.toLowerCase()}`,
        wasm: FILTER_WASM,
        logger: quietLogger,
        peer,
      });
    }
    await waitConnected(pc, 2 + 2 * 4);
    await applyAndWait(
      pc,
      {
        metadata: { name: "catalog-callers" },
        spec: {
          selector: { service: "catalog", namespace: "demo" },
          rules: [
            { match: { grpc: { service: "demo.Catalog", method: "*" }, source: { service: "checkout" } }, fault: { percentage: 100, abort: { grpcStatus: 14 } } },
            { match: { path: { prefix: "/p" }, source: { principal: "cluster.local/ns/demo/sa/checkout" } }, fault: { percentage: 100, abort: { httpStatus: 451 } } },
            { match: { path: { prefix: "/ns" }, source: { namespace: "demo" } }, fault: { percentage: 100, abort: { httpStatus: 452 } } },
          ],
        },
      },
      8,
    );
    const at = (who: string) => `http://${sidecars[who]!.address}`;
    const grpcStatus = async (who: string) =>
      (await fetch(`${at(who)}/demo.Catalog/List`, { method: "POST", headers: { "content-type": "application/grpc" }, body: new Uint8Array(5) })).headers.get("grpc-status");
    const status = async (who: string, p: string) => (await fetch(`${at(who)}${p}`)).status;
    assert.is(await grpcStatus("checkout"), "14", "checkout's calls to demo.Catalog fail");
    assert.is(await grpcStatus("cart"), null, "cart's pass");
    assert.is(await grpcStatus("certOnly"), null, "no peer metadata: the service is not known");
    assert.is(await grpcStatus("anonymous"), null);
    assert.equal([await status("checkout", "/p"), await status("cart", "/p"), await status("certOnly", "/p"), await status("anonymous", "/p")], [451, 200, 451, 200], "principal: mTLS only");
    assert.equal([await status("checkout", "/ns"), await status("cart", "/ns"), await status("certOnly", "/ns"), await status("anonymous", "/ns")], [452, 452, 452, 200], "namespace: peer metadata, else the principal's");
  } finally {
    await closeAll(...Object.values(sidecars));
  }
});

test("hfi sidecar --peer-principal/--peer-service/--peer-namespace set the caller of every request", async () => {
  await applyAndWait(pc, policy("fe-from-checkout", [{ match: { path: { prefix: "/from" }, source: { service: "checkout", namespace: "demo" } }, fault: { percentage: 100, abort: { httpStatus: 409 } } }]), 2);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "cli/bin/hfi.js"), "sidecar", "--listen", `127.0.0.1:${port}`,
      "--upstream", `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, "--control-plane", server.grpcAddress,
      "--service", "frontend", "--namespace", "demo", "--pod", "frontend-cli", "--wasm", FILTER_WASM, "--log-level", "warn",
      "--peer-principal", "spiffe://cluster.local/ns/demo/sa/checkout", "--peer-service", "checkout", "--peer-namespace", "demo",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/from/x`).catch(() => undefined))?.status === 409, `CLI sidecar matching its peer (output: ${out})`, 20_000);
    assert.is((await fetch(`${base}/from/x`)).status, 200, "the in-process sidecar has no peer: not matched");
  } finally {
    child.kill("SIGTERM");
  }
  assert.is(await exited, 0, out);
});

test.run();
