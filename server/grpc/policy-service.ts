// hfi.v1.PolicyService over gRPC.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { PolicyServiceHandlers } from "../../proto/gen/hfi/v1/PolicyService.ts";
import type { PolicyEventOut } from "../../proto/loader.ts";
import { checkBearer } from "../auth.ts";
import { ApiError, toGrpcError } from "../errors.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyView, ViewChange } from "../view.ts";
import type { ConfigStreams } from "../streams.ts";
import { collectStatus, PARTIAL_STATUS_HEADER } from "../status.ts";
import type { ProxyBoard } from "../proxy-board.ts";
import { grpcPolicyInput } from "../wire.ts";

export interface PolicyServiceDeps {
  ops: PolicyOps;
  view: PolicyView;
  streams: ConfigStreams;
  proxies: ProxyBoard;
  logger: Logger;
  apiToken?: string;
  /** Open WatchPolicies calls, ended with UNAVAILABLE on shutdown. */
  watchers: Set<grpc.ServerWritableStream<unknown, unknown>>;
}

function authorize(deps: PolicyServiceDeps, md: grpc.Metadata): void {
  const reason = checkBearer(deps.apiToken, md.get("authorization")[0] as string | undefined);
  if (reason) throw new ApiError(grpc.status.UNAUTHENTICATED, 401, reason);
}

/** Wraps a promise-returning unary handler: auth, errors → status, logging. */
function unary<Req, Res>(
  deps: PolicyServiceDeps,
  method: string,
  fn: (req: Req, trailer: grpc.Metadata) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const trailer = new grpc.Metadata();
    Promise.resolve()
      .then(() => authorize(deps, call.metadata))
      .then(() => fn(call.request, trailer))
      .then(
        (res) => callback(null, res, trailer),
        (err) => {
          const e = toGrpcError(err);
          if (e.code === grpc.status.INTERNAL || e.code === grpc.status.UNAVAILABLE) deps.logger.warn({ method, err: e.details }, "request failed");
          else deps.logger.debug({ method, code: e.code, err: e.details }, "request rejected");
          callback(e as grpc.ServiceError);
        },
      );
  };
}

export function policyServiceHandlers(deps: PolicyServiceDeps): PolicyServiceHandlers {
  const { ops } = deps;
  return {
    ApplyPolicy: unary(deps, "ApplyPolicy", async (req) => {
      const out = await ops.apply(grpcPolicyInput(req.policy), {
        expectedVersion: req.expectedVersion,
        createOnly: req.createOnly,
        dryRun: req.dryRun,
      });
      return { policy: out.policy, result: out.result };
    }),
    GetPolicy: unary(deps, "GetPolicy", async (req) => ({ policy: (await ops.get(req.name)).policy })),
    ListPolicies: unary(deps, "ListPolicies", async () => {
      const { policies, revision } = await ops.list();
      return { policies: policies.map((p) => p.policy), revision };
    }),
    DeletePolicy: unary(deps, "DeletePolicy", async (req) => {
      const { previous, revision } = await ops.delete(req.name, req.expectedVersion);
      return { policy: previous.policy, revision };
    }),
    GetPolicyStatus: unary(deps, "GetPolicyStatus", async (req, trailer) => {
      let policies = deps.view.list();
      if (req.name) {
        policies = policies.filter((p) => p.policy.metadata!.name === req.name);
        if (!policies.length) throw new ApiError(grpc.status.NOT_FOUND, 404, `policy "${req.name}" not found`);
      }
      const { report, partial } = await collectStatus(policies, deps.proxies);
      if (partial) trailer.set(PARTIAL_STATUS_HEADER, partial);
      return report;
    }),
    WatchPolicies: (call) => {
      try {
        authorize(deps, call.metadata);
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      // Served from the view: consistent with what is pushed, and alive while the store is down.
      const send = (e: PolicyEventOut) => call.write(e);
      if (call.request.sendInitial) {
        for (const p of deps.view.list()) send({ type: "TYPE_PUT", policy: p.policy, revision: p.version });
      }
      const onChange = (c: ViewChange) => {
        for (const d of c.deleted) send({ type: "TYPE_DELETE", policy: d.previous.policy, revision: c.revision });
        for (const p of c.put) send({ type: "TYPE_PUT", policy: p.policy, revision: c.revision });
      };
      deps.view.on("change", onChange);
      deps.watchers.add(call as grpc.ServerWritableStream<unknown, unknown>);
      const done = () => {
        deps.view.off("change", onChange);
        deps.watchers.delete(call as grpc.ServerWritableStream<unknown, unknown>);
      };
      call.on("cancelled", done);
      call.on("close", done);
      call.on("error", done);
    },
  };
}
