// `hfi server --workers N` (N > 1): this process is the primary. It owns the
// store (one embedded-store lock or one etcd client), serves HTTP (probes,
// metrics of every process, REST) and the replica's status board, and runs
// N worker processes (worker-main.ts) that share the gRPC port through
// node:cluster and each serve their own config streams. Every worker's view
// is fed by its own watch on the primary's store, so all see the same
// changes in the same order. A worker that dies is started again; its
// filters reconnect (to any worker) and get the current snapshot.
import { durationLimitOf } from "../duration-limit.ts";
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { AggregatorRegistry } from "prom-client";
import { parseAddr, type ServerConfig } from "../config.ts";
import { createMetrics } from "../metrics.ts";
import { PolicyOps } from "../policy-ops.ts";
import { hasStatusBoard, type StatusSummary } from "../store/types.ts";
import { replicaKey } from "../store/etcd-board.ts";
import { createHttpServer } from "../http/server.ts";
import { authSummary, closeHttp, dialable, listenHttp, openStore, VIEW_NOT_LOADED, warnExposure } from "../main.ts";
import { registerStoreUp } from "../http/probes.ts";
import { ListenError } from "../listen-error.ts";
import { Access } from "../security/access.ts";
import { checkExposure } from "../security/exposure.ts";
import { defaultReplicaId, ProxyBoard, type LocalStatus } from "../status/proxy-board.ts";
import { mergeSummaries } from "../status/summary.ts";
import { mergeTallies, type LocalTally, type StatusQuery } from "../status/tally.ts";
import { IpcPeer, type Channel } from "./ipc.ts";
import { serveStore } from "./ipc-store.ts";
import { ConfigStreams } from "./streams.ts";
import { PolicyView } from "./view.ts";
import type { WorkerHello } from "./worker-main.ts";

/** How long all workers may take to listen at start. */
const START_TIMEOUT_MS = 30_000;
/** A graceful worker stop that takes longer ends with SIGKILL. */
const STOP_TIMEOUT_MS = 5000;
/** Restarts of a crashing worker are spaced at least this far apart. */
const RESTART_MIN_INTERVAL_MS = 1000;
/** Workers report status changes at most this often. */
const STATUS_NOTIFY_MS = 50;
/** A worker that does not answer a status or metrics request by then is left out of that answer. */
const GATHER_TIMEOUT_MS = 2000;

/** The worker module next to this one: .ts under tsx, .js once compiled. */
function workerModule(): string {
  const self = import.meta.url;
  return fileURLToPath(new URL(self.endsWith(".ts") ? "./worker-main.ts" : "./worker-main.js", self));
}

/** Node flags for workers: ours, plus tsx's loader when we run TypeScript registered in-process (cli/bin/hfi.js). */
function workerExecArgv(module: string): string[] {
  const argv = [...process.execArgv];
  if (module.endsWith(".ts") && !argv.some((a) => a.includes("tsx"))) argv.push("--import", import.meta.resolve("tsx"));
  return argv;
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  peer: IpcPeer;
  port: Promise<number>;
  /** Set once the worker listens (it answers requests from then on). */
  ready: boolean;
  /** Its policy view is loaded (it can serve config streams). */
  synced: boolean;
  stopServing: () => void;
}

