// `hfi sidecar`: a local reverse proxy standing in for the Envoy sidecar.
// Every request goes through the filter (worker VMs round-robin); local
// responses are returned as the filter built them, held requests wait, the
// rest are proxied to the upstream with streaming bodies. Upstream
// connection failures become Envoy's 503. Response headers and body chunks
// go through proxy_on_response_headers / proxy_on_response_body.
// Inbound (default) it fronts the workload; with `outbound` it stands for the
// workload's outbound listener: requests are routed by their authority to a
// destination (routes.ts), with the Istio cluster name Envoy would use.
import type { DownstreamPeer } from "../peer.ts";
import http from "node:http";
import net from "node:net";
import crypto from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VmPool } from "../pool.ts";
import { CONTROL_PLANE_CLUSTER, nodeFor, pluginConfigFor } from "./workload.ts";
import { inboundRoute, outboundRoutes, noRouteProperties, type Destination, type Route } from "./routes.ts";
import { localResponseHeaders, type LocalResponse } from "../local-reply.ts";
import type { HttpStream } from "../http-stream.ts";
import type { HeaderPair } from "../pairs.ts";
import { defaultLogger, type HostLogger } from "../logger.ts";
import type { LogLevelName } from "../abi.ts";

export const DEFAULT_WASM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../build/hfi-filter.wasm");
export const UPSTREAM_CONNECT_ERROR =
  "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

export interface SidecarOptions {
  /** host:port to listen on (port 0 picks one). */
  listen: string;
  /** Upstream base URL, e.g. http://127.0.0.1:8000 (outbound: where calls to no destination go, Istio's PassthroughCluster). */
  upstream?: string;
  /** Run as the workload's outbound side: the filter gets direction outbound, requests are routed to `destinations`. */
  outbound?: boolean;
  /** Outbound destinations (mesh services) by host and port. */
  destinations?: Destination[];
  /** Control plane gRPC address host:port; several comma-separated fail over in order. */
  controlPlane: string;
  /** Service name (pod label app); the workload name too unless `workload` is set. */
  service?: string;
  /** Workload (Deployment) name: node metadata WORKLOAD_NAME. */
  workload?: string;
  namespace: string;
  pod?: string;
  /** Node metadata SERVICE_ACCOUNT (default "default"). */
  serviceAccount?: string;
  workers?: number;
  wasm?: string;
  token?: string;
  /** Optional host:port for the metrics endpoint (/stats/prometheus). */
  metricsAddr?: string;
  /** Pod labels for node metadata LABELS (with --service, app=<service> unless given here). */
  labels?: Record<string, string>;
  /** Raw plugin configuration (JSON); overrides the one built from the flags. */
  pluginConfig?: string;
  logger?: HostLogger;
  logLevel?: LogLevelName;
  failOpen?: boolean;
  /** How long close() lets in-flight requests finish (ms). */
  drainMs?: number;
  /**
   * Who calls this sidecar: the downstream peer identity every request's
   * connection carries (what Envoy learns from the caller's mTLS certificate
   * and Istio's metadata exchange). The sidecar serves plain HTTP and
   * terminates no TLS, so the identity is given here. Absent: an unknown,
   * plaintext caller.
   */
  peer?: DownstreamPeer;
}

export interface RunningSidecar {
  address: string;
  port: number;
  metricsAddress?: string;
  pool: VmPool;
  close(): Promise<void>;
}

function httpUrl(v: string, flag: string): URL {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`${flag}: invalid URL "${v}"`);
  }
  if (u.protocol !== "http:") throw new Error(`${flag}: only http:// upstreams are supported (got ${v})`);
  return u;
}

