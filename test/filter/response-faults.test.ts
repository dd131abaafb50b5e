// Response faults end to end through `hfi sidecar`: the real control plane,
// a real upstream HTTP server, the compiled filter in worker VMs. The request
// reaches the upstream (it counts calls) and the filter rewrites what comes
// back: :status, headers (set/add/remove), the body with content-length kept
// right (also for chunked, gzip-encoded and large upstream bodies), only on
// matching upstream statuses when asked; everything else passes untouched.
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { performance } from "node:perf_hooks";
import { applyAndWait, closeAll, startFrontendSidecar, waitConnected, waitFor } from "./helpers.ts";
import type { Policy } from "../../proto/loader.ts";

let server: TestServer;
let pc: PolicyClient;
let upstream: http.Server;
let sidecar: RunningSidecar;
let base: string;
const calls = new Map<string, number>();
const BIG = 3 * 1024 * 1024; // above Envoy's 1 MiB buffer limit: replacing it must not buffer it
const SLOW_BODY = 32 * 1024; // at 32 KiB/s: the last byte cannot leave before 1 s

test.before(async () => {
  upstream = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    calls.set(path, (calls.get(path) ?? 0) + 1);
    req.resume();
    const status = /^\/status\/(\d{3})/.exec(path);
    if (status) {
      res.writeHead(Number(status[1]), { "content-type": "text/plain", "x-upstream": "yes" }).end(`upstream said ${status[1]}`);
    } else if (path.startsWith("/chunked")) {
      res.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes" }); // no content-length: chunked
      let i = 0;
      const t = setInterval(() => {
        res.write(`part ${i} `);
        if (++i === 5) {
          clearInterval(t);
          res.end("end");
        }
      }, 5);
    } else if (path.startsWith("/gzip")) {
      res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip", "content-length": "4" }).end(Buffer.from([0x1f, 0x8b, 8, 0]));
    } else if (path.startsWith("/slowbody")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(SLOW_BODY) });
      for (let i = 0; i < 4; i++) res.write(Buffer.alloc(SLOW_BODY / 4, 0x30 + i));
      res.end();
    } else if (path.startsWith("/empty")) {
      res.writeHead(204, { "x-upstream": "yes" }).end();
    } else if (path.startsWith("/big")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BIG) });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    } else {
      const body = JSON.stringify({ path, method: req.method });
      res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "x-upstream": "yes", server: "up/1" }).end(body);
    }
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  sidecar = await startFrontendSidecar(`http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, server.grpcAddress);
  base = `http://${sidecar.address}`;
  await waitConnected(pc, 3);
  // The shape, plus rules for the other cases (first matching rule decides).
  const policy: Policy = {
    metadata: { name: "fe-response" },
    spec: {
      selector: { service: "frontend", namespace: "demo" },
      rules: [
        { match: { path: { prefix: "/checkout" } }, fault: { percentage: 100, response: { status: 503, headers: { set: { "x-injected": "1" } }, body: "injected" } } },
        { match: { path: { prefix: "/chunked" } }, fault: { percentage: 100, response: { body: "replaced" } } },
        { match: { path: { prefix: "/gzip" } }, fault: { percentage: 100, response: { body: "plain" } } },
        { match: { path: { prefix: "/big" } }, fault: { percentage: 100, response: { status: 500, body: "small" } } },
        { match: { path: { prefix: "/empty" } }, fault: { percentage: 100, response: { status: 503, body: "never sent" } } },
        { match: { path: { prefix: "/blank" } }, fault: { percentage: 100, response: { body: "" } } },
        {
          match: { path: { prefix: "/headers" } },
          fault: { percentage: 100, response: { headers: { set: { server: "hfi" }, add: { "x-extra": "a" }, remove: ["x-upstream"] } } },
        },
        { match: { path: { prefix: "/status/" } }, fault: { percentage: 100, response: { status: 502, upstreamStatus: { min: 500, max: 599 } } } },
        { match: { path: { prefix: "/never" } }, fault: { percentage: 0, response: { status: 500 } } },
        { match: { path: { prefix: "/slowbody" } }, fault: { percentage: 100, responseRateLimit: { kbps: 32 } } },
      ],
    },
  };
  await applyAndWait(pc, policy, 3);
});

test.after(async () => {
  await closeAll(sidecar);
  pc?.close();
  await server?.close();
  await new Promise((r) => upstream?.close(r));
});

