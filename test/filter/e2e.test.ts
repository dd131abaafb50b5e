// The compiled filter in the Node host against the real control plane over
// real gRPC: selectors, percentages, delays, expiry, matching, gRPC aborts,
// workers, and requests that go away while held.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { performance } from "node:perf_hooks";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { WasmVm, RequestResult } from "../../filter/host/vm.ts";
import type { Policy } from "../../proto/loader.ts";
import {
  abortPolicy,
  applyAndWait,
  closeAll,
  loadFilter,
  waitConnected,
  waitFor,
  loadPool,
} from "./helpers.ts";

let server: TestServer;
let pc: PolicyClient;
let frontend: WasmVm; // frontend.demo, tier=web
let catalog: WasmVm; // productcatalog.demo, tier=web
let prodFrontend: WasmVm; // frontend.prod, tier=web
let unknown: WasmVm; // no workload name, namespace demo

test.before(async () => {
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  frontend = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo", labels: { tier: "web" } });
  catalog = await loadFilter(server.grpcAddress, { service: "productcatalog", namespace: "demo", labels: { tier: "web" } });
  prodFrontend = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "prod", labels: { tier: "web" } });
  unknown = await loadFilter(server.grpcAddress, "unknown");
  await waitConnected(pc, 4);
});

test.after(async () => {
  await closeAll(frontend, catalog, prodFrontend, unknown);
  pc?.close();
  await server?.close();
});

const aborted = (r: RequestResult) => r.kind === "local_response";

test("a frontend-only policy faults the frontend sidecar, not productcatalog's (nor other namespaces, nor unknown)", async () => {
  await applyAndWait(pc, abortPolicy("fe-only", { service: "frontend", namespace: "demo" }, { path: "/t1" }), 1);
  const r = await frontend.request({ path: "/t1/cart" });
  assert.is(r.kind, "local_response");
  assert.is(r.status, 503);
  assert.is(r.body, "fault from fe-only");
  assert.is(r.headers["x-hfi-fault"], "fe-only");
  assert.is((await frontend.request({ path: "/elsewhere" })).kind, "continued");
  assert.is((await catalog.request({ path: "/t1/cart" })).kind, "continued");
  assert.is((await prodFrontend.request({ path: "/t1/cart" })).kind, "continued");
  assert.is((await unknown.request({ path: "/t1/cart" })).kind, "continued");
  await pc.delete("fe-only");
});

test("wildcard selector reaches everyone, the unknown identity included", async () => {
  await applyAndWait(pc, abortPolicy("everyone", { service: "*" }, { path: "/t2" }), 4);
  for (const vm of [frontend, catalog, prodFrontend, unknown]) {
    assert.ok(aborted(await vm.request({ path: "/t2" })));
  }
  await pc.delete("everyone");
});

test("namespace-only selector: demo workloads (and the unknown one in demo), not prod", async () => {
  await applyAndWait(pc, abortPolicy("demo-ns", { namespace: "demo" }, { path: "/t3" }), 3);
  assert.ok(aborted(await frontend.request({ path: "/t3" })));
  assert.ok(aborted(await catalog.request({ path: "/t3" })));
  assert.ok(aborted(await unknown.request({ path: "/t3" })));
  assert.is((await prodFrontend.request({ path: "/t3" })).kind, "continued");
  await pc.delete("demo-ns");
});

test("label selector: only workloads carrying the labels; the unknown identity gets none", async () => {
  await applyAndWait(pc, abortPolicy("catalog-label", { labels: { app: "productcatalog" } }, { path: "/t4" }), 1);
  assert.ok(aborted(await catalog.request({ path: "/t4" })));
  assert.is((await frontend.request({ path: "/t4" })).kind, "continued");
  assert.is((await unknown.request({ path: "/t4" })).kind, "continued");
  await pc.delete("catalog-label");
});