export function splitHostPort(addr: string, flag: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = i > 0 ? addr.slice(0, i).replace(/^\[|\]$/g, "") : "127.0.0.1";
  const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag}: invalid address "${addr}" (want host:port)`);
  return { host, port };
}

/** "a:9090,b:9090" -> each address checked; the sidecar fails over between them in order. */
export function controlPlaneList(v: string): string[] {
  const list = v.split(",").map((a) => a.trim()).filter((a) => a.length > 0);
  if (list.length === 0) throw new Error(`--control-plane: no address given (want host:port[,host:port...])`);
  for (const a of list) splitHostPort(a, "--control-plane");
  return list;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
]);

function rawPairs(raw: string[]): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(k)) out.push([k, raw[i + 1]!]);
  }
  return out;
}

function toNodeHeaders(pairs: readonly HeaderPair[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    if (k.startsWith(":") || HOP_BY_HOP.has(k)) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export async function startSidecar(o: SidecarOptions): Promise<RunningSidecar> {
  const logger = o.logger ?? defaultLogger(o.logLevel ?? "info");
  const listen = splitHostPort(o.listen, "--listen");
  const upstream = o.upstream === undefined ? undefined : httpUrl(o.upstream, "--upstream");
  if (!upstream && !o.outbound) throw new Error("--upstream: required (the service this sidecar fronts)");
  if (!o.outbound && o.destinations?.length) throw new Error("--destination: only with --outbound");
  for (const d of o.destinations ?? []) httpUrl(d.url, "--destination");
  const controlPlanes = controlPlaneList(o.controlPlane);
  const node = nodeFor(o);
  const pool = await VmPool.load(o.wasm ?? DEFAULT_WASM, {
    workers: o.workers ?? 1,
    pluginConfig: o.pluginConfig ?? pluginConfigFor({ token: o.token, direction: o.outbound ? "outbound" : "inbound" }),
    node,
    clusters: { [CONTROL_PLANE_CLUSTER]: controlPlanes },
    defaultCluster: controlPlanes,
    logger,
    logLevel: o.logLevel,
    failOpen: o.failOpen,
  });
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => handle(req, res));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  // Built once: a request only looks its authority up.
  const inbound = o.outbound ? undefined : inboundRoute(upstream!);
  const routeFor = inbound ? () => inbound : outboundRoutes(o.destinations ?? [], o.namespace, upstream);

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const client = rawPairs(req.rawHeaders);
    const authority = req.headers.host ?? `${listen.host}:${listen.port}`;
    const route: Route | undefined = routeFor(authority);

    const headers: HeaderPair[] = [
      [":method", req.method ?? "GET"],
      [":path", req.url ?? "/"],
      [":authority", authority],
      [":scheme", "http"],
      ...client.filter(([k]) => k !== "host"),
    ];
    // Envoy generates a request id when the client sent none.
    if (!client.some(([k]) => k === "x-request-id")) headers.push(["x-request-id", crypto.randomUUID()]);
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    let stream: HttpStream;
    try {
      stream = pool.startStream(headers, !hasBody, o.peer, route?.properties() ?? noRouteProperties());
    } catch (err) {
      logger.error({ err: (err as Error).message }, "sidecar: cannot start stream");
      res.writeHead(503).end();
      return;
    }
    // Downstream gone (or response done): the filter sees done/log/delete.
    res.on("close", () => stream.finish());
    const decided = stream.settled ? Promise.resolve(stream.settled) : stream.decision;
    decided.then(
      (d) => {
        if (d.kind === "reset") return;
        if (d.kind === "local_response") {
          req.resume();
          void sendLocal(stream, res, d.response);
        } else {
          if (!route) {
            // Envoy's router (after this filter): no route for the authority -> 404.
            req.resume();
            void sendLocal(stream, res, { status: 404, headers: [], body: new Uint8Array(0), details: "route_not_found" });
            return;
          }
          try {
            forward(stream, req, res, d.requestHeaders, route);
          } catch (err) {
            // e.g. a header value the filter set that Node refuses to send.
            logger.error({ err: (err as Error).message }, "sidecar: cannot forward request");
            req.resume();
            void sendLocal(stream, res, { status: 503, headers: [], body: new Uint8Array(0), details: "hfi_host_forward_error" });
          }
        }
      },
      (err) => {
        logger.error({ err: String(err) }, "sidecar: stream failed");
        res.destroy();
      },
    );
  }

  async function sendLocal(stream: HttpStream, res: http.ServerResponse, lr: LocalResponse): Promise<void> {
    try {
      await writeLocal(stream, res, lr);
    } catch (err) {
      // e.g. a header the filter built that Node refuses to send: never take the process down.
      logger.error({ err: (err as Error).message }, "sidecar: cannot send local response");
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  }

  async function writeLocal(stream: HttpStream, res: http.ServerResponse, lr: LocalResponse): Promise<void> {
    const built = localResponseHeaders(lr, stream.isGrpc);
    const rd = await stream.onResponse(built.status, built.headers, built.body.length === 0);
    if (res.headersSent || res.destroyed) return;
    if (rd.kind === "local_response") {
      const again = localResponseHeaders(rd.response, stream.isGrpc);
      res.writeHead(again.status, toNodeHeaders(again.headers)).end(Buffer.from(again.body));
      return;
    }
    res.writeHead(rd.status, toNodeHeaders(rd.headers));
    if (built.body.length === 0) {
      res.end();
      return;
    }
    // Envoy encodes a local reply's body through the filters too.
    stream.response.sink = (data, end) => {
      if (data.length > 0) res.write(data);
      if (end) res.end();
    };
    stream.response.onReset = () => res.destroy();
    stream.responseBody(built.body, true);
  }

  /** The upstream body, chunk by chunk through proxy_on_response_body, with backpressure. */
  function streamBody(stream: HttpStream, up: http.IncomingMessage, res: http.ServerResponse): void {
    stream.response.sink = (data, end) => {
      if (data.length > 0 && !res.write(data)) {
        up.pause();
        res.once("drain", () => up.resume());
      }
      if (end) res.end();
    };
    stream.response.onReset = () => {
      up.destroy();
      res.destroy();
    };
    up.on("data", (c: Buffer) => stream.responseBody(new Uint8Array(c.buffer, c.byteOffset, c.length), false));
    // As Envoy's HTTP/1 codec at message complete: a last, empty chunk with end_of_stream.
    up.on("end", () => stream.responseBody(new Uint8Array(0), true));
  }

  function forward(stream: HttpStream, req: http.IncomingMessage, res: http.ServerResponse, reqHeaders: HeaderPair[], route: Route): void {
    const get = (n: string) => reqHeaders.find(([k]) => k === n)?.[1];
    const outHeaders = toNodeHeaders(reqHeaders);
    const target = route.target;
    outHeaders.host = get(":authority") ?? target.host;
    const upReq = http.request({
      protocol: "http:",
      hostname: target.hostname,
      port: target.port || 80,
      method: get(":method") ?? req.method,
      path: get(":path") ?? req.url,
      headers: outHeaders,
      agent,
    });
    let answered = false;
    upReq.on("response", (up) => {
      answered = true;
      // Envoy's stream info now knows the upstream host (upstream.address / upstream.port).
      const addr = upReq.socket?.remoteAddress;
      const port = upReq.socket?.remotePort;
      if (addr && port) stream.properties.upstream = { address: `${addr.includes(":") ? `[${addr}]` : addr}:${port}`, port: BigInt(port) };
      const status = up.statusCode ?? 502;
      const bodyless = req.method === "HEAD" || status === 204 || status === 304 || up.headers["content-length"] === "0";
      stream.onResponse(status, rawPairs(up.rawHeaders), bodyless).then((rd) => {
        if (res.destroyed) {
          up.destroy();
          return;
        }
        if (rd.kind === "local_response") {
          up.resume();
          void sendLocal(stream, res, rd.response);
          return;
        }
        try {
          res.writeHead(rd.status, toNodeHeaders(rd.headers));
        } catch (err) {
          logger.error({ err: (err as Error).message }, "sidecar: cannot send response headers");
          up.destroy();
          res.writeHead(502).end();
          return;
        }
        up.on("error", () => res.destroy());
        if (bodyless) {
          up.resume();
          res.end();
          return;
        }
        streamBody(stream, up, res);
      });
    });
    upReq.on("error", (err) => {
      if (answered) {
        res.destroy();
        return;
      }
      answered = true;
      logger.debug({ err: err.message }, "sidecar: upstream connection failed");
      req.resume();
      const body = new TextEncoder().encode(UPSTREAM_CONNECT_ERROR);
      void sendLocal(stream, res, { status: 503, headers: [], body, details: "upstream_reset_before_response_started" });
    });
    res.on("close", () => {
      if (!res.writableFinished) upReq.destroy();
    });
    req.pipe(upReq);
  }

  let metricsServer: http.Server | undefined;
  let metricsAddress: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port, listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // Nothing may keep the process alive after a failed start (VM timers, gRPC channels).
    agent.destroy();
    await pool.close();
    throw new Error(`--listen ${o.listen}: ${(err as Error).message}`);
  }
  const port = (server.address() as net.AddressInfo).port;

  if (o.metricsAddr) {
    const m = splitHostPort(o.metricsAddr, "--metrics-addr");
    metricsServer = http.createServer((req, res) => {
      const url = req.url ?? "/";
      if (url.startsWith("/stats/prometheus") || url.startsWith("/metrics")) {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(pool.metricStore.prometheus() + hostMetrics(pool));
      } else if (url.startsWith("/stats")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(pool.metrics()));
      } else if (url.startsWith("/ready")) {
        res.writeHead(200).end("LIVE\n");
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        metricsServer!.once("error", reject);
        metricsServer!.listen(m.port, m.host, () => resolve());
      });
    } catch (err) {
      await new Promise((r) => server.close(r));
      agent.destroy();
      await pool.close();
      throw new Error(`--metrics-addr ${o.metricsAddr}: ${(err as Error).message}`);
    }
    metricsAddress = `${m.host}:${(metricsServer.address() as net.AddressInfo).port}`;
  }

  let closing: Promise<void> | undefined;
  return {
    address: `${listen.host}:${port}`,
    port,
    metricsAddress,
    pool,
    close() {
      closing ??= (async () => {
        const drained = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, o.drainMs ?? 5000);
        await drained;
        clearTimeout(timer);
        if (metricsServer) await new Promise<void>((r) => metricsServer!.close(() => r()));
        agent.destroy();
        await pool.close();
      })();
      return closing;
    },
  };
}

function hostMetrics(pool: VmPool): string {
  let active = 0;
  let crashes = 0;
  let grpcStreams = 0;
  let handlers = 0;
  for (const vm of pool.allVms) {
    active += vm.activeStreams;
    crashes += vm.stats.crashes;
    grpcStreams += vm.grpcStreamCount;
    handlers += vm.grpcHandlerCount;
  }
  return [
    "# TYPE hfi_sidecar_active_streams gauge",
    `hfi_sidecar_active_streams ${active}`,
    "# TYPE hfi_sidecar_vm_crashes counter",
    `hfi_sidecar_vm_crashes ${crashes}`,
    "# TYPE hfi_sidecar_vms gauge",
    `hfi_sidecar_vms ${pool.allVms.length}`,
    "# TYPE hfi_sidecar_grpc_streams gauge",
    `hfi_sidecar_grpc_streams ${grpcStreams}`,
    "# TYPE hfi_sidecar_grpc_handlers gauge",
    `hfi_sidecar_grpc_handlers ${handlers}`,
    "",
  ].join("\n");
}
