// hfi.v1.PolicyService over gRPC.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { PolicyServiceHandlers } from "../../proto/gen/hfi/v1/PolicyService.ts";
import type { PolicyEvent } from "../../proto/gen/hfi/v1/PolicyEvent.ts";
import type { PolicyEventOut, PolicyOut } from "../../proto/loader.ts";
import type { Access, Caller } from "../security/access.ts";
import { grpcCaller } from "./caller.ts";
import { toGrpcError } from "../errors.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyView, ViewChange } from "../distribution/view.ts";
import type { PolicyStore, StoredPolicy, StoreEvent, Watch } from "../store/types.ts";
import { invalidMessage, listPoliciesPage } from "./list-policies.ts";
import type { ConfigStreams } from "../distribution/streams.ts";
import { PARTIAL_STATUS_HEADER, type StatusSource } from "../status/report.ts";
import { policyStatus } from "../status/policy-status.ts";
import { grpcPolicyInput } from "./messages.ts";
import { changePause, pauseMessage } from "../pause/ops.ts";

export interface PolicyServiceDeps {
  ops: PolicyOps;
  view: PolicyView;
  streams: ConfigStreams;
  proxies: StatusSource;
  logger: Logger;
  access: Access;
  /** Open WatchPolicies calls, ended with UNAVAILABLE on shutdown. */
  watchers: Set<grpc.ServerWritableStream<unknown, unknown>>;
  /** Where WatchPolicies replays from (start_revision > 0); holds the pause switch. */
  store: PolicyStore;
}

function authorize(deps: PolicyServiceDeps, call: { metadata: grpc.Metadata; getPeer(): string }): void {
  deps.access.management(grpcCaller(call));
}

export type UnaryName = "ApplyPolicy" | "GetPolicy" | "ListPolicies" | "DeletePolicy" | "GetPolicyStatus" | "PausePolicies" | "ResumePolicies";
type RequestOf<K extends UnaryName> = PolicyServiceHandlers[K] extends grpc.handleUnaryCall<infer Req, unknown> ? Req : never;
type ResponseOf<K extends UnaryName> = PolicyServiceHandlers[K] extends grpc.handleUnaryCall<never, infer Res> ? Res : never;

/** The deps one unary call needs (WatchPolicies needs `watchers` as well). */
export type UnaryDeps = Omit<PolicyServiceDeps, "watchers">;

/** The unary methods; what one puts in `trailer` goes back as trailing metadata (Connect: `trailer-*` headers). */
const METHODS: { [K in UnaryName]: (deps: UnaryDeps, req: RequestOf<K>, trailer: Record<string, string>) => Promise<ResponseOf<K>> } = {
  ApplyPolicy: async ({ ops }, req) => {
    const out = await ops.apply(grpcPolicyInput(req.policy), {
      expectedVersion: req.expectedVersion,
      createOnly: req.createOnly,
      dryRun: req.dryRun,
    });
    return { policy: out.policy, result: out.result };
  },
  GetPolicy: async ({ ops }, req) => ({ policy: (await ops.get(req.name)).policy }),
  ListPolicies: async ({ ops, view }, req) => ({ ...(await listPoliciesPage(ops, req)), pause: pauseMessage(view.pause) }),
  DeletePolicy: async ({ ops }, req) => {
    const { previous, revision, invalid } = await ops.delete(req.name, req.expectedVersion);
    return { policy: previous.policy, revision, invalid: invalid ? invalidMessage(invalid) : null };
  },
  GetPolicyStatus: async (deps, req, trailer) => {
    const { report, partial } = await policyStatus(deps, { name: req.name, proxyLimit: req.proxyLimit });
    if (partial) trailer[PARTIAL_STATUS_HEADER] = partial;
    return report;
  },
  PausePolicies: async ({ store }, req) => ({ state: pauseMessage(await changePause(store, "pause", req)) }),
  ResumePolicies: async ({ store }, req) => ({ state: pauseMessage(await changePause(store, "resume", req)) }),
};

/**
 * One unary call as both transports (gRPC here, Connect JSON in
 * server/http/connect.ts) run it: auth of the caller, the method, errors as
 * gRPC status objects (logged).
 */
export async function runUnary<K extends UnaryName>(
  deps: UnaryDeps,
  method: K,
  caller: Caller,
  req: RequestOf<K>,
): Promise<{ response: ResponseOf<K>; trailer: Record<string, string> }> {
  const trailer: Record<string, string> = {};
  try {
    deps.access.management(caller);
    return { response: await METHODS[method](deps, req, trailer), trailer };
  } catch (err) {
    const e = toGrpcError(err);
    if (e.code === grpc.status.INTERNAL || e.code === grpc.status.UNAVAILABLE) deps.logger.warn({ method, err: e.details }, "request failed");
    else deps.logger.debug({ method, code: e.code, err: e.details }, "request rejected");
    throw e;
  }
}

