// Starting and stopping a control-plane replica: store, in-memory view,
// config streams, gRPC (PolicyService, ConfigDiscoveryService, health,
// reflection) and HTTP (probes, metrics, REST).
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { hfiGrpc } from "../proto/loader.ts";
import { DEFAULT_CONFIG, parseAddr, type ServerConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { PolicyOps } from "./policy-ops.ts";
import { hasStatusBoard, type PolicyStore } from "./store/types.ts";
import { replicaKey } from "./store/etcd-board.ts";
import { defaultReplicaId, ProxyBoard, streamsStatus } from "./status/proxy-board.ts";
import { ConfigStreams } from "./distribution/streams.ts";
import { PolicyView } from "./distribution/view.ts";
import { policyServiceHandlers } from "./grpc/policy-service.ts";
import { installStreamConfig, streamConfigHandler } from "./grpc/config-service.ts";
import type { RawGrpcCall } from "./grpc/raw-call.ts";
import type { StreamConfigRequestOut } from "../proto/loader.ts";
import { createHttpServer } from "./http/server.ts";
import { addReflection } from "./grpc/reflection.ts";

export interface StartOptions extends Partial<ServerConfig> {
  /** Use this store instead of creating one from the config (closed by close()). */
  store?: PolicyStore;
  logger?: Logger;
  /** Proxy status board timing (tests, benchmarks): batch interval and remote-read cache, ms. */
  statusFlushMs?: number;
  statusCacheMs?: number;
}

export interface RunningServer {
  /** "127.0.0.1:PORT" when listening on a wildcard address. */
  grpcAddress: string;
  httpAddress: string;
  store: PolicyStore;
  view: PolicyView;
  /** This replica's config streams (status, tests, benchmarks). */
  streams: ConfigStreams;
  /** Publishes this replica's proxies and merges every replica's for status. */
  proxies: ProxyBoard;
  replicaId: string;
  metrics: Metrics;
  logger: Logger;
  /** Graceful stop: config streams end with UNAVAILABLE, listeners close, the store closes. */
  close(): Promise<void>;
}

export const SHUTDOWN_MESSAGE = "server shutting down";

function dialable(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${h}:${port}`;
}

function bindGrpc(server: grpc.Server, addr: string): Promise<number> {
  const { host, port } = parseAddr(addr);
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
}

function listenHttp(server: http.Server, addr: string): Promise<number> {
  const { host, port } = parseAddr(addr);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...stripUndefined(options) };
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const store =
    options.store ??
    (await (await import("./store/index.ts")).createStore({
      etcdEndpoints: config.etcdEndpoints.length ? config.etcdEndpoints : undefined,
      etcdPrefix: config.etcdPrefix,
      dataDir: config.dataDir,
      logger,
    }));
  const view = new PolicyView({ store, logger, metrics });
  await view.start();
  const streams = new ConfigStreams({ view, logger, metrics });
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
  });

  let closing = false;
  const configCalls = new Set<RawGrpcCall<StreamConfigRequestOut>>();
  const watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  const grpcServer = new grpc.Server({
    // Filters hold their stream for hours: keep idle connections alive and notice dead peers.
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
  const hfi = hfiGrpc();
  grpcServer.addService(
    hfi.PolicyService.service,
    policyServiceHandlers({ ops, view, streams, proxies, store, logger, apiToken: config.apiToken, watchers }),
  );
  const health = new HealthImplementation({
    "": "SERVING",
    "hfi.v1.PolicyService": "SERVING",
    "hfi.v1.ConfigDiscoveryService": "SERVING",
  });
  health.addToServer(grpcServer);
  addReflection(grpcServer);

  const httpServer = createHttpServer({
    ops,
    store,
    view,
    streams,
    proxies,
    metrics,
    logger,
    apiToken: config.apiToken,
    isClosing: () => closing,
  });

  let grpcPort: number;
  let httpPort: number;
  try {
    grpcPort = await bindGrpc(grpcServer, config.grpcAddr);
    installStreamConfig(grpcServer, streamConfigHandler({ streams, view, metrics, logger, streamToken: config.streamToken, calls: configCalls }));
    httpPort = await listenHttp(httpServer, config.httpAddr);
  } catch (err) {
    grpcServer.forceShutdown();
    httpServer.close();
    await proxies.close();
    streams.close();
    view.close();
    await store.close();
    throw err;
  }
  const grpcAddress = dialable(parseAddr(config.grpcAddr).host, grpcPort);
  const httpAddress = dialable(parseAddr(config.httpAddr).host, httpPort);
  logger.info(
    { grpcAddress, httpAddress, store: store.kind, replicaId, apiAuth: !!config.apiToken, streamAuth: !!config.streamToken },
    "hfi server listening",
  );

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      for (const svc of ["", "hfi.v1.PolicyService", "hfi.v1.ConfigDiscoveryService"]) health.setStatus(svc, "NOT_SERVING");
      const status = { code: grpc.status.UNAVAILABLE, details: SHUTDOWN_MESSAGE };
      for (const call of [...configCalls]) call.close(status.code, status.details);
      for (const call of [...watchers]) call.emit("error", status);
      await new Promise<void>((resolve) => {
        // Streams were ended above; give unary calls in flight a moment, then force.
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, 2000);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
        setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
      });
      // Revokes the status lease: this replica's proxies leave the others' status at once.
      await proxies.close();
      streams.close();
      view.close();
      await store.close();
      logger.info("hfi server stopped");
    })());

  return { grpcAddress, httpAddress, store, view, streams, proxies, replicaId, metrics, logger, close };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && !["store", "logger", "statusFlushMs", "statusCacheMs"].includes(k)) (out as Record<string, unknown>)[k] = v;
  return out;
}
