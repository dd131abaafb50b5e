// bench:apply-ack — 1, 10 and 100 filter VMs (the compiled filter in the
// Node host) connected to a real control plane over gRPC; time from
// ApplyPolicy to every VM having sent its ACK for the new snapshot, p50/p99
// over ~20 applies. Prints figures; asserts nothing. Target: p99 <= 100 ms
// at 100 VMs.
//
// The end of each measurement is taken inside the ACK hook, at the moment
// the last VM's guest sends its ACK (no polling loop: a spinning waiter
// would burn the CPU the server and the VMs need on a 2-core box).
import { performance } from "node:perf_hooks";
import type { WasmVm } from "../filter/host/vm.ts";
import { loadVm, quantiles, spawnControlPlane, startControlPlane, until } from "./lib/host-setup.ts";

const APPLIES = Number(process.env.BENCH_APPLIES ?? 20);
/** Unmeasured applies first (JIT, HTTP/2 windows): a long-running server is warm. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const SIZES = (process.env.BENCH_VMS ?? "1,10,100").split(",").map(Number);
/** BENCH_INPROCESS=1: control plane in this process (shares the event loop with the VMs). */
const IN_PROCESS = process.env.BENCH_INPROCESS === "1";
const DEBUG = process.env.BENCH_DEBUG === "1";

/** One round: resolves at the time the last VM ACKed after `arm()`. */
class AckRound {
  private pending = 0;
  private acked: boolean[] = [];
  first = 0;
  last = 0;
  private done: (() => void) | undefined;
  constructor(private readonly n: number) {}

  arm(): Promise<void> {
    this.pending = this.n;
    this.acked = new Array(this.n).fill(false);
    this.first = 0;
    this.last = 0;
    return new Promise((r) => (this.done = r));
  }

  /** Called from VM `i`'s ACK hook, synchronously as the guest sends it. */
  ack(i: number): void {
    if (!this.done || this.acked[i]) return;
    const t = performance.now();
    this.acked[i] = true;
    if (this.first === 0) this.first = t;
    if (--this.pending === 0) {
      this.last = t;
      const d = this.done;
      this.done = undefined;
      d();
    }
  }
}

async function main(): Promise<void> {
  console.log(
    `node ${process.version}; ${APPLIES} measured applies per size after ${WARMUP} warm-up; control plane ${IN_PROCESS ? "in this process" : "in its own process (hfi server, embedded store)"}, all VMs in this process\n`,
  );
  for (const n of SIZES) {
    const cp = IN_PROCESS ? await startControlPlane() : await spawnControlPlane();
    const vms: WasmVm[] = [];
    const initial: boolean[] = new Array(n).fill(false);
    const round = new AckRound(n);
    try {
      for (let i = 0; i < n; i++) {
        vms.push(
          await loadVm(cp.server.grpcAddress, "frontend", () => {
            initial[i] = true;
            round.ack(i);
          }),
        );
      }
      await until(() => initial.every(Boolean), 30_000);
      const times: number[] = [];
      const rpc: number[] = [];
      const firstAck: number[] = [];
      const spread: number[] = [];
      for (let k = 0; k < WARMUP + APPLIES; k++) {
        const allAcked = round.arm();
        const t0 = performance.now();
        let tRpc = 0;
        const applied = cp
          .apply({
            metadata: { name: "bench-policy" },
            spec: {
              selector: { service: "frontend" },
              rules: [{ match: { path: { prefix: `/bench/${k}` } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }],
            },
          })
          .then(() => (tRpc = performance.now() - t0));
        await Promise.all([applied, allAcked]);
        const ms = round.last - t0;
        if (DEBUG) console.log(`  apply ${k}: all ACKed ${ms.toFixed(1)} ms, first ACK ${(round.first - t0).toFixed(1)}, RPC ${tRpc.toFixed(1)}`);
        if (k < WARMUP) continue;
        times.push(ms);
        rpc.push(tRpc);
        firstAck.push(round.first - t0);
        spread.push(round.last - round.first);
      }
      const q = quantiles(times);
      console.log(
        `${String(n).padStart(3)} VMs: apply → all ACKed  p50 ${q.p50.toFixed(1)} ms  p99 ${q.p99.toFixed(1)} ms  max ${q.max.toFixed(1)} ms  (mean ${q.mean.toFixed(1)}; ` +
          `apply → first ACK p50 ${quantiles(firstAck).p50.toFixed(1)} ms; first → last ACK p50 ${quantiles(spread).p50.toFixed(1)} ms; ` +
          `ApplyPolicy response seen here p50 ${quantiles(rpc).p50.toFixed(1)} ms)`,
      );
    } finally {
      await Promise.all(vms.map((v) => v.close()));
      await cp.close();
    }
  }
  console.log(
    "\nThe ApplyPolicy response is written by the server before the fan-out; this process sees it late because it" +
      "\nfirst runs every VM's receive → decode → ACK (one event loop, all VMs share one HTTP/2 connection).",
  );
}

await main();
