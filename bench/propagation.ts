// bench:propagation — how long a policy change takes to reach N filter
// streams, and what it costs the control plane. `hfi server` runs as its own
// process (embedded store and a real etcd); N StreamConfig subscribers run in
// other processes, one HTTP/2 connection each by default, and ACK every
// snapshot. The clock runs from the ApplyPolicy call to the last ACK received
// BY THE SERVER (GetPolicyStatus last_ack_unix_ms, same machine, same wall
// clock), one figure per apply. The same run measures the etcd put→watch
// floor and a minimal raw node:http2 fan-out of the same bytes to the same
// subscribers, and prints HFI as a ratio to both. Prints figures, asserts
// nothing. Every variable, default and figure: docs/benchmarks.md.
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Policy } from "../proto/loader.ts";
import { TestEtcd } from "../test/support/etcd.ts";
import { freePort } from "../test/support/ports.ts";
import { putWatchFloor } from "./lib/etcd-floor.ts";
import { lenField } from "./lib/grpc-wire.ts";
import { Fleet, type FleetOptions } from "./lib/fleet.ts";
import { HfiServer, metricMax } from "./lib/hfi-server.ts";
import { CPU_TICK_MS, sampleTree, untilQuiet } from "./lib/proc-stats.ts";
import { KiB, MiB, num, quantiles, ratio, triple, type Quantiles } from "./lib/stats.ts";
import { MALLOC_ENV } from "../scripts/k8s/runtime-env.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

// --- configuration (documented in docs/benchmarks.md) ---------------------

const env = process.env;
const list = (name: string, def: string) => (env[name] ?? def).split(",").map((s) => s.trim()).filter(Boolean);
const int = (name: string, def: number) => {
  const v = env[name];
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: must be a non-negative integer (got "${v}")`);
  return n;
};

const CFG = {
  streams: list("BENCH_STREAMS", "1000,10000").map(Number),
  stores: list("BENCH_STORES", "embedded,etcd"),
  cases: new Set(list("BENCH_CASES", "propagation,baseline,burst")),
  applies: int("BENCH_APPLIES", 20),
  warmup: int("BENCH_WARMUP", 3),
  contention: int("BENCH_CONTENTION_APPLIES", 5),
  sideIntervalMs: int("BENCH_SIDE_INTERVAL_MS", 10),
  floorSamples: int("BENCH_FLOOR_SAMPLES", 50),
  workers: env.BENCH_WORKERS || undefined,
  baselineWorkers: env.BENCH_BASELINE_WORKERS ? int("BENCH_BASELINE_WORKERS", 1) : undefined,
  procs: env.BENCH_SUBSCRIBER_PROCS ? int("BENCH_SUBSCRIBER_PROCS", 2) : undefined,
  perConnection: Math.max(1, int("BENCH_STREAMS_PER_CONNECTION", 1)),
  services: Math.max(1, int("BENCH_SERVICES", 10)),
  connectConcurrency: Math.max(1, int("BENCH_CONNECT_CONCURRENCY", 100)),
  timeoutS: int("BENCH_TIMEOUT_S", 120),
  streamToken: env.BENCH_STREAM_TOKEN || undefined,
  apiToken: env.BENCH_API_TOKEN || undefined,
  burst: {
    stores: list("BENCH_BURST_STORES", "embedded"),
    streams: int("BENCH_BURST_STREAMS", 200),
    applies: int("BENCH_BURST_APPLIES", 60),
    policies: Math.max(1, int("BENCH_BURST_POLICIES", 10)),
    kib: int("BENCH_BURST_POLICY_KIB", 48),
    settleS: int("BENCH_BURST_SETTLE_S", 10),
  },
  debug: env.BENCH_DEBUG === "1",
};
for (const n of CFG.streams) if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_STREAMS: positive integers, comma-separated (got "${env.BENCH_STREAMS}")`);
for (const s of [...CFG.stores, ...CFG.burst.stores]) if (s !== "embedded" && s !== "etcd") throw new Error(`store "${s}": embedded or etcd`);

