// A worker process of `hfi server --workers N`: serves gRPC (PolicyService,
// StreamConfig, health, reflection) on the port the cluster shares, with
// its own view and config streams fed from the primary's store (ipc-store.ts).
// Status reads and the replica's summary go through the primary, which
// gathers every worker's streams. Signals are the primary's to handle: a
// worker stops when the primary says so, or when the primary is gone.
import { durationLimitOf } from "../duration-limit.ts";
import process from "node:process";
import type { ServerConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { PolicyOps } from "../policy-ops.ts";
import type { PolicyStore } from "../store/types.ts";
import { startGrpc } from "../grpc/server.ts";
import { Access } from "../security/access.ts";
import type { ProxySnapshot } from "../status/report.ts";
import { summarize } from "../status/summary.ts";
import { tallyStreams, type StatusQuery } from "../status/tally.ts";
import { IpcPeer, type Channel } from "./ipc.ts";
import { IpcStore } from "./ipc-store.ts";
import { ConfigStreams } from "./streams.ts";
import { PolicyView } from "./view.ts";
import { IdleGc } from "../idle-gc.ts";

/** The first thing the primary tells a worker. */
export interface WorkerHello {
  config: ServerConfig;
  storeKind: PolicyStore["kind"];
  replicaId: string;
  workerIndex: number;
  /** Status changes are reported to the primary at most this often. */
  statusNotifyMs: number;
  tokenPollMs?: number;
}

const peer = new IpcPeer(process as unknown as Channel);
const hello = await peer.request<WorkerHello>("hello");
const { config, replicaId } = hello;
const logger = createLogger(config.logLevel).child({ worker: hello.workerIndex });
// Runs for the worker's life (the process exits on stop).
new IdleGc({ logger });
const metrics = createMetrics();
const store = new IpcStore(peer, hello.storeKind);
const view = new PolicyView({ store, logger, metrics });
await view.start();
const streams = new ConfigStreams({
  view,
  logger,
  metrics,
  drainTimeoutMs: config.streamDrainTimeoutMs,
  queueBudgetBytes: config.streamQueueBudgetBytes,
  maxFaultSeries: config.maxFaultSeries,
});
peer.handle("tally", (q) => tallyStreams(streams, replicaId, q as StatusQuery));
peer.handle("summary", () => summarize(streams, replicaId));

peer.handle("metrics", () => metrics.registry.getMetricsAsJSON());

// Stream events come by the thousand during a fan-out: one note per interval.
let noteTimer: NodeJS.Timeout | undefined;
const changed = () => {
  noteTimer ??= setTimeout(() => {
    noteTimer = undefined;
    peer.notify("status-changed");
  }, hello.statusNotifyMs);
};
for (const e of ["added", "sent", "ack", "nack", "serving", "removed", "faults"] as const) streams.on(e, changed);

const ops = new PolicyOps(store, metrics, {
  writeStart: (name) => streams.noteWriteStart(name),
  writeFailed: (name) => streams.noteWriteFailed(name),
}, { maxTotalBytes: config.maxStoreBytes, durationLimit: durationLimitOf(config) });
const proxies = { snapshot: (q: StatusQuery) => peer.request<ProxySnapshot>("status-snapshot", q) };
// Each worker follows the token files itself (the primary holds no gRPC calls).
const access = new Access(config, logger, hello.tokenPollMs);
let grpc: Awaited<ReturnType<typeof startGrpc>>;
try {
  grpc = await startGrpc({ config, ops, view, streams, proxies, store, metrics, logger, access });
} catch (err) {
  // The primary reports it (e.g. which address is taken) and stops.
  peer.notify("failed", { message: (err as Error)?.message ?? String(err) });
  await new Promise((r) => setTimeout(r, 100));
  process.exit(1);
}
// The primary's /readyz waits for every listening worker's view.
peer.notify("listening", { port: grpc.port, synced: view.synced });
if (!view.synced) view.once("synced", () => peer.notify("synced"));

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await grpc.close().catch(() => {});
    streams.close();
    view.close();
    access.close();
    await store.close();
  }
  process.exit(code);
}
peer.onNote("shutdown", () => void stop(0));
process.on("disconnect", () => void stop(1));
process.on("SIGTERM", () => {});
process.on("SIGINT", () => {});
