// bench:filter — per-request cost of the compiled filter in the Node host
// with 0, 10 and 100 non-matching policies (GET: each rule's method fails;
// POST: method passes, the path regex fails), one matching (abort) case and
// 100 more header-only policies ahead of them, then 100 with issue 12's request-side
// rules and 100 that match on the caller only (after 100 response-side rules and one matching
// response rewrite, those two cases with the response side through the guest):
// µs/request p50/p99, the share spent inside guest callbacks, memory after
// 1M requests (RSS, heap, guest linear memory: must be flat), module size.
// Prints figures; asserts nothing. Target: <= 5 µs/request with 100 policies.
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import type { Policy } from "../proto/loader.ts";
import type { WasmVm } from "../filter/host/vm.ts";
import type { HeaderPair } from "../filter/host/pairs.ts";
import type { DownstreamPeer } from "../filter/host/peer.ts";
import { FILTER_WASM, gc, loadVm, quantiles, startControlPlane, until, type ControlPlane } from "./lib/host-setup.ts";

const MEASURE = Number(process.env.BENCH_REQUESTS ?? 200_000);
const LONG_RUN = Number(process.env.BENCH_LONG_RUN ?? 1_000_000);

const headers = (path: string, method = "GET"): HeaderPair[] => [
  [":method", method],
  [":path", path],
  [":authority", "frontend.demo.svc.cluster.local"],
  [":scheme", "http"],
  ["user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"],
  ["accept", "application/json, text/plain, */*"],
  ["accept-encoding", "gzip, deflate, br"],
  ["x-request-id", "7d6c1a52-9a5e-4b8e-8f3e-2f0f6d0c9b11"],
  ["x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"],
  ["x-forwarded-proto", "http"],
  ["x-user", "someone@example.com"],
  ["cookie", "session=abcdef0123456789; theme=dark"],
];

/** A policy that never matches the benchmark requests but makes the filter look (path regex + header). */
function nonMatching(i: number): Policy {
  return {
    metadata: { name: `nomatch-${String(i).padStart(3, "0")}` },
    spec: {
      selector: { service: "frontend", namespace: "demo" },
      rules: [
        {
          match: {
            method: { exact: "POST" },
            path: { regex: `^/api/v1/nomatch-${i}/[0-9]+$` },
            headers: [{ name: "x-user", exact: `user-${i}` }],
          },
          fault: { percentage: 50, abort: { httpStatus: 503 } },
        },
      ],
    },
  };
}