const NAME = "bench-all";
const SIDE = "bench-side";
/** Subscriber processes for N streams: several, so no process nears the 20,000 fd limit. */
const procsFor = (n: number) => CFG.procs ?? Math.max(2, Math.ceil(n / 10_000));
/** Raw baseline workers: as many as HFI's when given, else one process per 15,000 streams. */
const baselineWorkersFor = (n: number) => CFG.baselineWorkers ?? (CFG.workers && /^\d+$/.test(CFG.workers) ? Number(CFG.workers) : Math.max(1, Math.ceil(n / 15_000)));
const readyTimeoutMs = (n: number) => (CFG.timeoutS + Math.ceil(n / 100)) * 1000;
const stepTimeoutMs = () => CFG.timeoutS * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`${s}\n`);
const debug = (s: string) => CFG.debug && log(`    ${s}`);

/** The policy whose changes are timed: matches every subscriber; ~300-byte snapshot. */
function benchPolicy(k: number): Policy {
  return {
    metadata: { name: NAME },
    spec: {
      rules: [
        {
          match: { path: { prefix: "/api/v1/orders" }, headers: [{ name: "x-hfi-bench", exact: "on" }] },
          fault: { percentage: 1 + (k % 97), delay: { fixedDelayMs: 25 } },
        },
        {
          match: { method: { exact: "POST" }, path: { regex: "^/api/v[0-9]+/checkout" } },
          fault: { percentage: 5, abort: { httpStatus: 503, body: "injected by the hfi propagation benchmark" } },
        },
      ],
    },
  };
}

/** A policy that targets no subscriber: its applies cost a store write and no push. */
function sidePolicy(k: number): Policy {
  return {
    metadata: { name: SIDE },
    spec: { selector: { service: "bench-nobody" }, rules: [{ fault: { percentage: 1 + (k % 97), abort: { httpStatus: 500 } } }] },
  };
}

// --- one measurement ------------------------------------------------------

interface Result {
  label: string;
  n: number;
  connectMs: number;
  rssIdleMiB: number;
  rssPerStreamKiB: number;
  lat: Quantiles;
  cpuPerStreamUs: number;
  cpuPerChangeMs: Quantiles;
  subCpuPerStreamUs: number;
  lagMaxMs?: Quantiles;
  applyRpc?: Quantiles;
  sideIdle?: Quantiles;
  sideDuring?: Quantiles;
  latDuring?: Quantiles;
  floor?: Quantiles;
  frameBytes: number;
  reconnects: number;
}

/** What the change loop needs from a server under test. */
interface Driver {
  pid: number;
  /** Makes change k; resolves with the policy version subscribers must ACK. */
  change(k: number): Promise<{ version: number; rpcMs?: number }>;
  /** The server's wall clock at the last ACK of that version. */
  lastAck(version: number, n: number): Promise<number>;
  /** Max event-loop delay (ms) since the previous call, when the server reports it. */
  lagMax?(): Promise<number | undefined>;
}

interface ChangeFigures {
  lat: number[];
  cpuMs: number[];
  subCpuMs: number[];
  lag: number[];
  rpc: number[];
}

async function changes(d: Driver, fleet: Fleet, n: number, from: number, count: number, figs?: ChangeFigures): Promise<number> {
  let k = from;
  for (let i = 0; i < count; i++, k++) {
    await untilQuiet(d.pid, 100, 15_000);
    await d.lagMax?.();
    const sub0 = fleet.cpuMs();
    const cpu0 = sampleTree(d.pid).cpuMs;
    const t0 = Date.now();
    const { version, rpcMs } = await d.change(k);
    const { lastAckSentMs } = await fleet.acked(NAME, version, stepTimeoutMs());
    const cpu1 = (await untilQuiet(d.pid, 100, 15_000)).cpuMs;
    const sub1 = fleet.cpuMs();
    const lag = await d.lagMax?.();
    const end = await d.lastAck(version, n);
    debug(`change ${k}: ${end - t0} ms to the last ACK at the server (subscribers sent it at +${(lastAckSentMs - t0).toFixed(1)}), server CPU ${cpu1 - cpu0} ms${lag !== undefined ? `, max lag ${num(lag)} ms` : ""}${rpcMs !== undefined ? `, ApplyPolicy ${num(rpcMs)} ms` : ""}`);
    if (!figs) continue;
    figs.lat.push(end - t0);
    figs.cpuMs.push(cpu1 - cpu0);
    figs.subCpuMs.push(sub1 - sub0);
    if (lag !== undefined) figs.lag.push(lag);
    if (rpcMs !== undefined) figs.rpc.push(rpcMs);
  }
  return k;
}