test("30 % abort over three sidecars x 1000 requests is within the 99.9 % binomial bound; 0 % and 100 % are exact", async () => {
  const sidecars = [frontend, catalog, prodFrontend];
  const n = 1000;
  const count = async (path: string) => {
    let hits = 0;
    for (const vm of sidecars) for (let i = 0; i < n; i++) if (aborted(await vm.request({ path }))) hits++;
    return hits;
  };
  await applyAndWait(pc, abortPolicy("pct-30", { labels: { tier: "web" } }, { path: "/t5/thirty", percentage: 30 }), 3);
  await applyAndWait(pc, abortPolicy("pct-0", { labels: { tier: "web" } }, { path: "/t5/zero", percentage: 0 }), 3);
  await applyAndWait(pc, abortPolicy("pct-100", { labels: { tier: "web" } }, { path: "/t5/all", percentage: 100 }), 3);
  const total = n * sidecars.length;
  const hits = await count("/t5/thirty");
  const mean = total * 0.3;
  const bound = 3.291 * Math.sqrt(total * 0.3 * 0.7); // two-sided 99.9 %
  console.log(`  30 %: ${hits}/${total} aborted (expected ${mean} ± ${bound.toFixed(1)})`);
  assert.ok(Math.abs(hits - mean) <= bound, `${hits} aborts outside ${mean} ± ${bound.toFixed(1)}`);
  assert.is(await count("/t5/zero"), 0);
  assert.is(await count("/t5/all"), total);
  for (const name of ["pct-30", "pct-0", "pct-100"]) await pc.delete(name);
});

function delayPolicy(name: string, path: string, fault: Record<string, unknown>): Policy {
  return {
    metadata: { name },
    spec: { selector: { service: "frontend", namespace: "demo" }, rules: [{ match: { path: { prefix: path } }, fault: { percentage: 100, ...fault } }] },
  };
}

async function timed(vm: WasmVm, path: string): Promise<{ r: RequestResult; ms: number }> {
  const t0 = performance.now();
  const r = await vm.request({ path });
  return { r, ms: performance.now() - t0 };
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return `min ${s[0]!.toFixed(1)} p50 ${q(0.5)} p99 ${q(0.99)} max ${s[s.length - 1]!.toFixed(1)} ms`;
}

test("delay holds the request at least fixed_delay_ms (accuracy reported)", async () => {
  const delay = 150;
  await applyAndWait(pc, delayPolicy("delay-150", "/t6", { delay: { fixedDelayMs: delay } }), 1);
  const results = await Promise.all(Array.from({ length: 20 }, () => timed(frontend, "/t6")));
  for (const { r, ms } of results) {
    assert.is(r.kind, "continued");
    assert.is(r.status, 200);
    assert.ok(ms >= delay - 1, `held ${ms} ms < ${delay}`);
    assert.ok(ms < delay + 500, `held ${ms} ms`);
    assert.ok(r.pausedMs >= delay - 1.5);
  }
  console.log(`  delay ${delay} ms, 20 concurrent: overshoot ${summary(results.map((x) => x.ms - delay))}`);
  const m = frontend.metrics();
  assert.ok(m["wasmcustom.hfi_faults_delays_total"]! >= 20);
  await pc.delete("delay-150");
});

test("start_delay_ms waits, then injects (abort after the start delay; delay then abort adds up)", async () => {
  await applyAndWait(pc, delayPolicy("late-abort", "/t7/late", { startDelayMs: 200, abort: { httpStatus: 500 } }), 1);
  const a = await timed(frontend, "/t7/late");
  assert.is(a.r.status, 500);
  assert.ok(a.ms >= 199 && a.ms < 700, `${a.ms}`);
  await applyAndWait(pc, delayPolicy("late-both", "/t7/both", { startDelayMs: 100, delay: { fixedDelayMs: 100 }, abort: { httpStatus: 429 } }), 1);
  const b = await timed(frontend, "/t7/both");
  assert.is(b.r.status, 429);
  assert.ok(b.ms >= 199 && b.ms < 700, `${b.ms}`);
  console.log(`  start_delay 200 → abort after ${a.ms.toFixed(1)} ms; start 100 + delay 100 → ${b.ms.toFixed(1)} ms`);
  await pc.delete("late-abort");
  await pc.delete("late-both");
});