async function waitAcked(cp: ControlPlane, name: string): Promise<void> {
  for (;;) {
    const st = await new Promise<any>((resolve, reject) =>
      cp.client.getPolicyStatus({ name }, (err: grpc.ServiceError | null, res?: unknown) => (err ? reject(err) : resolve(res))),
    );
    if (st.policies?.[0]?.acked?.length >= 1) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The upstream's answer, for the cases that run the response side through the guest too. */
const UPSTREAM_HEADERS: HeaderPair[] = [["content-type", "application/json"], ["content-length", "16"]];
const UPSTREAM_BODY = new TextEncoder().encode('{"product":"42"}');

function runSync(vm: WasmVm, path: string, n: number, times?: Float64Array, method?: string, peer?: DownstreamPeer, withResponse = false): void {
  const h = headers(path, method);
  for (let i = 0; i < n; i++) {
    const t0 = times ? performance.now() : 0;
    const s = vm.startStream(h.slice(), true, peer);
    if (withResponse) {
      // Response headers then one body chunk (a rewrite replaces it): what the guest sees of an upstream reply.
      void s.onResponse(200, UPSTREAM_HEADERS.slice(), false);
      s.responseBody(UPSTREAM_BODY, true);
    }
    s.finish();
    if (times) times[i] = performance.now() - t0;
  }
}

async function runAsync(vm: WasmVm, path: string, n: number, times?: Float64Array, method = "GET", peer?: DownstreamPeer): Promise<void> {
  const [, , ...rest] = headers(path, method);
  const init = { method, path, headers: rest.filter(([k]) => !k.startsWith(":")), ...(peer ? { peer } : {}) };
  for (let i = 0; i < n; i++) {
    const t0 = times ? performance.now() : 0;
    await vm.request(init);
    if (times) times[i] = performance.now() - t0;
  }
}

const us = (ms: number) => (ms * 1000).toFixed(2);

async function measure(vm: WasmVm, label: string, path: string, method?: string, peer?: DownstreamPeer, withResponse = false): Promise<void> {
  runSync(vm, path, 20_000, undefined, method, peer, withResponse);
  const sync = new Float64Array(MEASURE);
  runSync(vm, path, MEASURE, sync, method, peer, withResponse);
  const qs = quantiles(sync);
  await runAsync(vm, path, 10_000, undefined, method, peer);
  const full = new Float64Array(MEASURE / 4);
  await runAsync(vm, path, full.length, full, method, peer);
  const qf = quantiles(full);
  // Guest share: time inside guest callbacks vs the whole request (with timing on).
  vm.stats.guestMs = 0;
  vm.stats.hostInGuestMs = 0;
  const t0 = performance.now();
  vm.measureGuest = true;
  runSync(vm, path, 50_000, undefined, method, peer, withResponse);
  vm.measureGuest = false;
  const total = performance.now() - t0;
  const share = ((vm.stats.guestMs - vm.stats.hostInGuestMs) / total) * 100;
  // Guest time per request: the guest's share of the (untimed) core p50; timing every callback
  // inflates the absolute figure, not the share. The share is guest callbacks less the host
  // functions they call (proxy_get_property, header pairs, ...), with the guest allocator those
  // run counted as guest; the wrapper and half a clock read per host call land on the guest side.
  const guestUs = (share / 100) * qs.p50 * 1000;
  console.log(
    `${label.padEnd(28)} core p50 ${us(qs.p50).padStart(6)} µs  p99 ${us(qs.p99).padStart(6)} µs | ` +
      `request() p50 ${us(qf.p50).padStart(6)} µs  p99 ${us(qf.p99).padStart(6)} µs | in guest code ${share.toFixed(0)} % of core ≈ ${guestUs.toFixed(2)} µs/request`,
  );
}

async function main(): Promise<void> {
  const size = fs.statSync(FILTER_WASM).size;
  console.log(`filter module: ${FILTER_WASM} ${size} bytes (${(size / 1024).toFixed(1)} KiB)`);
  console.log(`node ${process.version}, ${MEASURE} requests per case; "core" = context create + request headers + done/log/delete, "request()" adds response headers and the Promise API\n`);
  const cp = await startControlPlane();
  const vm = await loadVm(cp.server.grpcAddress, "frontend");
  try {
    await until(() => vm.grpcStreamCount > 0);
    await new Promise((r) => setTimeout(r, 200));
    await measure(vm, "0 policies", "/api/v1/products/42");
    for (let i = 0; i < 10; i++) await cp.apply(nonMatching(i));
    await waitAcked(cp, nonMatching(9).metadata!.name!);
    await measure(vm, "10 non-matching policies", "/api/v1/products/42");
    for (let i = 10; i < 100; i++) await cp.apply(nonMatching(i));
    await waitAcked(cp, nonMatching(99).metadata!.name!);
    await measure(vm, "100 non-matching policies", "/api/v1/products/42");
    // POST passes every rule's method condition: the path (regex) decides.
    await measure(vm, "100 non-matching, POST", "/api/v1/products/42", "POST");
    await cp.apply({
      metadata: { name: "zz-match" },
      spec: {
        selector: { service: "frontend" },
        priority: -1,
        rules: [{ match: { path: { prefix: "/api/v1/checkout" } }, fault: { percentage: 100, abort: { httpStatus: 503, body: "injected" } } }],
      },
    });
    await waitAcked(cp, "zz-match");
    await measure(vm, "100 + 1 matching (abort)", "/api/v1/checkout/7");

    // Memory over a long run: 1M requests (mix of passing and aborted).
    gc();
    const m0 = process.memoryUsage();
    const g0 = vm.memorySize;
    const t0 = performance.now();
    const h = headers("/api/v1/products/42");
    const hm = headers("/api/v1/checkout/7");
    for (let i = 0; i < LONG_RUN; i++) {
      const s = vm.startStream((i % 10 === 0 ? hm : h).slice(), true);
      s.finish();
    }
    const elapsed = performance.now() - t0;
    gc();
    const m1 = process.memoryUsage();
    const mb = (b: number) => (b / 1048576).toFixed(1);
    console.log(
      `\n${LONG_RUN} requests (100 policies, 10 % aborted) in ${(elapsed / 1000).toFixed(2)} s (${us(elapsed / LONG_RUN)} µs/request)`,
    );
    console.log(`  RSS       ${mb(m0.rss)} MiB -> ${mb(m1.rss)} MiB`);
    console.log(`  JS heap   ${mb(m0.heapUsed)} MiB -> ${mb(m1.heapUsed)} MiB`);
    console.log(`  guest memory.buffer ${g0} -> ${vm.memorySize} bytes${g0 === vm.memorySize ? " (flat)" : " (GREW)"}`);
    console.log(`  VM crashes ${vm.stats.crashes}, metrics: aborts ${vm.metrics()["wasmcustom.hfi_faults_aborts_total"]}`);

    // Response-side rules (issue 12): 100 rewrites ahead, each for its own path and upstream
    // status, then one that rewrites the response of /api/v1/cart/*. These two cases run the response
    // headers and one body chunk through the guest as well ("core" plus the response side).
    for (let i = 0; i < 100; i++) {
      await cp.apply({
        metadata: { name: `resp-${String(i).padStart(3, "0")}` },
        spec: {
          selector: { service: "frontend" },
          priority: 4,
          rules: [
            {
              match: { path: { prefix: `/api/v1/rewrite-${i}` } },
              fault: { percentage: 100, response: { status: 503, upstreamStatus: { codes: [200] }, headers: { set: { "x-injected": "1" } }, body: "injected" } },
            },
          ],
        },
      });
    }
    await waitAcked(cp, "resp-099");
    await measure(vm, "+ 100 response-side ahead, with the response", "/api/v1/products/42", "GET", undefined, true);
    await cp.apply({
      metadata: { name: "zz-rewrite" },
      spec: {
        selector: { service: "frontend" },
        priority: -2,
        rules: [{ match: { path: { prefix: "/api/v1/cart" } }, fault: { percentage: 100, response: { status: 503, headers: { set: { "x-injected": "1" } }, body: "injected" } } }],
      },
    });
    await waitAcked(cp, "zz-rewrite");
    await measure(vm, "+ 1 response rewrite matching, with the response", "/api/v1/cart/7", "GET", undefined, true);

    // 100 policies ahead of those that match on one header only (no method/path to reject on).
    for (let i = 0; i < 100; i++) {
      await cp.apply({
        metadata: { name: `hdr-${String(i).padStart(3, "0")}` },
        spec: { selector: { service: "frontend" }, priority: 1, rules: [{ match: { headers: [{ name: "x-user", exact: `user-${i}` }] }, fault: { percentage: 50, abort: { httpStatus: 503 } } }] },
      });
    }
    await waitAcked(cp, "hdr-099");
    await measure(vm, "+ 100 header-only ahead", "/api/v1/products/42");

    // Issue 12's request-side rules ahead of those: gRPC shorthand + caller, a delay
    // distribution, header control (each ruled out by its path), then rules that match
    // on the caller only (the peer is read from the host once per request: the fields the
    // rules compare, here the service).
    for (let i = 0; i < 100; i++) {
      await cp.apply({
        metadata: { name: `req-${String(i).padStart(3, "0")}` },
        spec: {
          selector: { service: "frontend" },
          priority: 2,
          rules: [
            { match: { grpc: { service: `demo.Svc${i}`, method: "*" }, source: { service: "checkout" } }, fault: { percentage: 10, abort: { httpStatus: 503, grpcStatus: 14 } } },
            { match: { path: { prefix: `/slow-${i}` } }, fault: { percentage: 100, delay: { lognormal: { p50Ms: 50, p99Ms: 400 } } } },
            { match: { path: { prefix: `/on-demand-${i}` } }, fault: { headerControl: { maxDelayMs: 2000, allowAbort: true } } },
          ],
        },
      });
    }
    await waitAcked(cp, "req-099");
    await measure(vm, "+ 100 grpc/source/distribution/header-control ahead", "/api/v1/products/42");
    for (let i = 0; i < 100; i++) {
      await cp.apply({
        metadata: { name: `src-${String(i).padStart(3, "0")}` },
        spec: { selector: { service: "frontend" }, priority: 3, rules: [{ match: { source: { service: `caller-${i}` } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }] },
      });
    }
    await waitAcked(cp, "src-099");
    // A known caller over mTLS (principal and Istio peer metadata), matching none of the 100.
    await measure(vm, "+ 100 source-only ahead (peer read)", "/api/v1/products/42", "GET", {
      principal: "spiffe://cluster.local/ns/demo/sa/checkout",
      service: "checkout",
      namespace: "demo",
    });

  } finally {
    await vm.close();
    await cp.close();
  }
}

await main();
