// The gRPC side of a process: PolicyService, StreamConfig (on raw HTTP/2),
// health and reflection on one port. Used by the single-process server and
// by each worker (the cluster shares the port between workers).
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { hfiGrpc, type StreamConfigRequestOut } from "../../proto/loader.ts";
import { parseAddr, type ServerConfig } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyStore } from "../store/types.ts";
import type { ConfigStreams } from "../distribution/streams.ts";
import type { PolicyView } from "../distribution/view.ts";
import type { StatusSource } from "../status/report.ts";
import { policyServiceHandlers } from "./policy-service.ts";
import { installStreamConfig, streamConfigHandler } from "./config-service.ts";
import { addReflection } from "./reflection.ts";
import { listenError } from "../listen-error.ts";
import type { Access } from "../security/access.ts";
import { TolerantServer } from "./undecodable.ts";
import type { RawGrpcCall } from "./raw-call.ts";

export const SHUTDOWN_MESSAGE = "server shutting down";
const SERVICES = ["", "hfi.v1.PolicyService", "hfi.v1.ConfigDiscoveryService"];

export interface GrpcDeps {
  config: ServerConfig;
  ops: PolicyOps;
  view: PolicyView;
  streams: ConfigStreams;
  proxies: StatusSource;
  store: PolicyStore;
  metrics: Metrics;
  logger: Logger;
  access: Access;
}

export interface GrpcSide {
  port: number;
  /** Streams end with UNAVAILABLE, unary calls in flight get a moment, then the listener closes. */
  close(): Promise<void>;
}

function bind(server: grpc.Server, addr: string): Promise<number> {
  const { host, port } = parseAddr(addr);
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(listenError("--grpc-addr", addr, err)) : resolve(p))),
  );
}

export async function startGrpc(deps: GrpcDeps): Promise<GrpcSide> {
  const { config, logger } = deps;
  // grpc-js's own log lines ("E No address added ...") go to our log, not raw to stderr:
  // what matters (e.g. which address is taken) is reported in words by the caller.
  grpc.setLogger({ error: (...args: unknown[]) => logger.debug({ grpcJs: args.map(String).join(" ") }, "grpc-js") });
  const configCalls = new Set<RawGrpcCall<StreamConfigRequestOut>>();
  const watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const server = new TolerantServer({
    // Filters hold their stream for hours: keep idle connections alive and notice dead peers.
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
  server.addService(
    hfiGrpc().PolicyService.service,
    policyServiceHandlers({ ...deps, watchers }),
  );
  const health = new HealthImplementation(Object.fromEntries(SERVICES.map((s) => [s, "SERVING" as const])));
  health.addToServer(server);
  addReflection(server);
  let port: number;
  try {
    port = await bind(server, config.grpcAddr);
    installStreamConfig(
      server,
      streamConfigHandler({ streams: deps.streams, view: deps.view, metrics: deps.metrics, logger, access: deps.access, calls: configCalls }),
    );
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      for (const svc of SERVICES) health.setStatus(svc, "NOT_SERVING");
      const status = { code: grpc.status.UNAVAILABLE, details: SHUTDOWN_MESSAGE };
      for (const call of [...configCalls]) call.close(status.code, status.details);
      for (const call of [...watchers]) call.emit("error", status);
      await new Promise<void>((resolve) => {
        // Streams were ended above; give unary calls in flight a moment, then force.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    })());
  return { port, close };
}
