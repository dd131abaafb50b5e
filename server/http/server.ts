// The HTTP side: probes, Prometheus metrics and the REST API of the old
// control plane, on the same data as the gRPC API.
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import YAML from "yaml";
import type { Logger } from "pino";
import { policyToJson } from "../../policy/index.ts";
import type { PolicyOut } from "../../proto/loader.ts";
import { checkBearer } from "../auth.ts";
import { ApiError, errorBody, toApiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyStore } from "../store/types.ts";
import type { ConfigStreams } from "../distribution/streams.ts";
import type { PolicyView } from "../distribution/view.ts";
import { collectStatus, PARTIAL_STATUS_HEADER } from "../status/report.ts";
import type { ProxyBoard } from "../status/proxy-board.ts";

export const MAX_BODY_BYTES = 1024 * 1024;
/** How long /readyz waits for the store before answering 503. */
export const READY_TIMEOUT_MS = 2000;

export interface HttpDeps {
  ops: PolicyOps;
  store: PolicyStore;
  view: PolicyView;
  streams: ConfigStreams;
  proxies: ProxyBoard;
  metrics: Metrics;
  logger: Logger;
  apiToken?: string;
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

const bad = (status: number, message: string) =>
  new ApiError(status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.INVALID_ARGUMENT, status, message);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const tooLarge = () => bad(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.resume(); // discard the upload so the client can read the answer
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => !over && resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Request body as an object: JSON (default) or YAML by content-type. */
async function readPolicyBody(req: http.IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim().toLowerCase();
  const isJson = type === "application/json" || type.endsWith("+json") || type === "";
  const isYaml = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"].includes(type);
  if (!isJson && !isYaml) throw bad(415, `unsupported content-type "${type}": use application/json or application/yaml`);
  const body = (await readBody(req)).toString("utf8");
  if (!body.trim()) throw bad(400, "request body is empty: expected a policy");
  if (isJson) {
    try {
      return JSON.parse(body);
    } catch (err) {
      throw bad(400, `malformed JSON body: ${(err as Error).message}`);
    }
  }
  try {
    return YAML.parse(body);
  } catch (err) {
    throw bad(400, `malformed YAML body: ${(err as Error).message}`);
  }
}

async function ready(store: PolicyStore): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`store did not answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      }),
    ]);
    return undefined;
  } catch (err) {
    return `store unavailable: ${(err as Error)?.message ?? String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

const json = (p: PolicyOut) => policyToJson(p);

export function createHttpServer(deps: HttpDeps): http.Server {
  const { ops, logger } = deps;

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";

    // Probes and metrics: never behind auth.
    if (path === "/healthz" || path === "/v1/health") {
      return send(res, 200, { status: "ok" });
    }
    if (path === "/readyz" || path === "/v1/ready") {
      if (deps.isClosing()) return send(res, 503, { status: "not ready", reason: "server shutting down" });
      const reason = await ready(deps.store);
      return reason ? send(res, 503, { status: "not ready", reason }) : send(res, 200, { status: "ready", store: deps.store.kind });
    }
    if (path === "/metrics") {
      const text = await deps.metrics.registry.metrics();
      return send(res, 200, text, deps.metrics.registry.contentType);
    }

    if (path !== "/v1/policies" && !path.startsWith("/v1/policies/")) {
      throw new ApiError(grpc.status.NOT_FOUND, 404, `no route for ${method} ${path}`);
    }
    const denied = checkBearer(deps.apiToken, req.headers.authorization);
    if (denied) {
      res.setHeader("www-authenticate", "Bearer");
      throw bad(401, denied);
    }

    const allow = (methods: string[]) => {
      if (!methods.includes(method)) {
        res.setHeader("allow", methods.join(", "));
        throw new ApiError(grpc.status.UNIMPLEMENTED, 405, `method ${method} not allowed on ${path}`);
      }
    };

    if (path === "/v1/policies") {
      allow(["GET", "POST"]);
      if (method === "GET") {
        const { policies, revision } = await ops.list();
        return send(res, 200, { policies: policies.map((p) => json(p.policy)), revision });
      }
      const out = await ops.apply(await readPolicyBody(req), {
        dryRun: url.searchParams.get("dryRun") === "true" || url.searchParams.get("dry_run") === "true",
      });
      return send(res, out.result === "APPLY_RESULT_CREATED" ? 201 : 200, { policy: json(out.policy), result: out.result.replace("APPLY_RESULT_", "").toLowerCase() });
    }
    if (path === "/v1/policies/status") {
      allow(["GET"]);
      const name = url.searchParams.get("name");
      let policies = deps.view.list();
      if (name) {
        policies = policies.filter((p) => p.policy.metadata!.name === name);
        if (!policies.length) throw new ApiError(grpc.status.NOT_FOUND, 404, `policy "${name}" not found`);
      }
      const { report, partial } = await collectStatus(policies, deps.proxies);
      // Only this replica's proxies: said in a header and a field (absent when complete).
      if (partial) res.setHeader(PARTIAL_STATUS_HEADER, partial);
      return send(res, 200, report);
    }
    const name = decodeURIComponent(path.slice("/v1/policies/".length));
    if (name.includes("/")) throw new ApiError(grpc.status.NOT_FOUND, 404, `no route for ${method} ${path}`);
    allow(["GET", "PUT", "DELETE"]);
    const expected = Number(url.searchParams.get("expectedVersion") ?? url.searchParams.get("expected_version") ?? 0);
    if (!Number.isSafeInteger(expected) || expected < 0) throw bad(400, "expected_version: must be a non-negative integer");
    if (method === "GET") return send(res, 200, json((await ops.get(name)).policy));
    if (method === "DELETE") {
      const { previous, revision } = await ops.delete(name, expected);
      return send(res, 200, { policy: json(previous.policy), revision });
    }
    const body = await readPolicyBody(req);
    const bodyName = (body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (bodyName !== undefined && bodyName !== name) {
      throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, `metadata.name: must match the name in the URL ("${name}"), got ${JSON.stringify(bodyName)}`, [
        { path: "metadata.name", reason: `must match the name in the URL ("${name}")` },
      ]);
    }
    const input = body && typeof body === "object" && !Array.isArray(body) && bodyName === undefined
      ? { ...(body as object), metadata: { ...((body as { metadata?: object }).metadata ?? {}), name } }
      : body;
    const out = await ops.apply(input, {
      expectedVersion: expected,
      dryRun: url.searchParams.get("dryRun") === "true" || url.searchParams.get("dry_run") === "true",
    });
    return send(res, out.result === "APPLY_RESULT_CREATED" ? 201 : 200, { policy: json(out.policy), result: out.result.replace("APPLY_RESULT_", "").toLowerCase() });
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
