// Proxy status board benchmark (node --import tsx bench/status-board.ts):
// two replicas on a real etcd, N subscribers (default 1000) on replica A,
// each ACKing. Prints: etcd writes (one summary per write) and their
// latency and size, how long until replica B's status counts every proxy
// (connect) and every ACK of a new policy (apply), and GetPolicyStatus
// latency on B (cache hit vs a fresh read of the summaries).
// Env: BENCH_N=1000, BENCH_APPLIES=10.
import { pino } from "pino";
import type { Policy } from "../proto/loader.ts";
import { encodeSummary } from "../server/store/etcd-board.ts";
import type { ProxyStatusBoard, StatusSummary } from "../server/store/types.ts";
import { TestEtcd } from "../test/support/etcd.ts";
import { PolicyClient, TestSubscriber, startTestServer, waitFor, type TestServer } from "../test/support/server.ts";

const N = Number(process.env.BENCH_N ?? 1000);
const APPLIES = Number(process.env.BENCH_APPLIES ?? 10);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const fmt = (xs: number[], unit = "ms") => {
  if (!xs.length) return "n/a";
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)}  p99 ${pct(s, 99).toFixed(1)}  max ${s[s.length - 1]!.toFixed(1)} ${unit}`;
};

/** A different spec each time: every apply is a real change pushed to all N proxies. */
const policy = (name: string, k: number): Policy => ({
  metadata: { name },
  spec: { selector: { service: "" }, rules: [{ fault: { percentage: 1 + (k % 90), delay: { fixedDelayMs: 5 } } }] },
});

/** Times every publish() of a replica's board. */
function instrument(s: TestServer): { flushMs: number[]; ops: number[] } {
  const board = (s.proxies as unknown as { opts: { board: ProxyStatusBoard } }).opts.board;
  const out = { flushMs: [] as number[], ops: [] as number[] };
  const publish = board.publish.bind(board);
  board.publish = async (summary: StatusSummary) => {
    const t0 = performance.now();
    await publish(summary);
    out.flushMs.push(performance.now() - t0);
    out.ops.push(Buffer.byteLength(encodeSummary(summary)));
  };
  return out;
}

const etcd = await TestEtcd.start();
const logger = pino({ level: "silent" });
let a: TestServer | undefined;
let b: TestServer | undefined;
const subs: TestSubscriber[] = [];
const ca = () => new PolicyClient(a!.grpcAddress);
try {
  a = await startTestServer({ etcd, replicaId: "bench-a", logger });
  b = await startTestServer({ etcd, replicaId: "bench-b", logger });
  const flushes = instrument(a);
  const cb = new PolicyClient(b.grpcAddress);
  const client = ca();
  try {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      subs.push(new TestSubscriber(a.grpcAddress, { service: `svc-${i % 10}`, namespace: "bench", proxyId: `proxy-${String(i).padStart(5, "0")}`, pod: `pod-${i}` }));
    }
    await waitFor(() => subs.every((x) => x.latest), "all subscribed", 120_000);
    const subscribed = performance.now() - t0;
    await client.apply({ policy: policy("bench-0", 0) });
    await waitFor(async () => (await cb.status("bench-0")).policies[0]?.targetedProxies === N, "B counts every proxy", 120_000, 50);
    const connectVisible = performance.now() - t0;
    const connectFlushes = flushes.flushMs.length;
    console.log(`N = ${N} subscribers on replica A (2-core VM, etcd + both replicas + subscribers in one box)`);
    console.log(`connect: all subscribed after ${subscribed.toFixed(0)} ms; B's status counts all ${N} after ${connectVisible.toFixed(0)} ms; ${connectFlushes} etcd writes`);

    const applyVisible: number[] = [];
    const before = flushes.flushMs.length;
    for (let k = 0; k < APPLIES; k++) {
      const t = performance.now();
      await client.apply({ policy: policy(`bench-${k % 2}`, k) });
      await waitFor(
        async () => (await cb.status(`bench-${k % 2}`)).policies[0]!.ackedCount === N,
        `B sees ${N} ACKs of apply ${k}`,
        60_000,
        20,
      );
      applyVisible.push(performance.now() - t);
    }
    const applyFlushes = flushes.flushMs.length - before;
    console.log(`apply → B's status shows all ${N} ACKs (polling B every 20 ms, B's cache 1 s): ${fmt(applyVisible)}`);
    console.log(`  ${applyFlushes} etcd writes for ${APPLIES} applies (${(applyFlushes / APPLIES).toFixed(1)} per apply, whatever N)`);
    console.log(`write (one put of the replica's summary): ${fmt(flushes.flushMs)}; size ${fmt(flushes.ops, "bytes")}`);

    const cached: number[] = [];
    const fresh: number[] = [];
    for (let k = 0; k < 20; k++) {
      let t = performance.now();
      await cb.status();
      cached.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 1050)); // past B's cache
      t = performance.now();
      await cb.status();
      fresh.push(performance.now() - t);
    }
    console.log(`GetPolicyStatus on B with ${N} remote proxies (one summary): fresh read ${fmt(fresh)}; cached ${fmt(cached)}`);
  } finally {
    client.close();
    cb.close();
  }
} finally {
  subs.forEach((x) => x.close());
  await a?.close();
  await b?.close();
  await etcd.stop();
}