function summarize(figs: ChangeFigures, n: number): Pick<Result, "lat" | "cpuPerStreamUs" | "cpuPerChangeMs" | "subCpuPerStreamUs" | "lagMaxMs" | "applyRpc"> {
  const total = figs.cpuMs.reduce((a, b) => a + b, 0);
  const sub = figs.subCpuMs.reduce((a, b) => a + b, 0);
  return {
    lat: quantiles(figs.lat),
    cpuPerStreamUs: (total / figs.cpuMs.length / n) * 1000,
    cpuPerChangeMs: quantiles(figs.cpuMs),
    subCpuPerStreamUs: (sub / figs.subCpuMs.length / n) * 1000,
    ...(figs.lag.length ? { lagMaxMs: quantiles(figs.lag) } : {}),
    ...(figs.rpc.length ? { applyRpc: quantiles(figs.rpc) } : {}),
  };
}

const emptyFigs = (): ChangeFigures => ({ lat: [], cpuMs: [], subCpuMs: [], lag: [], rpc: [] });

function fleetFor(address: string, n: number): Fleet {
  const o: FleetOptions = {
    address,
    streams: n,
    processes: procsFor(n),
    streamsPerConnection: CFG.perConnection,
    services: CFG.services,
    connectConcurrency: CFG.connectConcurrency,
    ...(CFG.streamToken ? { token: CFG.streamToken } : {}),
  };
  return new Fleet(o);
}

async function rssAfterQuiet(pid: number): Promise<number> {
  await untilQuiet(pid, 200, 15_000);
  await sleep(500);
  return sampleTree(pid).rssBytes;
}

/** Captured from HFI's own snapshots: what the baseline pushes. */
let capturedPolicy: Buffer | undefined;

async function measureHfi(store: string, n: number, etcd: TestEtcd, runId: string): Promise<Result> {
  const server = await HfiServer.start({
    ...(store === "etcd" ? { etcdEndpoint: etcd.endpoint, etcdPrefix: `/hfi-bench-${runId}-${n}/policies/` } : {}),
    ...(CFG.workers ? { workers: CFG.workers } : {}),
    ...(CFG.apiToken ? { apiToken: CFG.apiToken } : {}),
    ...(CFG.streamToken ? { streamToken: CFG.streamToken } : {}),
  });
  let fleet: Fleet | undefined;
  try {
    let k = 0;
    const timedApply = async (p: Policy) => {
      const t = performance.now();
      const res = await server.apply(p);
      return { version: res.policy!.metadata!.version, rpcMs: performance.now() - t };
    };
    const first = await timedApply(benchPolicy(k++));
    await server.apply(sidePolicy(0));
    const rss0 = await rssAfterQuiet(server.pid);
    fleet = fleetFor(server.grpcAddress, n);
    const connectMs = await fleet.ready(readyTimeoutMs(n));
    await server.lastAck(NAME, first.version, n, stepTimeoutMs());
    const { sample } = await fleet.acked(NAME, first.version, stepTimeoutMs(), true);
    if (sample) capturedPolicy = sample;
    const rss1 = await rssAfterQuiet(server.pid);
    const floor = quantiles(await putWatchFloor(etcd.endpoint, CFG.floorSamples));

    const driver: Driver = {
      pid: server.pid,
      change: (i) => timedApply(benchPolicy(i)),
      lastAck: (version, count) => server.lastAck(NAME, version, count, stepTimeoutMs()),
      async lagMax() {
        const v = metricMax(await server.metrics(), "nodejs_eventloop_lag_max_seconds");
        return v === undefined ? undefined : v * 1000;
      },
    };
    k = await changes(driver, fleet, n, k, CFG.warmup);
    const figs = emptyFigs();
    k = await changes(driver, fleet, n, k, CFG.applies, figs);

    // ApplyPolicy of a policy no subscriber holds: idle, then while fan-outs run.
    let s = 1;
    const sideIdle: number[] = [];
    for (let i = 0; i < 20; i++) sideIdle.push((await timedApply(sidePolicy(s++))).rpcMs);
    const sideDuring: number[] = [];
    const latDuring: number[] = [];
    for (let i = 0; i < CFG.contention; i++) {
      await untilQuiet(server.pid, 100, 15_000);
      let running = true;
      const side = (async () => {
        while (running) {
          sideDuring.push((await timedApply(sidePolicy(s++))).rpcMs);
          await sleep(CFG.sideIntervalMs);
        }
      })();
      const t0 = Date.now();
      const { version } = await timedApply(benchPolicy(k++));
      try {
        await fleet.acked(NAME, version, stepTimeoutMs());
      } finally {
        running = false;
        await side;
      }
      latDuring.push((await server.lastAck(NAME, version, n, stepTimeoutMs())) - t0);
    }
    const st = await fleet.stats();
    return {
      label: `hfi ${store}${CFG.workers ? ` --workers ${CFG.workers}` : ""}`,
      n,
      connectMs,
      rssIdleMiB: rss0 / MiB,
      rssPerStreamKiB: (rss1 - rss0) / n / KiB,
      ...summarize(figs, n),
      ...(sideIdle.length ? { sideIdle: quantiles(sideIdle) } : {}),
      ...(sideDuring.length ? { sideDuring: quantiles(sideDuring), latDuring: quantiles(latDuring) } : {}),
      floor,
      frameBytes: st.bytes / st.snapshots,
      reconnects: st.reconnects,
    };
  } catch (err) {
    const st = fleet ? await fleet.stats().catch(() => undefined) : undefined;
    throw new Error(
      `${(err as Error).message}${st ? `\n  subscribers: ${st.ready} ready, ${st.open} streams open, ${st.reconnects} reconnects, last error: ${st.lastError || "none"}` : ""}\n  server log tail:\n${server.logTail}`,
    );
  } finally {
    await fleet?.close();
    await server.stop();
  }
}

