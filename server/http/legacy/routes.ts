// The old control plane's REST routes (kalahetun/Minesweeper
// executor/control-plane/main.go, api/policy_controller.go,
// api/middleware.go) on HFI's data: the same paths, status codes, bodies
// and error bodies, so the old CLI, the old plugin and scripts keep working
// through a migration. HFI's own JSON is on the Connect route
// (server/http/connect.ts), not here.
import type http from "node:http";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Access } from "../../security/access.ts";
import { httpCaller } from "../caller.ts";
import { ApiError, toApiError } from "../../errors.ts";
import type { PolicyOps } from "../../policy-ops.ts";
import type { PolicyView } from "../../distribution/view.ts";
import type { PolicyStore, StoredPolicy } from "../../store/types.ts";
import { validateName } from "../../../policy/index.ts";
import type { FieldError } from "../../../policy/index.ts";
import { BodyTooLarge, readBoundedBody } from "../body.ts";
import { booleanParam, versionParam } from "../query.ts";
import { serveConfigStream } from "./config-stream.ts";
import { fromHfi, toHfiInput, widening } from "./convert.ts";
import { decodeLegacyPolicy, GoDecodeError } from "./go-decode.ts";
import { goMap, sendGinNotFound, sendGo } from "./go-json.ts";
import { marshalPolicy, type LegacyPolicy } from "./go-structs.ts";
import { validateForCreate, validateOld, validateVersionUpdate, type OldDetailedError, type OldValidationError } from "./old-rules.ts";
import { storePingError } from "../probes.ts";

export const LEGACY_MAX_BODY_BYTES = 1024 * 1024;
/** Names of policies left out of the old list (see convert.ts widening()), comma-separated. */
export const OMITTED_HEADER = "hfi-legacy-omitted";

export interface LegacyDeps {
  ops: PolicyOps;
  store: PolicyStore;
  view: PolicyView;
  logger: Logger;
  access: Access;
  isClosing: () => boolean;
}

/** The same check as every management call (token or admin mesh identity), answered in the old server's error shape. */
function authorize(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse): void {
  try {
    deps.access.management(httpCaller(req));
  } catch (err) {
    const e = toApiError(err);
    if (e.httpStatus === 401) res.setHeader("www-authenticate", "Bearer");
    throw new LegacyReply(e.httpStatus, goMap({ error: e.message }));
  }
}

// The bodies of api/middleware.go ErrorHandlerMiddleware (struct ErrorResponse: error, message, details, code).
const errorResponse = (error: string, message: string, details?: Record<string, unknown>, code?: string) => ({
  error,
  message,
  ...(details && Object.keys(details).length ? { details: goMap(details) } : {}),
  ...(code ? { code } : {}),
});
const NOT_FOUND = errorResponse("not_found", "The requested resource was not found", { resource: "policy" });
const ALREADY_EXISTS = errorResponse("resource_already_exists", "The resource already exists", { resource: "policy" });

/** A request the old server answered with this status and body. */
class LegacyReply extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`legacy ${status}`);
  }
}

/** What the middleware answers for a validation failure (POST routes): old message, HFI's field errors in details. */
function invalidInput(errors: FieldError[] | OldValidationError | OldDetailedError): LegacyReply {
  if ("type" in errors) return new LegacyReply(400, errorResponse("invalid_input", errors.message, errors.details, errors.type));
  const list = Array.isArray(errors) ? errors : [{ path: errors.field, reason: errors.message }];
  const details: Record<string, unknown> = { field: list[0]!.path, validation_message: list[0]!.reason };
  if (list.length > 1) details.field_errors = list.map((e) => ({ path: e.path, reason: e.reason }));
  return new LegacyReply(400, errorResponse("invalid_input", "The provided input is invalid", details));
}

/** What Update answers for a validation failure: {"details": errors.Join(ErrInvalidInput, err).Error(), "error": "invalid policy"}. */
function invalidPolicy(err: FieldError[] | OldValidationError | OldDetailedError): LegacyReply {
  const text = "type" in err ? `${err.type}: ${err.message}` : Array.isArray(err) ? err.map((e) => `${e.path}: ${e.reason}`).join("; ") : `${err.field}: ${err.message}`;
  return new LegacyReply(400, goMap({ details: `invalid input\n${text}`, error: "invalid policy" }));
}

const fieldErrorsOf = (err: unknown): FieldError[] | undefined => {
  const e = toApiError(err);
  return e.grpcCode === grpc.status.INVALID_ARGUMENT ? (e.fieldErrors?.length ? e.fieldErrors : [{ path: "policy", reason: e.message }]) : undefined;
};

/** Any other failure, as the middleware's default branch: 500 (the old server had no other status for store failures). */
function serverError(err: unknown, logger: Logger): LegacyReply {
  const e = toApiError(err);
  logger.warn({ err: e.message }, "legacy route failed");
  const kind = grpc.status[e.grpcCode]?.toLowerCase() ?? "unknown";
  return new LegacyReply(500, errorResponse("internal_server_error", "An internal server error occurred", { error_type: kind, reason: e.message }));
}

