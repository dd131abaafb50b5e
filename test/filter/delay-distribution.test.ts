// Delay distributions drawn in the compiled filter, in the host, with policies
// from the real control plane. Each request's draw is read off the tick timer
// the filter arms for it (the earliest timer while one request waits, the
// config stream is up and fault reports are a minute apart): exact to the millisecond, with no waiting. The
// empirical CDF at the distribution's quantiles must lie within 5 standard
// deviations of the binomial count (a false failure is ~1e-6 per point).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HeaderPair } from "../../filter/host/pairs.ts";
import type { WasmVm } from "../../filter/host/vm.ts";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { applyAndWait, closeAll, loadFilter, waitConnected } from "./helpers.ts";

const DRAWS = 4000;
const REPORT_MS = 60_000;

let server: TestServer;
let pc: PolicyClient;
let vm: WasmVm;

test.before(async () => {
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  // Fault reports every 60 s (the longest allowed): their timer never comes before a draw.
  vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" }, { pluginConfig: JSON.stringify({ report_interval_ms: REPORT_MS }) });
  await waitConnected(pc, 1);
  await applyAndWait(
    pc,
    {
      metadata: { name: "fe-distributions" },
      spec: {
        selector: { service: "frontend", namespace: "demo" },
        rules: [
          { match: { path: { prefix: "/slow" } }, fault: { percentage: 100, delay: { uniform: { minMs: 100, maxMs: 200 } } } },
          { match: { path: { prefix: "/tail" } }, fault: { percentage: 100, delay: { lognormal: { p50Ms: 50, p99Ms: 400 } } } },
          { match: { path: { prefix: "/fixed" } }, fault: { percentage: 100, delay: { fixedDelayMs: 70 } } },
        ],
      },
    },
    1,
  );
});

test.after(async () => {
  await closeAll(vm);
  pc?.close();
  await server?.close();
});

/** The delay the filter schedules for each of `n` requests to `path`. */
async function draws(path: string, n: number): Promise<number[]> {
  const headers: HeaderPair[] = [[":method", "GET"], [":path", path], [":authority", "frontend"], [":scheme", "http"]];
  // The first counted request makes the filter report at once (a 1 ms tick): let that report go,
  // so the next one is a minute away and the earliest timer is each request's own.
  vm.finishStream(vm.startStream(headers));
  const sent = Date.now();
  while (vm.tickPeriodMs !== 0 && vm.tickPeriodMs < REPORT_MS / 2 && Date.now() - sent < 5000) await new Promise((r) => setTimeout(r, 5));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = vm.startStream(headers);
    assert.is(s.phase, "paused", "the request is held");
    out.push(vm.tickPeriodMs);
    vm.finishStream(s);
  }
  // Only the fault-report timer may be left once the requests are gone.
  assert.ok(vm.tickPeriodMs === 0 || vm.tickPeriodMs > REPORT_MS / 2, `timer left: ${vm.tickPeriodMs} ms`);
  return out;
}

/**
 * Checks the empirical CDF at each point x against P(draw <= x) = cdf(x). The
 * timer reads the draw, or one less when the clock ticked between scheduling
 * and arming it: the count at x may therefore reach cdf(x + 1).
 */
function checkCdf(xs: number[], points: number[], cdf: (x: number) => number): void {
  const n = xs.length;
  for (const x of points) {
    const lo = cdf(x);
    const hi = cdf(x + 1);
    const got = xs.filter((d) => d <= x).length / n;
    const tol = 5 * Math.sqrt((Math.max(hi, 1e-3) * (1 - Math.min(lo, 1 - 1e-3))) / n);
    assert.ok(got >= lo - tol && got <= hi + tol, `P(delay <= ${x}) = ${got.toFixed(4)}, expected ${lo.toFixed(4)}..${hi.toFixed(4)} ± ${tol.toFixed(4)}`);
  }
}

// Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, error < 1.5e-7).
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

test("uniform {min_ms: 100, max_ms: 200}: every draw in range, every millisecond equally likely", async () => {
  const xs = await draws("/slow/x", DRAWS);
  // One less than the draw at most (see checkCdf).
  assert.ok(Math.min(...xs) >= 99 && Math.max(...xs) <= 200, `range ${Math.min(...xs)}..${Math.max(...xs)}`);
  const cdf = (x: number) => Math.min(1, Math.max(0, (Math.floor(x) - 100 + 1) / 101));
  checkCdf(xs, [101, 105, 110, 125, 150, 175, 190, 195, 199], cdf);
  // Both ends are drawn about 1 time in 101 (40 of 4000, sd 6): the range is inclusive.
  const top = xs.filter((d) => d === 200).length;
  const bottom = xs.filter((d) => d <= 100).length;
  assert.ok(top >= 10 && bottom >= 10, `draws of 200: ${top}, of 100: ${bottom}`);
});

test("lognormal {p50_ms: 50, p99_ms: 400}: median 50, 99th percentile 400, heavy tail", async () => {
  const xs = await draws("/tail/x", DRAWS);
  const mu = Math.log(50);
  const sigma = (Math.log(400) - mu) / 2.3263478740408408;
  // A draw is exp(mu + sigma z) rounded to a whole millisecond: draw <= x when the value is below x + 0.5.
  const cdf = (x: number) => phi((Math.log(x + 0.5) - mu) / sigma);
  checkCdf(xs, [4, 10, 20, 35, 50, 70, 120, 200, 400], cdf);
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[Math.floor(DRAWS / 2)]!;
  assert.ok(median >= 45 && median <= 55, `median ${median}`);
});

test("fixed_delay_ms stays fixed", async () => {
  const xs = await draws("/fixed", 200);
  assert.ok(xs.every((d) => d === 70 || d === 69), `fixed draws ${[...new Set(xs)].join(",")}`);
});

test.run();
