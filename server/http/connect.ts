// hfi.v1.PolicyService over the Connect protocol's unary JSON form on the
// HTTP port: `POST /hfi.v1.PolicyService/<Method>` with an
// application/json body (the request message in proto3 JSON, snake_case or
// lowerCamelCase), answered with the response message in proto3 JSON or a
// Connect error {code, message}. The request runs through the very
// methods of the gRPC service (runUnary, server/grpc/policy-service.ts): same
// validation, same auth (authorization: Bearer), same errors. Why not
// @connectrpc/connect-node: see docs/control-plane.md#connect-json-on-the-http-port.
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { runUnary, type UnaryDeps, type UnaryName } from "../grpc/policy-service.ts";
import type { toGrpcError } from "../errors.ts";
import { httpCaller } from "./caller.ts";
import { Decoder, isPlainObject, messageToProtoJson, schemaType } from "../../policy/index.ts";
import { BodyTooLarge, readBoundedBody } from "./body.ts";

export const CONNECT_SERVICE = "hfi.v1.PolicyService";
export const CONNECT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Unary methods and their request/response types. WatchPolicies streams: gRPC only. */
const METHODS: Record<UnaryName, [request: string, response: string]> = {
  ApplyPolicy: ["ApplyPolicyRequest", "ApplyPolicyResponse"],
  GetPolicy: ["GetPolicyRequest", "GetPolicyResponse"],
  ListPolicies: ["ListPoliciesRequest", "ListPoliciesResponse"],
  DeletePolicy: ["DeletePolicyRequest", "DeletePolicyResponse"],
  GetPolicyStatus: ["GetPolicyStatusRequest", "GetPolicyStatusResponse"],
  PausePolicies: ["PauseRequest", "PauseResponse"],
  ResumePolicies: ["PauseRequest", "PauseResponse"],
};

/** Connect's code names and HTTP statuses (connectrpc.com/docs/protocol, "Error Codes"). */
const CODES: Record<number, [string, number]> = {
  [grpc.status.CANCELLED]: ["canceled", 499],
  [grpc.status.UNKNOWN]: ["unknown", 500],
  [grpc.status.INVALID_ARGUMENT]: ["invalid_argument", 400],
  [grpc.status.DEADLINE_EXCEEDED]: ["deadline_exceeded", 504],
  [grpc.status.NOT_FOUND]: ["not_found", 404],
  [grpc.status.ALREADY_EXISTS]: ["already_exists", 409],
  [grpc.status.PERMISSION_DENIED]: ["permission_denied", 403],
  [grpc.status.RESOURCE_EXHAUSTED]: ["resource_exhausted", 429],
  [grpc.status.FAILED_PRECONDITION]: ["failed_precondition", 400],
  [grpc.status.ABORTED]: ["aborted", 409],
  [grpc.status.OUT_OF_RANGE]: ["out_of_range", 400],
  [grpc.status.UNIMPLEMENTED]: ["unimplemented", 501],
  [grpc.status.INTERNAL]: ["internal", 500],
  [grpc.status.UNAVAILABLE]: ["unavailable", 503],
  [grpc.status.DATA_LOSS]: ["data_loss", 500],
  [grpc.status.UNAUTHENTICATED]: ["unauthenticated", 401],
};

export const isConnectPath = (path: string) => path.startsWith(`/${CONNECT_SERVICE}/`);

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, code: grpc.status, message: string, headers: Record<string, string> = {}): void {
  const [name, status] = CODES[code] ?? ["unknown", 500];
  sendJson(res, status, { code: name, message }, headers);
}

const isUnary = (method: string): method is UnaryName => Object.hasOwn(METHODS, method);

export function connectHandler(deps: UnaryDeps): (req: http.IncomingMessage, res: http.ServerResponse, path: string) => Promise<void> {
  return async (req, res, path) => {
    const method = path.slice(CONNECT_SERVICE.length + 2);
    if (!isUnary(method)) {
      const why = method === "WatchPolicies" ? "WatchPolicies is a server stream: use gRPC" : `no method ${JSON.stringify(method)} in ${CONNECT_SERVICE}`;
      return sendError(res, grpc.status.UNIMPLEMENTED, why);
    }
    const types = METHODS[method];
    if (req.method !== "POST") {
      req.resume();
      res.setHeader("allow", "POST");
      return sendJson(res, 405, { code: "unimplemented", message: `use POST for ${path} (Connect unary)` });
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      req.resume();
      // Connect: an unsupported codec is HTTP 415 (the client learns which one to use).
      return sendJson(res, 415, { code: "unimplemented", message: `content-type must be application/json (got ${JSON.stringify(type || "none")})` }, { accept: "application/json" });
    }
    let text: string;
    try {
      text = (await readBoundedBody(req, CONNECT_MAX_BODY_BYTES)).toString("utf8");
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader("connection", "close");
        return sendError(res, grpc.status.RESOURCE_EXHAUSTED, `request: ${err.message}`);
      }
      throw err;
    }
    let value: unknown = {};
    if (text.trim() !== "") {
      try {
        value = JSON.parse(text);
      } catch (err) {
        return sendError(res, grpc.status.INVALID_ARGUMENT, `request: malformed JSON: ${(err as Error).message}`);
      }
    }
    if (!isPlainObject(value)) return sendError(res, grpc.status.INVALID_ARGUMENT, "request: must be a JSON object");
    const d = new Decoder();
    const request = d.message(schemaType(types[0]), value, "");
    if (d.errors.length) {
      const fieldErrors = JSON.stringify(d.errors).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
      return sendError(res, grpc.status.INVALID_ARGUMENT, d.errors.map((e) => `${e.path}: ${e.reason}`).join("; "), { "hfi-field-errors": fieldErrors });
    }
    let out: { response: unknown; trailer: Record<string, string> };
    try {
      // `request` was decoded against this method's request type (above).
      out = await runUnary(deps, method, httpCaller(req), request as never);
    } catch (err) {
      const e = err as ReturnType<typeof toGrpcError>;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.metadata?.getMap() ?? {})) if (!k.endsWith("-bin") && typeof v === "string") headers[k] = v;
      return sendError(res, e.code, e.details, headers);
    }
    const headers = Object.fromEntries(Object.entries(out.trailer).map(([k, v]) => [`trailer-${k}`, v]));
    sendJson(res, 200, messageToProtoJson(types[1], out.response), headers);
  };
}