// --- the raw node:http2 baseline ------------------------------------------

class Baseline {
  private inbox: { type: string; [k: string]: unknown }[] = [];
  private wake: (() => void) | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
  ) {
    child.on("message", (m: { type: string }) => {
      this.inbox.push(m);
      this.wake?.();
    });
  }

  static async start(workers: number): Promise<Baseline> {
    const port = await freePort();
    const child = fork(path.join(HERE, "lib/fanout-baseline.ts"), [JSON.stringify({ port, workers })], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const b = new Baseline(child, `127.0.0.1:${port}`);
    await b.next((m) => m.type === "listening", 60_000);
    return b;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async next(pred: (m: { type: string; [k: string]: unknown }) => boolean, timeoutMs: number): Promise<{ type: string; [k: string]: unknown }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (this.child.exitCode !== null) throw new Error("baseline server exited");
      if (Date.now() > deadline) throw new Error(`baseline server: timed out after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  push(version: number, policy: Buffer): void {
    this.child.send({ type: "push", version, policy: policy.toString("base64") });
  }

  /** The workers' max event-loop delay (ms) since the previous ask. */
  async lagMax(): Promise<number> {
    this.child.send({ type: "lag" });
    return (await this.next((m) => m.type === "lag", 30_000)).maxMs as number;
  }

  async streams(): Promise<number> {
    this.child.send({ type: "count" });
    return (await this.next((m) => m.type === "count", 30_000)).streams as number;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
}

async function measureBaseline(n: number, policy: Buffer): Promise<Result> {
  const workers = baselineWorkersFor(n);
  const raw = await Baseline.start(workers);
  let fleet: Fleet | undefined;
  try {
    raw.push(1, policy);
    await raw.next((m) => m.type === "converged" && m.version === "raw-000000000001", 30_000);
    const rss0 = await rssAfterQuiet(raw.pid);
    fleet = fleetFor(raw.address, n);
    const connectMs = await fleet.ready(readyTimeoutMs(n));
    const open = await raw.streams();
    if (open !== n) throw new Error(`baseline holds ${open} of ${n} streams`);
    const rss1 = await rssAfterQuiet(raw.pid);
    const driver: Driver = {
      pid: raw.pid,
      async change(k) {
        raw.push(k + 2, policy);
        return { version: k + 2 };
      },
      async lastAck(version, count) {
        const m = await raw.next((x) => x.type === "converged" && x.version === `raw-${String(version).padStart(12, "0")}`, stepTimeoutMs());
        if ((m.streams as number) !== count) throw new Error(`baseline counted ${m.streams as number} streams, not ${count}`);
        return m.lastAckUnixMs as number;
      },
      lagMax: () => raw.lagMax(),
    };
    let k = await changes(driver, fleet, n, 0, CFG.warmup);
    const figs = emptyFigs();
    k = await changes(driver, fleet, n, k, CFG.applies, figs);
    // HFI's side applies have a floor: a request the same event loop answers at once, timed the same way.
    const sideDuring: number[] = [];
    const latDuring: number[] = [];
    const probe = http2.connect(`http://${raw.address}`);
    probe.on("error", () => {});
    try {
      for (let i = 0; i < CFG.contention; i++) {
        await untilQuiet(raw.pid, 100, 15_000);
        let running = true;
        const side = (async () => {
          while (running) {
            sideDuring.push(await probeOnce(probe));
            await sleep(CFG.sideIntervalMs);
          }
        })();
        const t0 = Date.now();
        const { version } = await driver.change(k++);
        try {
          latDuring.push((await driver.lastAck(version, n)) - t0);
        } finally {
          running = false;
          await side;
        }
      }
    } finally {
      probe.close();
    }
    const st = await fleet.stats();
    return {
      label: `raw node:http2 (${workers} worker${workers > 1 ? "s" : ""})`,
      n,
      connectMs,
      rssIdleMiB: rss0 / MiB,
      rssPerStreamKiB: (rss1 - rss0) / n / KiB,
      ...summarize(figs, n),
      ...(sideDuring.length ? { sideDuring: quantiles(sideDuring), latDuring: quantiles(latDuring) } : {}),
      frameBytes: st.bytes / st.snapshots,
      reconnects: st.reconnects,
    };
  } finally {
    await fleet?.close();
    await raw.stop();
  }
}

/** One GET /probe on the raw baseline: milliseconds to its response headers. */
function probeOnce(session: http2.ClientHttp2Session): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = session.request({ ":path": "/probe" });
    req.on("response", () => resolve(performance.now() - t));
    req.on("error", reject);
    req.resume();
    req.end();
  });
}

