// `hfi sidecar` end to end over real HTTP: a real upstream, the real control
// plane, the compiled filter in worker VMs; local responses, delays,
// pass-through with bodies, upstream down → Envoy's 503, metrics, and the
// CLI process with graceful SIGTERM.
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { freePort } from "../support/ports.ts";
import { startSidecar, UPSTREAM_CONNECT_ERROR, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, abortPolicy, applyAndWait, closeAll, quietLogger, waitConnected, waitFor, startFrontendSidecar } from "./helpers.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let server: TestServer;
let pc: PolicyClient;
let upstream: http.Server;
let upstreamUrl: string;
let sidecar: RunningSidecar;
let base: string;

test.before(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  sidecar = await startFrontendSidecar(upstreamUrl, server.grpcAddress);
  base = `http://${sidecar.address}`;
  await waitConnected(pc, 2);
});

test.after(async () => {
  await closeAll(sidecar);
  pc?.close();
  await server?.close();
  await new Promise((r) => upstream?.close(r));
});

test("requests without a matching policy are proxied (method, path, headers, body)", async () => {
  const res = await fetch(`${base}/ok/thing?q=1`, { method: "POST", headers: { "x-client": "c1" }, body: "hello upstream" });
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-upstream"), "yes");
  const echo = (await res.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
  assert.is(echo.method, "POST");
  assert.is(echo.url, "/ok/thing?q=1");
  assert.is(echo.body, "hello upstream");
  assert.is(echo.headers["x-client"], "c1");
  assert.ok(echo.headers["x-request-id"], "a request id is added like Envoy does");
  assert.is(echo.headers.host, sidecar.address);
});

test("an abort policy answers locally with its status, body and x-hfi-fault; the upstream is not called", async () => {
  await applyAndWait(pc, abortPolicy("teapot", { service: "frontend" }, { path: "/abort", status: 418 }), 2);
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${base}/abort/x`);
    assert.is(res.status, 418);
    assert.is(await res.text(), "fault from teapot");
    assert.is(res.headers.get("x-hfi-fault"), "teapot");
    assert.is(res.headers.get("x-upstream"), null);
  }
  assert.is((await fetch(`${base}/fine`)).status, 200);
});

test("a delay holds the request, then it is proxied", async () => {
  await applyAndWait(pc, { metadata: { name: "slow-sidecar" }, spec: { selector: { service: "frontend" }, rules: [{ match: { path: { prefix: "/slow" } }, fault: { percentage: 100, delay: { fixedDelayMs: 200 } } }] } }, 2);
  const t0 = performance.now();
  const res = await fetch(`${base}/slow/y`);
  const ms = performance.now() - t0;
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-upstream"), "yes");
  assert.ok(ms >= 199 && ms < 700, `${ms}`);
  console.log(`  sidecar delay 200 ms → ${ms.toFixed(1)} ms end to end`);
});

test("a client that disconnects while delayed frees its stream", async () => {
  await applyAndWait(pc, { metadata: { name: "held" }, spec: { selector: { service: "frontend" }, rules: [{ match: { path: { prefix: "/held" } }, fault: { percentage: 100, delay: { fixedDelayMs: 60_000 } } }] } }, 2);
  const ac = new AbortController();
  const p = fetch(`${base}/held/gone`, { signal: ac.signal }).catch((e) => e);
  await waitFor(() => sidecar.pool.vms.some((vm) => vm.activeStreams > 0), "request held");
  ac.abort();
  await p;
  await waitFor(() => sidecar.pool.vms.every((vm) => vm.activeStreams === 0), "stream finished after disconnect");
  await waitFor(() => sidecar.pool.vms.every((vm) => vm.tickPeriodMs === 0), "its timer entry dropped");
});

test("metrics endpoint exposes the filter's metrics in Prometheus text", async () => {
  const text = await (await fetch(`http://${sidecar.metricsAddress}/stats/prometheus`)).text();
  assert.match(text, /# TYPE wasmcustom_hfi_faults_aborts_total counter/);
  const m = /wasmcustom_hfi_faults_aborts_total (\d+)/.exec(text);
  assert.ok(m && Number(m[1]) >= 4, text);
  assert.match(text, /hfi_sidecar_active_streams \d+/);
});

test("upstream down → 503 with Envoy's reset text (and faults still apply)", async () => {
  const deadPort = await freePort();
  const dead = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: `http://127.0.0.1:${deadPort}`,
    controlPlane: server.grpcAddress,
    service: "frontend",
    namespace: "demo",
    wasm: FILTER_WASM,
    logger: quietLogger,
  });
  try {
    const res = await fetch(`http://${dead.address}/anything`);
    assert.is(res.status, 503);
    assert.is(await res.text(), UPSTREAM_CONNECT_ERROR);
    await waitFor(async () => (await fetch(`http://${dead.address}/abort/z`)).status === 418, "policy on the new sidecar");
  } finally {
    await dead.close();
  }
});

test("the hfi sidecar CLI serves traffic and exits cleanly on SIGTERM", async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "cli/bin/hfi.js"), "sidecar",
      "--listen", `127.0.0.1:${port}`, "--upstream", upstreamUrl, "--control-plane", server.grpcAddress,
      "--service", "frontend", "--namespace", "demo", "--workers", "2", "--wasm", FILTER_WASM, "--log-level", "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/abort/cli`).catch(() => undefined);
      return res?.status === 418;
    }, `CLI sidecar faulting (output: ${out})`, 20_000);
    assert.is((await fetch(`http://127.0.0.1:${port}/ok`)).status, 200);
  } finally {
    child.kill("SIGTERM");
  }
  assert.is(await exited, 0, out);
});

test("hfi sidecar --help shows an example", async () => {
  const child = spawn(process.execPath, [path.join(ROOT, "cli/bin/hfi.js"), "sidecar", "--help"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const code = await new Promise((r) => child.on("exit", r));
  assert.is(code, 0);
  assert.match(out, /--control-plane <host:port,\.\.\.>/);
  assert.match(out, /Example:\n  npx hfi sidecar --listen 127\.0\.0\.1:15001/);
});

test("hfi sidecar refuses bad flags with exit code 2", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, "cli/bin/hfi.js"), "sidecar", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
  const noWorkers = await run(["--upstream", "http://127.0.0.1:1", "--service", "x", "--workers", "0"]);
  assert.is(noWorkers.code, 2);
  assert.match(noWorkers.out, /--workers.*must be an integer between 1 and 256/);
  const missing = await run(["--service", "x"]);
  assert.is(missing.code, 2);
  assert.match(missing.out, /--upstream/);
  // A module Envoy would refuse: one clear line, exit 1.
  const refused = await run(["--upstream", "http://127.0.0.1:1", "--service", "x", "--wasm", path.join(ROOT, "package.json")]);
  assert.is(refused.code, 1);
  assert.match(refused.out, /^hfi sidecar: wasm module refused: not a wasm binary/m);
  // Address in use: reported, and the process still exits (VMs and their streams closed).
  const busy = await run(["--upstream", upstreamUrl, "--service", "x", "--wasm", FILTER_WASM, "--control-plane", server.grpcAddress, "--listen", sidecar.address]);
  assert.is(busy.code, 1);
  assert.match(busy.out, /^hfi sidecar: --listen 127\.0\.0\.1:\d+: listen EADDRINUSE/m);
});

test.run();