test("expiry: a rule with duration_seconds stops injecting after it, not before", async () => {
  const applied = Date.now();
  await applyAndWait(pc, delayPolicy("short-lived", "/t8", { durationSeconds: 1, abort: { httpStatus: 503 } }), 1);
  assert.ok(aborted(await frontend.request({ path: "/t8" })), "aborts right after apply");
  await waitFor(async () => (await frontend.request({ path: "/t8" })).kind === "continued", "expiry", 6000);
  const after = Date.now() - applied;
  console.log(`  duration_seconds 1: injecting stopped ${after} ms after apply`);
  assert.ok(after >= 950, `stopped after only ${after} ms`);
});

test("matching: method, path regex, header exact/prefix/regex/present, query params", async () => {
  const policy: Policy = {
    metadata: { name: "matchers" },
    spec: {
      selector: { service: "frontend", namespace: "demo" },
      rules: [
        { match: { method: { exact: "POST" }, path: { regex: "^/t9/items/[0-9]+$" } }, fault: { percentage: 100, abort: { httpStatus: 501 } } },
        { match: { path: { prefix: "/t9" }, headers: [{ name: "X-User", prefix: "beta" }] }, fault: { percentage: 100, abort: { httpStatus: 502 } } },
        { match: { path: { prefix: "/t9" }, headers: [{ name: "x-canary", regex: "^(a|b)\\d$" }] }, fault: { percentage: 100, abort: { httpStatus: 504 } } },
        { match: { path: { prefix: "/t9" }, headers: [{ name: "x-debug", present: true }] }, fault: { percentage: 100, abort: { httpStatus: 418 } } },
        { match: { path: { prefix: "/t9" }, queryParams: [{ name: "mode", exact: "chaos" }] }, fault: { percentage: 100, abort: { httpStatus: 503 } } },
        { match: { path: { prefix: "/t9" }, queryParams: [{ name: "id", regex: "^x-\\d+$" }] }, fault: { percentage: 100, abort: { httpStatus: 500 } } },
        { match: { path: { prefix: "/t9" }, headers: [{ name: "x-name", exact: "café ☕ 😀" }] }, fault: { percentage: 100, abort: { httpStatus: 451 } } },
      ],
    },
  };
  await applyAndWait(pc, policy, 1);
  const cases: [Parameters<WasmVm["request"]>[0], number][] = [
    [{ method: "POST", path: "/t9/items/42" }, 501],
    [{ method: "GET", path: "/t9/items/42" }, 200],
    [{ method: "POST", path: "/t9/items/42x" }, 200],
    [{ path: "/t9/a", headers: { "x-user": "beta-tester" } }, 502],
    [{ path: "/t9/a", headers: { "X-USER": "betamax" } }, 502],
    [{ path: "/t9/a", headers: { "x-user": "alpha" } }, 200],
    [{ path: "/t9/a", headers: { "x-canary": "b7" } }, 504],
    [{ path: "/t9/a", headers: { "x-canary": "c7" } }, 200],
    [{ path: "/t9/a", headers: { "x-canary": "b77" } }, 200],
    [{ path: "/t9/a", headers: { "x-debug": "" } }, 418],
    [{ path: "/t9/a?mode=chaos" }, 503],
    [{ path: "/t9/a?x=1&mode=chaos&y=2" }, 503],
    [{ path: "/t9/a?mode=calm" }, 200],
    [{ path: "/t9/a?id=x-123" }, 500],
    [{ path: "/t9/a?id=y-123" }, 200],
    [{ path: "/other?mode=chaos", headers: { "x-user": "beta" } }, 200],
    // Non-ASCII header values reach the guest as UTF-8 bytes.
    [{ path: "/t9/a", headers: { "x-name": "café ☕ 😀" } }, 451],
    [{ path: "/t9/a", headers: { "x-name": "cafe ☕ 😀" } }, 200],
  ];
  for (const [req, want] of cases) {
    const r = await frontend.request(req);
    assert.is(r.status, want, `${req!.method ?? "GET"} ${req!.path} ${JSON.stringify(req!.headers ?? {})}`);
  }
  await pc.delete("matchers");
});