export async function startPrimary(config: ServerConfig, logger: Logger, options: { tokenPollMs?: number } = {}): Promise<{ close(): Promise<void> }> {
  checkExposure(config);
  warnExposure(config, logger);
  const metrics = createMetrics();
  const store = await openStore(config, logger);
  registerStoreUp(metrics.registry, store);
  // REST management calls are served here.
  const access = new Access(config, logger, options.tokenPollMs);
  const view = new PolicyView({ store, logger, metrics });
  await view.start();
  const replicaId = replicaKey(config.replicaId || defaultReplicaId());
  const slots = new Map<number, WorkerSlot>();
  let closing = false;

  const live = () => [...slots.values()];
  const gather = async <T>(kind: string, payload?: unknown): Promise<T[]> =>
    (await Promise.allSettled(live().filter((s) => s.ready).map((s) => s.peer.request<T>(kind, payload, GATHER_TIMEOUT_MS)))).flatMap((r) =>
      r.status === "fulfilled" ? [r.value] : [],
    );
  const changeListeners = new Set<() => void>();
  const local: LocalStatus = {
    tally: async (q) => mergeTallies(await gather<LocalTally>("tally", q), q),
    summary: async () => mergeSummaries(replicaId, await gather<StatusSummary>("summary")),
    onChange(fn) {
      changeListeners.add(fn);
      return () => changeListeners.delete(fn);
    },
  };
  let proxies: ProxyBoard | undefined = undefined;
  const board = hasStatusBoard(store)
    ? store.openStatusBoard({ replicaId, ttlSeconds: config.statusTtlSeconds, onLost: () => proxies?.republishAll() })
    : undefined;
  proxies = new ProxyBoard({ local, replicaId, board, metrics, logger });
  const status = proxies;

  // /metrics: this process's registry plus every worker's, summed (prom-client's cluster aggregation).
  const own = metrics.registry;
  const ownJson = own.getMetricsAsJSON.bind(own);
  own.metrics = async () => {
    const all = [await ownJson(), ...(await gather<Awaited<ReturnType<typeof ownJson>>>("metrics"))];
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  };

  // REST writes go straight to the store; the workers' watches carry them to the streams.
  const ops = new PolicyOps(store, metrics, { writeStart: () => {}, writeFailed: () => {} }, { maxTotalBytes: config.maxStoreBytes, durationLimit: durationLimitOf(config) });
  // The primary holds no config streams: an empty set keeps the HTTP side's contract.
  const noStreams = new ConfigStreams({ view, logger, metrics });
  const httpServer = createHttpServer({
    ops,
    store,
    view,
    streams: noStreams,
    proxies: status,
    metrics,
    logger,
    access,
    readiness: () => {
      if (!view.synced) return VIEW_NOT_LOADED;
      const listening = live().filter((s) => s.ready);
      if (!listening.length) return "no worker is listening";
      const waiting = listening.filter((s) => !s.synced).map((s) => s.index);
      return waiting.length ? `policy view of worker ${waiting.join(", ")} not loaded yet (the store has not answered since it started)` : undefined;
    },
    isClosing: () => closing,
  });

  const module = workerModule();
  cluster.setupPrimary({ exec: module, execArgv: workerExecArgv(module), args: [], serialization: "advanced" });
  const lastStart = new Map<number, number>();

  function fork(index: number): WorkerSlot {
    lastStart.set(index, Date.now());
    const worker = cluster.fork({ HFI_WORKER_INDEX: String(index) });
    const peer = new IpcPeer(worker as unknown as Channel);
    const stopServing = serveStore(peer, store);
    peer.handle("hello", (): WorkerHello => ({ config, storeKind: store.kind, replicaId, workerIndex: index, statusNotifyMs: STATUS_NOTIFY_MS, tokenPollMs: options.tokenPollMs }));
    peer.onNote("synced", () => (slot.synced = true));
    peer.handle("status-snapshot", (q) => status.snapshot(q as StatusQuery));
    peer.onNote("status-changed", () => changeListeners.forEach((fn) => fn()));
    const port = new Promise<number>((resolve, reject) => {
      peer.onNote("failed", (p) => reject(new ListenError((p as { message: string }).message)));
      peer.onNote("listening", (p) => {
        slot.ready = true;
        slot.synced = (p as { synced: boolean }).synced;
        changeListeners.forEach((fn) => fn());
        resolve((p as { port: number }).port);
      });
      worker.once("exit", (code, signal) => reject(new Error(`worker ${index} exited (${signal ?? code}) before listening`)));
    });
    port.catch(() => {});
    const slot: WorkerSlot = { index, worker, peer, port, ready: false, synced: false, stopServing };
    worker.once("exit", (code, signal) => {
      peer.close(new Error(`worker ${index} exited`));
      stopServing();
      if (slots.get(index) === slot) slots.delete(index);
      changeListeners.forEach((fn) => fn());
      if (closing) return;
      logger.warn({ worker: index, pid: worker.process.pid, code, signal }, "worker exited; starting it again (its filters reconnect)");
      const wait = Math.max(0, RESTART_MIN_INTERVAL_MS - (Date.now() - (lastStart.get(index) ?? 0)));
      setTimeout(() => {
        if (!closing) slots.set(index, fork(index));
      }, wait).unref();
    });
    return slot;
  }

  let grpcPort: number;
  let httpPort: number;
  try {
    for (let i = 0; i < config.workers; i++) slots.set(i, fork(i));
    const ports = await Promise.race([
      Promise.all(live().map((s) => s.port)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("workers did not start listening in time")), START_TIMEOUT_MS).unref()),
    ]);
    grpcPort = ports[0]!;
    httpPort = await listenHttp(httpServer, config.httpAddr);
  } catch (err) {
    closing = true;
    for (const s of live()) s.worker.process.kill("SIGKILL");
    httpServer.close();
    await status.close();
    noStreams.close();
    view.close();
    access.close();
    await store.close();
    throw err;
  }
  const grpcAddress = dialable(parseAddr(config.grpcAddr).host, grpcPort);
  const httpAddress = dialable(parseAddr(config.httpAddr).host, httpPort);
  logger.info(
    { grpcAddress, httpAddress, store: store.kind, replicaId, workers: config.workers, ...authSummary(config) },
    "hfi server listening",
  );

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      await Promise.all(
        live().map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.worker.isDead()) return resolve();
              const timer = setTimeout(() => s.worker.process.kill("SIGKILL"), STOP_TIMEOUT_MS);
              s.worker.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
              s.peer.notify("shutdown");
            }),
        ),
      );
      await closeHttp(httpServer);
      // Revokes the status lease: this replica's proxies leave the others' status at once.
      await status.close();
      noStreams.close();
      view.close();
      access.close();
      await store.close();
      logger.info("hfi server stopped");
    })());
  return { close };
}