async function readLegacyPolicy(req: http.IncomingMessage): Promise<LegacyPolicy> {
  let body: Buffer;
  try {
    body = await readBoundedBody(req, LEGACY_MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new LegacyReply(413, goMap({ error: `invalid request body: ${err.message}` }));
    throw err;
  }
  try {
    return decodeLegacyPolicy(body.toString("utf8"));
  } catch (err) {
    if (err instanceof GoDecodeError) throw new LegacyReply(400, goMap({ error: `invalid request body: ${err.message}` }));
    throw err;
  }
}

/** 400 for a bad query parameter, in the gin.H {"error": ...} shape. */
function param<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApiError) throw new LegacyReply(err.httpStatus, goMap({ error: err.message }));
    throw err;
  }
}

async function storeOrView<T>(deps: LegacyDeps, fromStore: () => Promise<T>, fromView: () => T): Promise<T> {
  try {
    return await fromStore();
  } catch (err) {
    // In a store outage the old plugin keeps getting the last good view (the old server answered an empty list).
    if (toApiError(err).grpcCode === grpc.status.UNAVAILABLE && deps.view.synced) return fromView();
    throw err;
  }
}


/** True for the paths this module answers: everything under /v1/ but HFI's GET /v1/policies/status. */
export function isLegacyPath(path: string, method: string): boolean {
  if (path === "/v1/policies/status" && method === "GET") return false;
  return path === "/v1" || path.startsWith("/v1/");
}

/**
 * Answers an old-API request. `path` is the decoded path without trailing
 * slashes. Returns after the response is sent.
 */
export async function legacyRoute(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse, path: string, url: URL): Promise<void> {
  try {
    await route(deps, req, res, path, url);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reply = err instanceof LegacyReply ? err : serverError(err, deps.logger);
    if (reply.status === 413) res.setHeader("connection", "close");
    sendGo(res, reply.status, reply.body);
  }
}

async function route(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse, path: string, url: URL): Promise<void> {
  const method = req.method ?? "GET";
  // main.go: v1.GET("/health"), v1.GET("/ready").
  if (path === "/v1/health" && method === "GET") return sendGo(res, 200, { status: "healthy" });
  if (path === "/v1/ready" && method === "GET") {
    const reason = deps.isClosing() ? "server shutting down" : await storePingError(deps.store);
    if (reason) return sendGo(res, 503, goMap({ error: reason, reason: `${deps.store.kind} connection failed`, status: "not_ready" }));
    return sendGo(res, 200, goMap({ status: "ready", storage: deps.store.kind }));
  }

  if (path === "/v1/config/stream" && method === "GET") {
    authorize(deps, req, res);
    return serveConfigStream(deps.view, req, res);
  }

  const segments = path.split("/").slice(1); // ["v1", "policies", name?]
  const isCollection = path === "/v1/policies";
  const isCreate = path === "/v1/policies/create";
  const name = segments.length === 3 && segments[1] === "policies" ? segments[2]! : undefined;
  // gin's trees: POST has the static /policies/create; GET, PUT and DELETE
  // have /policies/:id, so GET /v1/policies/create reads a policy "create".
  const known =
    (isCollection && (method === "GET" || method === "POST")) ||
    (isCreate && method === "POST") ||
    (name !== undefined && (method === "GET" || method === "PUT" || method === "DELETE"));
  if (!known) return sendGinNotFound(res);

  authorize(deps, req, res);

  if (isCollection && method === "GET") return list(deps, res);
  if (isCollection) return createOrUpdate(deps, req, res, url);
  if (isCreate && method === "POST") return create(deps, req, res);
  if (method === "GET") return get(deps, res, name!);
  if (method === "DELETE") return remove(deps, res, name!, url);
  return update(deps, req, res, name!, url);
}

/** GET /v1/policies: {"policies": [...]}, sorted by name. */
async function list(deps: LegacyDeps, res: http.ServerResponse): Promise<void> {
  const policies = await storeOrView(
    deps,
    async () => (await deps.ops.list()).policies,
    () => deps.view.list(),
  );
  const omitted: string[] = [];
  const shown: unknown[] = [];
  for (const p of [...policies].sort((a, b) => (a.policy.metadata!.name < b.policy.metadata!.name ? -1 : 1))) {
    if (widening(p.policy).length) omitted.push(p.policy.metadata!.name);
    else shown.push(marshalPolicy(fromHfi(p.policy)));
  }
  if (omitted.length) res.setHeader(OMITTED_HEADER, omitted.join(",").slice(0, 4096));
  sendGo(res, 200, goMap({ policies: shown }));
}

/** Name as the store sees it: a name HFI cannot store cannot exist. */
function storable(name: string): boolean {
  return validateName(name) === undefined;
}

