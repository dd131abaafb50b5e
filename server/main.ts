// Starting and stopping a control-plane replica: store, in-memory view,
// config streams, gRPC (PolicyService, ConfigDiscoveryService, health,
// reflection) and HTTP (probes, metrics, REST). startServer runs it all in
// this process; runServer (`hfi server`) runs a primary and --workers
// worker processes when more than one is asked for (distribution/workers.ts).
import { durationLimitOf } from "./duration-limit.ts";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { DEFAULT_CONFIG, parseAddr, type ServerConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { PolicyOps } from "./policy-ops.ts";
import { hasStatusBoard, type PolicyStore } from "./store/types.ts";
import { replicaKey } from "./store/etcd-board.ts";
import { defaultReplicaId, ProxyBoard, streamsStatus } from "./status/proxy-board.ts";
import { ConfigStreams } from "./distribution/streams.ts";
import { PolicyView } from "./distribution/view.ts";
import { createHttpServer } from "./http/server.ts";
import { startGrpc } from "./grpc/server.ts";
import { listenError } from "./listen-error.ts";
import { registerStoreUp } from "./http/probes.ts";
import { Access } from "./security/access.ts";
import { checkExposure, exposureWarning, managementProtected, streamProtected } from "./security/exposure.ts";
import { IdleGc } from "./idle-gc.ts";

export { SHUTDOWN_MESSAGE } from "./grpc/server.ts";

export interface StartOptions extends Partial<ServerConfig> {
  /** Use this store instead of creating one from the config (closed by close()). */
  store?: PolicyStore;
  logger?: Logger;
  /** Proxy status board timing (tests, benchmarks): batch interval and remote-read cache, ms. */
  statusFlushMs?: number;
  statusCacheMs?: number;
  /** How often token files are checked for changes (default 1000 ms). */
  tokenPollMs?: number;
}

/** /readyz's reason before the first successful list() of the store. */
export const VIEW_NOT_LOADED = "policy view not loaded yet: the store has not answered since start (config streams wait)";

/** What the "hfi server listening" line says about authentication. */
export function authSummary(c: ServerConfig): Record<string, boolean> {
  return { apiAuth: managementProtected(c), streamAuth: streamProtected(c), meshIdentity: c.meshIdentity };
}

export function warnExposure(c: ServerConfig, logger: Logger): void {
  const warning = exposureWarning(c);
  if (warning) logger.warn({ allowUnauthenticated: true }, warning);
}

export interface RunningServer {
  /** "127.0.0.1:PORT" when listening on a wildcard address. */
  grpcAddress: string;
  httpAddress: string;
  store: PolicyStore;
  view: PolicyView;
  /** This replica's config streams (status, tests, benchmarks). */
  streams: ConfigStreams;
  /** Publishes this replica's status summary and reads every replica's for status. */
  proxies: ProxyBoard;
  replicaId: string;
  metrics: Metrics;
  logger: Logger;
  /** Graceful stop: config streams end with UNAVAILABLE, listeners close, the store closes. */
  close(): Promise<void>;
}

export function dialable(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${h}:${port}`;
}

export function listenHttp(server: http.Server, addr: string): Promise<number> {
  const { host, port } = parseAddr(addr);
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(listenError("--http-addr", addr, err));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeHttp(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}

export async function openStore(config: ServerConfig, logger: Logger): Promise<PolicyStore> {
  return (await import("./store/index.ts")).createStore({
    etcdEndpoints: config.etcdEndpoints.length ? config.etcdEndpoints : undefined,
    etcdPrefix: config.etcdPrefix,
    dataDir: config.dataDir,
    logger,
  });
}

/** Everything in this process (tests, embedding, --workers 1). */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...stripUndefined(options) };
  checkExposure(config);
  const logger = options.logger ?? createLogger(config.logLevel);
  warnExposure(config, logger);
  const metrics = createMetrics();
  const store = options.store ?? (await openStore(config, logger));
  registerStoreUp(metrics.registry, store);
  const access = new Access(config, logger, options.tokenPollMs);
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
  const replicaId = replicaKey(config.replicaId || defaultReplicaId());
  // Declared before the board so its onLost callback can reach it.
  let proxies: ProxyBoard | undefined = undefined;
  const board = hasStatusBoard(store)
    ? store.openStatusBoard({ replicaId, ttlSeconds: config.statusTtlSeconds, onLost: () => proxies?.republishAll() })
    : undefined;
  proxies = new ProxyBoard({
    local: streamsStatus(streams, replicaId),
    replicaId,
    board,
    metrics,
    logger,
    flushMs: options.statusFlushMs,
    remoteCacheMs: options.statusCacheMs,
  });
  const ops = new PolicyOps(store, metrics, {
    writeStart: (name) => streams.noteWriteStart(name),
    writeFailed: (name) => streams.noteWriteFailed(name),
  }, { maxTotalBytes: config.maxStoreBytes, durationLimit: durationLimitOf(config) });

  let closing = false;
  const httpServer = createHttpServer({
    ops,
    store,
    view,
    streams,
    proxies,
    metrics,
    logger,
    access,
    readiness: () => (view.synced ? undefined : VIEW_NOT_LOADED),
    isClosing: () => closing,
  });

  let grpc: Awaited<ReturnType<typeof startGrpc>>;
  let httpPort: number;
  try {
    grpc = await startGrpc({ config, ops, view, streams, proxies, store, metrics, logger, access });
    try {
      httpPort = await listenHttp(httpServer, config.httpAddr);
    } catch (err) {
      await grpc.close();
      throw err;
    }
  } catch (err) {
    httpServer.close();
    await proxies.close();
    streams.close();
    view.close();
    access.close();
    await store.close();
    throw err;
  }
  const grpcAddress = dialable(parseAddr(config.grpcAddr).host, grpc.port);
  const httpAddress = dialable(parseAddr(config.httpAddr).host, httpPort);
  logger.info(
    { grpcAddress, httpAddress, store: store.kind, replicaId, workers: 1, ...authSummary(config) },
    "hfi server listening",
  );

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      await grpc.close();
      await closeHttp(httpServer);
      // Revokes the status lease: this replica's proxies leave the others' status at once.
      await proxies.close();
      streams.close();
      view.close();
      access.close();
      await store.close();
      logger.info("hfi server stopped");
    })());

  return { grpcAddress, httpAddress, store, view, streams, proxies, replicaId, metrics, logger, close };
}

/** `hfi server`: one process, or a primary with config.workers workers. */
export async function runServer(config: ServerConfig, logger: Logger): Promise<{ close(): Promise<void> }> {
  // Each process of `hfi server` collects once after an allocation burst (workers start their own).
  const gc = new IdleGc({ logger });
  const running = config.workers <= 1 ? await startServer({ ...config, logger }) : await (await import("./distribution/workers.ts")).startPrimary(config, logger);
  return {
    async close() {
      gc.close();
      await running.close();
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && !["store", "logger", "statusFlushMs", "statusCacheMs", "tokenPollMs"].includes(k)) (out as Record<string, unknown>)[k] = v;
  return out;
}