// --- the memory burst -----------------------------------------------------

function bigPolicy(i: number, k: number): Policy {
  const rules = Math.max(1, Math.round((CFG.burst.kib * 1024) / 4096));
  const body = (seed: number) => Buffer.alloc(3990, `hfi-burst-${i}-${seed}-`).toString("utf8");
  return {
    metadata: { name: `burst-${i}` },
    spec: {
      rules: Array.from({ length: rules }, (_, r) => ({
        match: { path: { prefix: `/burst/${r}` } },
        fault: { percentage: 1 + ((k + r) % 97), abort: { httpStatus: 503, body: body(r) } },
      })),
    },
  };
}

/** Anonymous (heap, malloc, mmap) resident bytes of one process; undefined off Linux. */
function smapsAnon(pid: number): number | undefined {
  try {
    const m = /^Anonymous:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Count and total seconds of major GCs so far (prom-client's GC histogram). */
function majorGc(text: string): { count: number; sumS: number } {
  const read = (suffix: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`nodejs_gc_duration_seconds_${suffix}{`) && l.includes('kind="major"'));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  };
  return { count: read("count"), sumS: read("sum") };
}

/** Where the server's memory is: V8 heap, external buffers, anonymous resident pages. */
async function memFigures(server: HfiServer): Promise<string> {
  const m = await server.metrics();
  const opt = (x: number | undefined) => (x !== undefined ? `${(x / MiB).toFixed(0)} MB` : "n/a");
  const heap = metricMax(m, "nodejs_heap_size_used_bytes");
  const heapTotal = metricMax(m, "nodejs_heap_size_total_bytes");
  const ext = metricMax(m, "nodejs_external_memory_bytes");
  return `JS heap used ${opt(heap)} of ${opt(heapTotal)}, external ${opt(ext)} (server /metrics); anonymous RSS ${opt(smapsAnon(server.pid))} (/proc smaps_rollup)`;
}

async function burst(store: string, etcd: TestEtcd, runId: string): Promise<void> {
  const B = CFG.burst;
  log(`\n## memory burst, hfi ${store}: ${B.streams} subscribers, ${B.applies} back-to-back applies over ${B.policies} policies of ~${B.kib} KB`);
  const server = await HfiServer.start({
    ...(store === "etcd" ? { etcdEndpoint: etcd.endpoint, etcdPrefix: `/hfi-bench-${runId}-burst/policies/` } : {}),
    ...(CFG.workers ? { workers: CFG.workers } : {}),
    ...(CFG.apiToken ? { apiToken: CFG.apiToken } : {}),
    ...(CFG.streamToken ? { streamToken: CFG.streamToken } : {}),
  });
  let fleet: Fleet | undefined;
  try {
    const rssEmpty = await rssAfterQuiet(server.pid);
    const versions = new Map<string, number>();
    for (let i = 0; i < B.policies; i++) versions.set(`burst-${i}`, (await server.apply(bigPolicy(i, 0))).policy!.metadata!.version);
    fleet = new Fleet({ address: server.grpcAddress, streams: B.streams, processes: 1, streamsPerConnection: CFG.perConnection, services: CFG.services, connectConcurrency: CFG.connectConcurrency, ...(CFG.streamToken ? { token: CFG.streamToken } : {}) });
    await fleet.ready(readyTimeoutMs(B.streams));
    for (const [name, v] of versions) await fleet.acked(name, v, stepTimeoutMs());
    const base = await rssAfterQuiet(server.pid);
    const memBase = await memFigures(server);
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, sampleTree(server.pid).rssBytes)), 50);
    const t0 = Date.now();
    try {
      for (let k = 0; k < B.applies; k++) {
        const i = k % B.policies;
        versions.set(`burst-${i}`, (await server.apply(bigPolicy(i, k + 1))).policy!.metadata!.version);
      }
      const applied = Date.now() - t0;
      for (const [name, v] of versions) await fleet.acked(name, v, stepTimeoutMs() * 3);
      for (const [name, v] of versions) await server.lastAck(name, v, B.streams, stepTimeoutMs());
      const converged = Date.now() - t0;
      const atConverged = sampleTree(server.pid).rssBytes;
      const gc0 = majorGc(await server.metrics());
      await sleep(B.settleS * 1000);
      const gc1 = majorGc(await server.metrics());
      const after = sampleTree(server.pid).rssBytes;
      const memAfter = await memFigures(server);
      const st = await fleet.stats();
      const mb = (x: number) => `${(x / MiB).toFixed(0)} MB`;
      log(`  RSS: no streams ${mb(rssEmpty)}; baseline (streams connected, policies held) ${mb(base)}`);
      log(`  peak during the burst ${mb(peak)} (${ratio(peak, base)} baseline); at convergence ${mb(atConverged)}; ${B.settleS} s later ${mb(after)} (${((after / base - 1) * 100).toFixed(0)} % over baseline)`);
      log(`  ${B.applies} applies returned after ${applied} ms; every stream ACKed the last version of every policy after ${converged} ms; ${st.reconnects} reconnects`);
      log(`  baseline: ${memBase}`);
      log(`  ${B.settleS} s after: ${memAfter}`);
      log(`  full GCs in those ${B.settleS} s: ${gc1.count - gc0.count}, ${num((gc1.sumS - gc0.sumS) * 1000)} ms in all (server /metrics nodejs_gc_duration_seconds, kind major)`);
    } finally {
      clearInterval(sampler);
    }
  } catch (err) {
    log(`  FAILED: ${(err as Error).message}\n  server log tail:\n${server.logTail}`);
  } finally {
    await fleet?.close();
    await server.stop();
  }
}

