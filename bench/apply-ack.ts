// bench:apply-ack — 1, 10 and 100 filter VMs (the compiled filter in the
// Node host) connected to a real control plane over gRPC; time from
// ApplyPolicy to every VM having sent its ACK for the new snapshot, p50/p99
// over ~20 applies. Prints figures; asserts nothing. Target: p99 <= 100 ms
// at 100 VMs.
import { performance } from "node:perf_hooks";
import type { WasmVm } from "../filter/host/vm.ts";
import { loadVm, quantiles, spawnControlPlane, startControlPlane, until } from "./lib/host-setup.ts";

const APPLIES = Number(process.env.BENCH_APPLIES ?? 20);
const SIZES = (process.env.BENCH_VMS ?? "1,10,100").split(",").map(Number);
/** BENCH_INPROCESS=1: control plane in this process (shares the event loop with the VMs). */
const IN_PROCESS = process.env.BENCH_INPROCESS === "1";

async function main(): Promise<void> {
  console.log(
    `node ${process.version}; ${APPLIES} applies per size; control plane ${IN_PROCESS ? "in this process" : "in its own process (hfi server, embedded store)"}, all VMs in this process\n`,
  );
  for (const n of SIZES) {
    const cp = IN_PROCESS ? await startControlPlane() : await spawnControlPlane();
    const vms: WasmVm[] = [];
    // Per VM: ACKs seen (version strings) in order; time of every ACK.
    const acks: string[][] = [];
    let ackTimes: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const log: string[] = [];
        acks.push(log);
        vms.push(
          await loadVm(cp.server.grpcAddress, "frontend", (v) => {
            log.push(v);
            ackTimes.push(performance.now());
          }),
        );
      }
      await until(() => acks.every((a) => a.length > 0), 30_000);
      const times: number[] = [];
      const rpc: number[] = [];
      const spread: number[] = [];
      for (let k = 0; k < APPLIES + 2; k++) {
        const before = acks.map((a) => a.length);
        ackTimes = [];
        const t0 = performance.now();
        await cp.apply({
          metadata: { name: "bench-policy" },
          spec: {
            selector: { service: "frontend" },
            rules: [{ match: { path: { prefix: `/bench/${k}` } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }],
          },
        });
        const tRpc = performance.now() - t0;
        await until(() => acks.every((a, i) => a.length > before[i]!), 30_000);
        const ms = performance.now() - t0;
        if (k >= 2) {
          // first two: warm-up
          times.push(ms);
          rpc.push(tRpc);
          spread.push(Math.max(...ackTimes) - Math.min(...ackTimes));
        }
      }
      const q = quantiles(times);
      const r = quantiles(rpc);
      const sp = quantiles(spread);
      console.log(
        `${String(n).padStart(3)} VMs: apply → all ACKed  p50 ${q.p50.toFixed(1)} ms  p99 ${q.p99.toFixed(1)} ms  max ${q.max.toFixed(1)} ms  (mean ${q.mean.toFixed(1)}; ApplyPolicy RPC itself p50 ${r.p50.toFixed(1)} ms; first→last ACK p50 ${sp.p50.toFixed(1)} ms)`,
      );
    } finally {
      await Promise.all(vms.map((v) => v.close()));
      await cp.close();
    }
  }
}

await main();