test("gRPC requests are answered with grpc-status (Envoy's trailers-only local reply); others get http_status", async () => {
  await applyAndWait(pc, delayPolicy("grpc-abort", "/hfi.demo.Cart/", { abort: { httpStatus: 503, grpcStatus: 14, body: "injected" } }), 1);
  const g = await frontend.request({ method: "POST", path: "/hfi.demo.Cart/AddItem", headers: { "content-type": "application/grpc" } });
  assert.is(g.kind, "local_response");
  assert.is(g.status, 200);
  assert.is(g.grpcStatus, 14);
  assert.is(g.headers["grpc-message"], "injected");
  assert.is(g.headers["x-hfi-fault"], "grpc-abort");
  const h = await frontend.request({ method: "POST", path: "/hfi.demo.Cart/AddItem" });
  assert.is(h.status, 503);
  assert.is(h.grpcStatus, undefined);
  await pc.delete("grpc-abort");
});

test("a new policy reaches every worker VM of a sidecar (own stream and root context each)", async () => {
  const pool = await loadPool(server.grpcAddress, { service: "checkout", namespace: "demo" }, 4);
  try {
    // As in Envoy: the main thread's VM subscribes too, so 4 workers make 5 streams.
    await applyAndWait(pc, abortPolicy("checkout-down", { service: "checkout" }, { path: "/t10", status: 502 }), 5);
    const st = await pc.status("checkout-down");
    assert.is(st.policies[0]!.targetedProxies, 5);
    const ids = new Set(st.policies[0]!.acked.map((a) => a.identity!.proxyId));
    assert.is(ids.size, 5, "each VM (main thread + 4 workers) has its own proxy id");
    for (let i = 0; i < 8; i++) assert.is((await pool.request({ path: "/t10" })).status, 502);
    assert.is(pool.metrics()["wasmcustom.hfi_faults_aborts_total"], 8, "metrics are shared across workers like Envoy stats");
    await pc.delete("checkout-down");
  } finally {
    await pool.close();
  }
});

test("requests that end while delayed leave the timer queue; the others still complete", async () => {
  const DELAY = 1500; // long enough that a stalled machine cannot finish them before the aborts
  await applyAndWait(pc, delayPolicy("slow", "/t11", { delay: { fixedDelayMs: DELAY } }), 1);
  const controllers = Array.from({ length: 5 }, () => new AbortController());
  const pending = controllers.map((c) => frontend.request({ path: "/t11", signal: c.signal }));
  await waitFor(() => frontend.tickPeriodMs > 0, "timer armed");
  assert.is(frontend.activeStreams, 5);
  for (const c of controllers.slice(0, 3)) c.abort();
  const results = await Promise.all(pending);
  assert.equal(results.map((r) => r.kind), ["reset", "reset", "reset", "continued", "continued"]);
  assert.is(frontend.activeStreams, 0);
  await waitFor(() => frontend.tickPeriodMs === 0, "timer disarmed once the queue is empty");
  // All cancelled at once: the queue empties and the timer stops without firing for them.
  const c2 = new AbortController();
  const p2 = frontend.request({ path: "/t11", signal: c2.signal });
  await waitFor(() => frontend.tickPeriodMs > 0, "timer armed");
  c2.abort();
  assert.is((await p2).kind, "reset");
  await waitFor(() => frontend.tickPeriodMs === 0, "timer disarmed");
  await new Promise((r) => setTimeout(r, DELAY + 50));
  assert.is(frontend.stats.staleContextCalls, 0, "the filter never touched a deleted stream");
  assert.is(frontend.stats.crashes, 0);
  await pc.delete("slow");
});

test.run();