async function find(deps: LegacyDeps, name: string): Promise<StoredPolicy | undefined> {
  if (!storable(name)) return undefined;
  return storeOrView(
    deps,
    async () => {
      try {
        return await deps.ops.get(name);
      } catch (err) {
        if (toApiError(err).grpcCode === grpc.status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    () => deps.view.list().find((p) => p.policy.metadata!.name === name),
  );
}

/** GET /v1/policies/:id: the bare policy, or the middleware's 404. */
async function get(deps: LegacyDeps, res: http.ServerResponse, name: string): Promise<void> {
  const p = await find(deps, name);
  if (!p) throw new LegacyReply(404, NOT_FOUND);
  const lost = widening(p.policy);
  if (lost.length) res.setHeader(OMITTED_HEADER, `${name}: ${lost.join(", ")}`.slice(0, 4096));
  sendGo(res, 200, marshalPolicy(fromHfi(p.policy)));
}

/** DELETE /v1/policies/:id: {"message": "policy deleted successfully"}. */
async function remove(deps: LegacyDeps, res: http.ServerResponse, name: string, url: URL): Promise<void> {
  const expected = param(() => versionParam(url.searchParams, ["expected_version", "expectedVersion"]));
  if (!storable(name)) throw new LegacyReply(404, NOT_FOUND);
  try {
    await deps.ops.delete(name, expected);
  } catch (err) {
    const code = toApiError(err).grpcCode;
    if (code === grpc.status.NOT_FOUND) throw new LegacyReply(404, NOT_FOUND);
    if (code === grpc.status.ABORTED) throw new LegacyReply(409, errorResponse("conflict", toApiError(err).message));
    throw err;
  }
  sendGo(res, 200, goMap({ message: "policy deleted successfully" }));
}

type Reject = (e: FieldError[] | OldValidationError | OldDetailedError) => LegacyReply;

/**
 * ops.apply with HFI's validation errors (field errors, the server's --max-duration) as the
 * route's 400: the old checks ran before, HFI's run once, inside apply.
 */
async function applyLegacy(deps: LegacyDeps, p: LegacyPolicy, opts: Parameters<LegacyDeps["ops"]["apply"]>[1], reject: Reject): Promise<void> {
  try {
    await deps.ops.apply(toHfiInput(p), opts);
  } catch (err) {
    const fields = fieldErrorsOf(err);
    if (fields) throw reject(fields);
    throw err;
  }
}

/** POST /v1/policies: create or update; 201 with the policy as sent, every time. */
async function createOrUpdate(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const dryRun = param(() => booleanParam(url.searchParams, ["dry_run", "dryRun"]));
  const p = await readLegacyPolicy(req);
  const old = validateOld(p);
  if (old) throw invalidInput(old);
  await applyLegacy(deps, p, { dryRun }, invalidInput);
  sendGo(res, 201, marshalPolicy(p));
}

/** POST /v1/policies/create: 201 {"message", "policy"}, 409 when the name exists. */
async function create(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const p = await readLegacyPolicy(req);
  const old = validateOld(p) ?? validateForCreate(p);
  if (old) throw invalidInput(old);
  try {
    await applyLegacy(deps, p, { createOnly: true }, invalidInput);
  } catch (err) {
    if (toApiError(err).grpcCode === grpc.status.ALREADY_EXISTS) throw new LegacyReply(409, ALREADY_EXISTS);
    throw err;
  }
  sendGo(res, 201, goMap({ message: "policy created successfully", policy: marshalPolicy(p) }));
}

/** PUT /v1/policies/:id: update only (400 when missing), metadata.version must go up. */
async function update(deps: LegacyDeps, req: http.IncomingMessage, res: http.ServerResponse, name: string, url: URL): Promise<void> {
  const expected = param(() => versionParam(url.searchParams, ["expected_version", "expectedVersion"]));
  const dryRun = param(() => booleanParam(url.searchParams, ["dry_run", "dryRun"]));
  const p = await readLegacyPolicy(req);
  if (p.metadata.name !== name) throw new LegacyReply(400, goMap({ error: "policy name in URL must match policy name in body" }));
  const old = validateOld(p);
  if (old) throw invalidPolicy(old);
  const existing = await find(deps, name);
  if (!existing) throw invalidPolicy({ type: "validation_error", message: "cannot update non-existent policy", details: {} });
  const bump = validateVersionUpdate(existing.policy.metadata?.versionLabel ?? "", p.metadata.version);
  if (bump) throw invalidPolicy(bump);
  try {
    // Conditional on what was read: a concurrent delete is not undone by this update.
    await deps.ops.apply(toHfiInput(p), { expectedVersion: expected || existing.version, dryRun });
  } catch (err) {
    const e = toApiError(err);
    if (e.grpcCode === grpc.status.ABORTED) {
      if (!(await find(deps, name))) throw new LegacyReply(404, goMap({ error: "policy not found", policy_name: name }));
      throw new LegacyReply(409, errorResponse("conflict", e.message));
    }
    if (e.grpcCode === grpc.status.INVALID_ARGUMENT) throw invalidPolicy(fieldErrorsOf(err)!);
    // Update's own 500 body.
    deps.logger.warn({ err: e.message }, "legacy update failed");
    throw new LegacyReply(500, goMap({ error: "internal server error" }));
  }
  sendGo(res, 200, goMap({ message: "policy updated successfully", policy: marshalPolicy(p) }));
}