// --- output ---------------------------------------------------------------

function print(r: Result): void {
  log(`\n### ${r.label}, N = ${r.n}`);
  log(`  apply called → last ACK received by the server: ${triple(r.lat)} (${r.lat.n} applies)`);
  if (r.floor) log(`  etcd put→watch floor, same run: ${triple(r.floor)}; ratio p50 ${ratio(r.lat.p50, r.floor.p50)}, p99 ${ratio(r.lat.p99, r.floor.p99)}`);
  log(`  server CPU per change: ${num(r.cpuPerStreamUs)} µs per stream (mean; per change ${triple(r.cpuPerChangeMs)}; /proc ticks of ${CPU_TICK_MS} ms)`);
  log(`  subscriber CPU per change: ${num(r.subCpuPerStreamUs)} µs per stream (same cores)`);
  log(`  server RSS: ${num(r.rssIdleMiB)} MiB with no stream; +${num(r.rssPerStreamKiB)} KiB per connected idle stream`);
  if (r.lagMaxMs) log(`  event-loop delay, max per change (server /metrics): ${triple(r.lagMaxMs)}`);
  if (r.applyRpc) log(`  ApplyPolicy of the change itself: ${triple(r.applyRpc)}`);
  if (r.sideIdle) log(`  ApplyPolicy of another policy, idle: ${triple(r.sideIdle)}`);
  if (r.sideDuring)
    log(
      `  ${r.label.startsWith("raw") ? "GET /probe (answered at once)" : "ApplyPolicy of another policy"} during ${CFG.contention} fan-outs: ${triple(r.sideDuring)} (${r.sideDuring.n} calls); those fan-outs: ${triple(r.latDuring!)}`,
    );
  log(`  connect: every stream subscribed and ACKed in ${(r.connectMs / 1000).toFixed(1)} s; ${num(r.frameBytes, 0)} B per snapshot on the wire (mean); ${r.reconnects} reconnects`);
}