function unary<K extends UnaryName>(deps: UnaryDeps, method: K): grpc.handleUnaryCall<RequestOf<K>, ResponseOf<K>> {
  return (call, callback) => {
    runUnary(deps, method, grpcCaller(call), call.request).then(
      ({ response, trailer }) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(trailer)) md.set(k, v);
        callback(null, response, md);
      },
      (e) => callback(e as grpc.ServiceError),
    );
  };
}

export function policyServiceHandlers(deps: PolicyServiceDeps): PolicyServiceHandlers {
  return {
    ApplyPolicy: unary(deps, "ApplyPolicy"),
    GetPolicy: unary(deps, "GetPolicy"),
    ListPolicies: unary(deps, "ListPolicies"),
    DeletePolicy: unary(deps, "DeletePolicy"),
    GetPolicyStatus: unary(deps, "GetPolicyStatus"),
    PausePolicies: unary(deps, "PausePolicies"),
    ResumePolicies: unary(deps, "ResumePolicies"),
    WatchPolicies: (call) => {
      try {
        authorize(deps, call);
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      const from = Number(call.request.startRevision) || 0;
      if (from > 0) return watchFrom(deps, call, from);
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

type WatchCall = grpc.ServerWritableStream<unknown, PolicyEvent>;

/**
 * WatchPolicies with start_revision > 0: every change after `from`, then live
 * ones, from a store watch of its own (the view has no history). When the
 * store cannot replay that far (embedded store restarted, etcd compacted) or
 * `from` is newer than the store (data replaced), the client gets a reset:
 * marker, a PUT per current policy in version order, marker. A marker is an
 * event of type TYPE_UNSPECIFIED without a policy, carrying the revision of
 * the state in between. The server cannot know which names the client holds,
 * so deletions in the gap are for the client to infer (cli/client does).
 */
function watchFrom(deps: PolicyServiceDeps, call: WatchCall, from: number): void {
  const store = deps.store;
  let closed = false;
  let watch: Watch | undefined;
  const done = () => {
    closed = true;
    watch?.close();
    deps.watchers.delete(call as grpc.ServerWritableStream<unknown, unknown>);
  };
  call.on("cancelled", done);
  call.on("close", done);
  call.on("error", done);
  deps.watchers.add(call as grpc.ServerWritableStream<unknown, unknown>);
  const send = (e: PolicyEvent) => {
    if (!closed) call.write(e);
  };
  // Last content per name, for DELETE events (the store's carry only the name).
  const known = new Map<string, PolicyOut>();
  const reset = (policies: StoredPolicy[], revision: number) => {
    deps.logger.info({ from, revision, policies: policies.length }, "watch: history not available, sent a reset");
    known.clear();
    send({ type: "TYPE_UNSPECIFIED", revision });
    for (const p of [...policies].sort((a, b) => a.version - b.version)) {
      known.set(p.policy.metadata!.name, p.policy);
      send({ type: "TYPE_PUT", policy: p.policy, revision });
    }
    send({ type: "TYPE_UNSPECIFIED", revision });
  };
  const onEvent = (e: StoreEvent) => {
    switch (e.type) {
      case "put":
        known.set(e.name, e.policy.policy);
        send({ type: "TYPE_PUT", policy: e.policy.policy, revision: e.revision });
        break;
      case "delete":
      case "invalid": // a value that no longer validates: the policy is gone (as in the view)
        send({ type: "TYPE_DELETE", policy: known.get(e.name) ?? { metadata: { name: e.name } }, revision: e.revision });
        known.delete(e.name);
        break;
      case "reset":
        reset(e.policies, e.revision);
        break;
    }
  };
  store.list().then(
    ({ policies, revision }) => {
      if (closed) return;
      // A policy whose version is <= from was unchanged since then: its content is the client's.
      for (const p of policies) if (p.version <= from) known.set(p.policy.metadata!.name, p.policy);
      // Headers now: the client can tell the watch is up before the first change.
      call.sendMetadata(new grpc.Metadata());
      let start = from;
      if (from > revision) {
        reset(policies, revision);
        start = revision;
      }
      watch = store.watch(start, onEvent);
    },
    (err) => {
      if (closed) return;
      deps.logger.warn({ method: "WatchPolicies", err: String(err) }, "request failed");
      call.emit("error", toGrpcError(err));
    },
  );
}
