// Propagation benchmark (npm run bench:propagation): N = 1, 100, 1000
// StreamConfig subscribers in a separate process, ACKing every snapshot;
// both stores. For each of APPLIES applies of a policy matching everyone:
//   push  = ApplyPolicy returned → each subscriber holds the new snapshot
//   acks  = ApplyPolicy returned → the server has every stream's ACK
// plus the server's memory per open stream. Env: BENCH_NS="1,100,1000",
// BENCH_APPLIES=20, BENCH_WARMUP=3, BENCH_STORES="embedded,etcd", BENCH_DEBUG=1.
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { pino } from "pino";
import { startServer, type RunningServer } from "../server/main.ts";
import { TestEtcd } from "../test/support/etcd.ts";
import { PolicyClient, waitFor } from "../test/support/server.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NS = (process.env.BENCH_NS ?? "1,100,1000").split(",").map(Number);
const APPLIES = Number(process.env.BENCH_APPLIES ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
/** HTTP/2 connections the subscribers spread over (default one per 100 subscribers; N = one each, as sidecars). */
const CONNECTIONS = process.env.BENCH_CONNECTIONS ? Number(process.env.BENCH_CONNECTIONS) : undefined;
const now = () => performance.timeOrigin + performance.now();

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)}  p99 ${pct(s, 99).toFixed(1)}  max ${s[s.length - 1]!.toFixed(1)} ms`;
};

async function memory(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

interface Row {
  store: string;
  n: number;
  push: string;
  pushFromCall: string;
  written: string;
  acks: string;
  heapPerStream: number;
  rssPerStream: number;
}

async function runN(server: RunningServer, storeName: string, n: number): Promise<Row> {
  const client = new PolicyClient(server.grpcAddress);
  const before = await memory();
  const child = fork(path.join(HERE, "lib/subscribers.ts"), [server.grpcAddress, String(n), String(CONNECTIONS ?? Math.ceil(n / 100))], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const messages: { type: string; version?: number; times?: number[] }[] = [];
  child.on("message", (m) => messages.push(m as (typeof messages)[number]));
  try {
    await waitFor(() => messages.some((m) => m.type === "ready"), `${n} subscribers ready`, 120_000, 10);
    await waitFor(() => server.streams.streamCount === n, "server sees every stream", 30_000, 10);
    const after = await memory();
    const pushLat: number[] = [];
    const pushFromCall: number[] = [];
    const writeLat: number[] = [];
    const ackLat: number[] = [];
    // WARMUP unmeasured applies first (JIT, HTTP/2 windows), then APPLIES measured.
    for (let i = -WARMUP; i < APPLIES; i++) {
      // Count ACKs for the new version as they arrive (in-process, exact).
      let version = -1;
      let acked = 0;
      let allAckedAt = 0;
      const early: number[] = [];
      const onAck = (_s: unknown, record: { policies: Map<string, number> }) => {
        const v = record.policies.get("bench-all");
        if (version < 0) {
          if (v !== undefined) early.push(v);
          return;
        }
        if (v === version && ++acked === n) allAckedAt = now();
      };
      let lastWrite = 0;
      const onPush = () => (lastWrite = now());
      server.streams.on("ack", onAck);
      server.streams.on("push", onPush);
      const called = now();
      const res = await client.apply({
        policy: { metadata: { name: "bench-all" }, spec: { rules: [{ fault: { percentage: 1 + ((i + WARMUP) % 50), delay: { fixedDelayMs: 10 } } }] } },
      });
      const returned = now();
      version = res.policy!.metadata!.version;
      acked = early.filter((v) => v === version).length;
      if (acked === n) allAckedAt = returned;
      child.send({ type: "await", name: "bench-all", version });
      const arrived = await waitFor(() => messages.find((m) => m.type === "arrived" && m.version === version), "arrivals", 60_000, 1);
      await waitFor(() => allAckedAt > 0, "all ACKs", 60_000, 1);
      server.streams.off("ack", onAck);
      server.streams.off("push", onPush);
      if (i < 0) continue;
      // Snapshots can arrive before the ApplyPolicy response does (counted as 0 from return).
      for (const t of arrived.times!) {
        pushLat.push(Math.max(0, t - returned));
        pushFromCall.push(t - called);
      }
      if (process.env.BENCH_DEBUG) {
        const ts = arrived.times!.map((t) => t - returned).sort((a, b) => a - b);
        console.log(`  apply ${i}: first ${ts[0]!.toFixed(1)} p50 ${pct(ts, 50).toFixed(1)} max ${ts[ts.length - 1]!.toFixed(1)} acks ${(allAckedAt - returned).toFixed(1)}`);
      }
      ackLat.push(Math.max(0, allAckedAt - returned));
      writeLat.push(lastWrite - called);
    }
    return {
      store: storeName,
      n,
      push: fmt(pushLat),
      pushFromCall: fmt(pushFromCall),
      written: fmt(writeLat),
      acks: fmt(ackLat),
      heapPerStream: (after.heap - before.heap) / n,
      rssPerStream: (after.rss - before.rss) / n,
    };
  } finally {
    child.send({ type: "exit" });
    await new Promise((r) => child.once("exit", r));
    client.close();
    await waitFor(() => server.streams.streamCount === 0, "streams closed", 30_000);
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const logger = pino({ level: process.env.BENCH_LOG ?? "warn" });
  const started = Date.now();
  for (const storeName of (process.env.BENCH_STORES ?? "embedded,etcd").split(",")) {
    const etcd = storeName === "etcd" ? await TestEtcd.start() : undefined;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-bench-"));
    const server = await startServer({
      grpcAddr: "127.0.0.1:0",
      httpAddr: "127.0.0.1:0",
      logger,
      ...(etcd ? { etcdEndpoints: [etcd.endpoint] } : { dataDir }),
    });
    try {
      for (const n of NS) {
        const row = await runN(server, storeName, n);
        rows.push(row);
        console.log(
          `${storeName.padEnd(8)} N=${String(n).padEnd(5)}\n` +
            `  apply returned → snapshot at each subscriber: ${row.push}\n` +
            `  apply called   → snapshot at each subscriber: ${row.pushFromCall}\n` +
            `  apply called   → server wrote every stream:   ${row.written}\n` +
            `  apply returned → server has every ACK:        ${row.acks}\n` +
            `  server memory per open stream: heap ${(row.heapPerStream / 1024).toFixed(1)} KiB, rss ${(row.rssPerStream / 1024).toFixed(1)} KiB`,
        );
      }
    } finally {
      await server.close();
      await etcd?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\n${APPLIES} measured applies per N (after ${WARMUP} warm-up); subscribers in a separate process; ${((Date.now() - started) / 1000).toFixed(0)} s total`);
}

await main();