test("status, header and body replaced after the upstream ran; content-length matches the new body", async () => {
  const before = calls.get("/checkout/pay") ?? 0;
  const res = await fetch(`${base}/checkout/pay`);
  assert.is(res.status, 503);
  assert.is(res.headers.get("x-injected"), "1");
  assert.is(res.headers.get("x-hfi-fault"), "fe-response");
  assert.is(res.headers.get("x-upstream"), "yes", "the upstream's headers are kept");
  assert.is(res.headers.get("content-length"), "8");
  assert.is(await res.text(), "injected");
  assert.is(calls.get("/checkout/pay"), before + 1, "the request reached the upstream");
});

test("a chunked upstream body (several body callbacks) is replaced whole", async () => {
  const res = await fetch(`${base}/chunked`);
  assert.is(res.status, 200, "no status given: the upstream's is kept");
  assert.is(res.headers.get("content-length"), "8");
  assert.is(await res.text(), "replaced");
});

test("content-encoding is dropped with the upstream body it described", async () => {
  const res = await fetch(`${base}/gzip`);
  assert.is(res.headers.get("content-encoding"), null);
  assert.is(await res.text(), "plain");
});

test("a 3 MiB upstream body is replaced without being buffered (over Envoy's 1 MiB limit)", async () => {
  const res = await fetch(`${base}/big`);
  assert.is(res.status, 500);
  assert.is(res.headers.get("content-length"), "5");
  assert.is(await res.text(), "small");
});

test("an upstream reply without a body keeps none (proxy-wasm cannot add one); status still changes", async () => {
  const res = await fetch(`${base}/empty`);
  assert.is(res.status, 503);
  assert.is(await res.text(), "");
});

test("body \"\" empties the upstream's body", async () => {
  const res = await fetch(`${base}/blank`);
  assert.is(res.status, 200);
  assert.is(res.headers.get("content-length"), "0");
  assert.is(await res.text(), "");
});

test("headers: set replaces, add appends, remove drops; the body is the upstream's", async () => {
  const res = await fetch(`${base}/headers`);
  assert.is(res.headers.get("server"), "hfi");
  assert.is(res.headers.get("x-extra"), "a");
  assert.is(res.headers.get("x-upstream"), null);
  assert.equal(await res.json(), { path: "/headers", method: "GET" });
});

test("upstream_status: only 5xx answers are rewritten", async () => {
  const ok = await fetch(`${base}/status/200`);
  assert.is(ok.status, 200);
  assert.is(ok.headers.get("x-hfi-fault"), null);
  assert.is(await ok.text(), "upstream said 200");
  const bad = await fetch(`${base}/status/500`);
  assert.is(bad.status, 502);
  assert.is(bad.headers.get("x-hfi-fault"), "fe-response");
  assert.is(await bad.text(), "upstream said 500", "no body given: the upstream's is kept");
});

test("percentage 0 and unmatched paths pass untouched; responses are counted", async () => {
  const never = await fetch(`${base}/never`);
  assert.is(never.status, 200);
  assert.is(never.headers.get("x-hfi-fault"), null);
  const other = await fetch(`${base}/elsewhere`);
  assert.is(other.status, 200);
  assert.equal(await other.json(), { path: "/elsewhere", method: "GET" });
  const text = await (await fetch(`http://${sidecar.metricsAddress}/stats/prometheus`)).text();
  const m = /wasmcustom_hfi_faults_responses_total (\d+)/.exec(text);
  assert.ok(m && Number(m[1]) >= 8, text);
});

test("response_rate_limit: a 32 KiB body at 32 KiB/s arrives whole, no sooner than 1 s after its first byte", async () => {
  const t0 = performance.now();
  const res = await fetch(`${base}/slowbody`);
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  assert.is(res.status, 200);
  assert.is(body.length, SLOW_BODY);
  for (let i = 0; i < 4; i++) assert.ok(body.subarray((i * SLOW_BODY) / 4, ((i + 1) * SLOW_BODY) / 4).every((b) => b === 0x30 + i), `chunk ${i} intact, in order`);
  assert.ok(ms >= 990, `${ms.toFixed(0)} ms`);
  console.log(`  32 KiB at 32 KiB/s → ${ms.toFixed(0)} ms`);
  const text = await (await fetch(`http://${sidecar.metricsAddress}/stats/prometheus`)).text();
  assert.match(text, /wasmcustom_hfi_faults_rate_limited_total [1-9]/);
  await waitFor(() => sidecar.pool.vms.every((vm) => vm.activeStreams === 0 && vm.tickPeriodMs === 0), "no stream or timer left behind");
});

test.run();
