// The HTTP side: probes, Prometheus metrics, the status report, the old
// control plane's REST API (legacy/) and PolicyService as Connect JSON
// (connect.ts), on the same data as the gRPC API.
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Access } from "../security/access.ts";
import { authorizeHttp } from "./caller.ts";
import { isProbePath, probeAnswer, type Readiness } from "./probes.ts";
import { ApiError, errorBody, toApiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyStore } from "../store/types.ts";
import type { ConfigStreams } from "../distribution/streams.ts";
import type { PolicyView } from "../distribution/view.ts";
import { PARTIAL_STATUS_HEADER } from "../status/report.ts";
import { policyStatus } from "../status/policy-status.ts";
import { connectHandler, isConnectPath } from "./connect.ts";
import { isLegacyPath, legacyRoute } from "./legacy/routes.ts";
import { decodePath } from "./query.ts";
import type { ProxyBoard } from "../status/proxy-board.ts";

export interface HttpDeps {
  ops: PolicyOps;
  store: PolicyStore;
  view: PolicyView;
  streams: ConfigStreams;
  proxies: ProxyBoard;
  metrics: Metrics;
  logger: Logger;
  access: Access;
  /** /readyz: can this replica serve config streams (probes.ts). */
  readiness: Readiness;
  isClosing: () => boolean;
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = contentType === "application/json" ? JSON.stringify(body) + "\n" : String(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: unknown): void {
  const e = toApiError(err);
  send(res, e.httpStatus, errorBody(e));
}


export function createHttpServer(deps: HttpDeps): http.Server {
  const { logger } = deps;
  const connect = connectHandler(deps);

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    // A malformed %XX is the client's mistake (400), never a 500.
    const path = decodePath(url.pathname).replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";

    // Probes and metrics: never behind auth.
    if (path === "/healthz") {
      return send(res, 200, { status: "ok" });
    }
    if (isProbePath(path)) {
      const [status, body] = await probeAnswer(path, deps);
      return send(res, status, body);
    }
    if (path === "/metrics") {
      const text = await deps.metrics.registry.metrics();
      return send(res, 200, text, deps.metrics.registry.contentType);
    }

    // HFI's own JSON: PolicyService over Connect (unary, application/json).
    if (isConnectPath(path)) return connect(req, res, path);
    // The old control plane's routes (server/http/legacy); HFI's JSON is on the Connect route.
    if (isLegacyPath(path, method)) return legacyRoute(deps, req, res, path, url);
    if (path !== "/v1/policies/status") throw new ApiError(grpc.status.NOT_FOUND, 404, `no route for ${method} ${path}`);
    authorizeHttp(deps.access, req, res);
    const limitParam = url.searchParams.get("proxy_limit") ?? url.searchParams.get("proxyLimit") ?? "0";
    const { report, partial } = await policyStatus(deps, {
      name: url.searchParams.get("name") ?? "",
      proxyLimit: /^\d+$/.test(limitParam) ? Number(limitParam) : NaN,
    });
    // Only this replica's proxies: said in a header and a field (absent when complete).
    if (partial) res.setHeader(PARTIAL_STATUS_HEADER, partial);
    return send(res, 200, report);
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((err) => {
      const e = toApiError(err);
      if (e.httpStatus >= 500) logger.warn({ method: req.method, url: req.url, err: e.message }, "request failed");
      if (e.httpStatus === 413 && !res.headersSent) res.setHeader("connection", "close");
      if (!res.headersSent) sendError(res, e);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  return server;
}