function table(rows: Result[], raws: Map<number, Result>): void {
  log("\n## summary");
  log("| server | N | apply → last ACK p50 / p99 / max | ÷ floor p50 (p99) | ÷ raw p99 | CPU/stream/change | ÷ raw CPU | RSS/stream | max lag p99 | side call during fan-out p99 (raw: GET /probe) |");
  log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const raw = raws.get(r.n);
    const isRaw = r === raw;
    log(
      `| ${r.label} | ${r.n} | ${num(r.lat.p50)} / ${num(r.lat.p99)} / ${num(r.lat.max)} ms | ${r.floor ? `${ratio(r.lat.p50, r.floor.p50)} (${ratio(r.lat.p99, r.floor.p99)})` : "–"} | ${raw && !isRaw ? ratio(r.lat.p99, raw.lat.p99) : "–"} | ${num(r.cpuPerStreamUs)} µs | ${raw && !isRaw ? ratio(r.cpuPerStreamUs, raw.cpuPerStreamUs) : "–"} | ${num(r.rssPerStreamKiB)} KiB | ${r.lagMaxMs ? `${num(r.lagMaxMs.p99)} ms` : "–"} | ${r.sideDuring ? `${num(r.sideDuring.p99)} ms` : "–"} |`,
    );
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = () => execFileSync("uptime", { encoding: "utf8" }).trim();
  log(`# bench:propagation — node ${process.version}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
  log(`start: ${load()}`);
  log(
    `config: streams ${CFG.streams.join(",")}; stores ${CFG.stores.join(",")}; cases ${[...CFG.cases].join(",")}; ${CFG.warmup} warm-up + ${CFG.applies} measured applies; ` +
      `${CFG.perConnection} stream(s) per connection; ${CFG.services} services; server workers ${CFG.workers ?? "(flag not passed)"}; ` +
      `server malloc env ${Object.keys(MALLOC_ENV).map((k) => `${k}=${process.env[k] ?? MALLOC_ENV[k]}`).join(" ")} (the image's unless set)`,
  );
  const etcd = await TestEtcd.start();
  const runId = `${process.pid}`;
  const rows: Result[] = [];
  const raws = new Map<number, Result>();
  try {
    for (const n of CFG.streams) {
      log(`\n## N = ${n} (${procsFor(n)} subscriber processes) — ${load()}`);
      if (CFG.cases.has("propagation")) {
        for (const store of CFG.stores) {
          try {
            const r = await measureHfi(store, n, etcd, runId);
            rows.push(r);
            print(r);
          } catch (err) {
            log(`\n### hfi ${store}, N = ${n}: FAILED\n  ${(err as Error).message}`);
          }
        }
      }
      if (CFG.cases.has("baseline")) {
        try {
          const policy = capturedPolicy ?? lenField(1, NAME);
          if (!capturedPolicy) log("  (no HFI snapshot to copy in this run: the baseline pushes a policy with a name only)");
          const r = await measureBaseline(n, policy);
          raws.set(n, r);
          rows.push(r);
          print(r);
          for (const h of rows.filter((x) => x.n === n && x !== r)) {
            log(`  hfi vs raw, ${h.label}: p50 ${ratio(h.lat.p50, r.lat.p50)}, p99 ${ratio(h.lat.p99, r.lat.p99)}, CPU per stream ${ratio(h.cpuPerStreamUs, r.cpuPerStreamUs)}`);
          }
        } catch (err) {
          log(`\n### raw node:http2, N = ${n}: FAILED\n  ${(err as Error).message}`);
        }
      }
    }
    if (CFG.cases.has("burst")) for (const store of CFG.burst.stores) await burst(store, etcd, runId);
  } finally {
    await etcd.stop();
  }
  if (rows.length) table(rows, raws);
  log(`\nend: ${load()}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
