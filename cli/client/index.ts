// The typed HFI client ("hfi/client"): promise-returning calls over the
// PolicyService gRPC API, watch as an async iterable, errors as HfiClientError.
// The calls go over cli/client/wire.ts (gRPC on node:http2, static codecs),
// not grpc-js: see there why.
import type { PolicyServiceMethod } from "../../proto/codecs.ts";
import type {
  Policy,
  PolicyOut,
  PolicyEventOut,
  ApplyPolicyResponseOut,
  ListPoliciesResponseOut,
  DeletePolicyResponseOut,
  GetPolicyStatusResponseOut,
  InvalidPolicyOut,
  ApplyPolicyRequest,
  PauseStateOut,
  PolicyStatusOut,
} from "../../proto/types.ts";
import { HfiClientError, isConnectionFailure, toClientError } from "./errors.ts";
import { httpPortMessage, probeHttp } from "./http-probe.ts";
import { resumingWatch, streamIterator, type ResumeOptions } from "./watch.ts";
import { waitApplied, waitDeleted, waitMs } from "./convergence.ts";
import { STATUS } from "./status.ts";
import { CallError, Connection } from "./wire.ts";

export { HfiClientError, FIELD_ERRORS_METADATA_KEY, type GrpcCodeName } from "./errors.ts";
export { MAX_MESSAGE_BYTES } from "./wire.ts";
export { backoffDelay, type ResumeOptions } from "./watch.ts";
export { ConvergenceError, DEFAULT_WAIT_MS } from "./convergence.ts";
export type * from "../../proto/types.ts";

export const DEFAULT_SERVER = "127.0.0.1:9090";
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface PolicyClientOptions {
  /**
   * HOST:PORT of the control plane's gRPC listener (default 127.0.0.1:9090).
   * Several (a list, or comma-separated) fail over in order: a call that
   * cannot reach one address is sent to the next, and the client stays on
   * the one that answered.
   */
  server?: string | string[];
  /** Bearer token for the management API (the server's HFI_API_TOKEN), when it requires one. */
  token?: string;
  /** Deadline of each unary call in ms (default 10000). Watches have none. */
  timeoutMs?: number;
}

export interface ApplyOptions {
  /** Compare-and-swap: apply only if the stored version is this (ABORTED otherwise). */
  expectedVersion?: number;
  /** Fail with ALREADY_EXISTS instead of updating. */
  createOnly?: boolean;
  /** Validate and report the outcome; store nothing. */
  dryRun?: boolean;
  /**
   * Resolve only once every targeted proxy has ACKed the new version: `true`
   * (at most DEFAULT_WAIT_MS, 60 s) or a timeout in ms. Rejects with a
   * ConvergenceError listing the proxies that NACKed (at once) or had not
   * ACKed by then. The policy stays applied either way.
   */
  wait?: boolean | number;
}

/** Exactly one of these. */
export type PauseScope = { all: true } | { namespace: string } | { policy: string };

export type ApplyOutcome = "created" | "configured" | "unchanged";

export interface ApplyResultOut {
  /** The stored policy (for a dry run: what would be stored). */
  policy: PolicyOut;
  result: ApplyOutcome;
  /** With `wait`: the policy's status once converged. */
  status?: PolicyStatusOut;
}

export interface WatchOptions {
  /** First yield one PUT event per existing policy (not with startRevision). */
  sendInitial?: boolean;
  /**
   * Events after this store revision (e.g. the `revision` of listPolicies or
   * of the last event seen); 0 = from now. Without `resume`, a server that
   * cannot replay that far sends a reset: a TYPE_UNSPECIFIED event without a
   * policy, a PUT per current policy, the same marker again.
   */
  startRevision?: number;
  /**
   * Reconnect when the stream fails or ends (server restart, UNAVAILABLE) with
   * exponential backoff, and continue after the last revision seen: no event
   * lost or repeated; resets become the net PUT/DELETE changes. `true` or
   * options (delays, notifications).
   */
  resume?: boolean | ResumeOptions;
}

export interface PolicyClient {
  readonly server: string;
  applyPolicy(policy: Policy, opts?: ApplyOptions): Promise<ApplyResultOut>;
  /** Rejects with code NOT_FOUND when absent. */
  getPolicy(name: string): Promise<PolicyOut>;
  /**
   * Every policy, following the pages of ListPolicies; `invalid`: values in
   * the store that are not valid policies (deletePolicy removes them).
   */
  listPolicies(): Promise<{ policies: PolicyOut[]; revision: number; invalid: InvalidPolicyOut[]; pause?: PauseStateOut }>;
  /** One page of ListPolicies (pageSize 0: as many as fit one response); nextPageToken "" on the last. */
  listPoliciesPage(opts?: { pageSize?: number; pageToken?: string }): Promise<ListPoliciesResponseOut>;
  /**
   * Resolves with the policy as it was before deletion; `invalid` is set when
   * the name held an invalid entry (then the policy has only name and version).
   */
  deletePolicy(
    name: string,
    opts?: { expectedVersion?: number; /** As ApplyOptions.wait: until no proxy holds the policy any more. */ wait?: boolean | number },
  ): Promise<{ policy: PolicyOut; revision: number; invalid?: InvalidPolicyOut }>;
  /**
   * One policy's status (and the proxies), or every policy's when name is omitted. Proxy lists
   * hold at most proxyLimit entries (server default 100, at most 10000); counts are exact.
   */
  getPolicyStatus(name?: string, opts?: { proxyLimit?: number }): Promise<GetPolicyStatusResponseOut>;
  /**
   * The kill switch: stop injecting for every policy (`{all: true}`), on the
   * workloads of a namespace, or for one policy, until resumePolicies.
   * Resolves with the switch's new state.
   */
  pausePolicies(scope: PauseScope): Promise<PauseStateOut>;
  /** Undoes a pause; `{all: true}` resumes everything (global, namespaces, policies). */
  resumePolicies(scope: PauseScope): Promise<PauseStateOut>;
  /** Change events as they happen. Leaving the loop (break/return/throw) cancels the stream. */
  watchPolicies(opts?: WatchOptions): AsyncIterable<PolicyEventOut>;
  close(): void;
}

const codeNameOf = (e: CallError) => STATUS[e.code] ?? "UNKNOWN";

const RESULTS: Record<string, ApplyOutcome> = {
  APPLY_RESULT_CREATED: "created",
  APPLY_RESULT_CONFIGURED: "configured",
  APPLY_RESULT_UNCHANGED: "unchanged",
};

/** "http://host:9090/" is accepted for "host:9090" (the API is plaintext gRPC). */
function normalizeServer(server: string): string {
  return server.trim().replace(/^(?:http|grpc):\/\//, "").replace(/\/+$/, "");
}

/** The addresses of `server` (a list or "a,b"), normalised; at least one. */
export function serverList(server: string | string[] | undefined): string[] {
  const list = (Array.isArray(server) ? server : (server || DEFAULT_SERVER).split(","))
    .map(normalizeServer)
    .filter((a) => a !== "");
  if (list.length === 0) throw new HfiClientError("INVALID_ARGUMENT", `no control-plane address in ${JSON.stringify(server)}`, [], "");
  return list;
}

export function createPolicyClient(opts: PolicyClientOptions = {}): PolicyClient {
  const addresses = serverList(opts.server);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connections = new Map<string, Connection>();
  // The address in use: calls start here and move on when it cannot be reached.
  let current = 0;
  let server = addresses[0]!;
  const connectionAt = (i: number): Connection => {
    const a = addresses[i]!;
    let c = connections.get(a);
    if (!c) connections.set(a, (c = new Connection(a, opts.token)));
    return c;
  };
  const moveTo = (i: number) => {
    current = i % addresses.length;
    server = addresses[current]!;
  };

  // One unary call with the client's deadline and error mapping; an address
  // that cannot be reached (the call never got there) passes it to the next.
  async function unary<Req extends object, Res>(name: PolicyServiceMethod, req: Req): Promise<Res> {
    const failures: { address: string; err: CallError }[] = [];
    for (let k = 0; k < addresses.length; k++) {
      const i = (current + k) % addresses.length;
      try {
        const res = await connectionAt(i).unary<Res>(name, req, timeoutMs);
        moveTo(i);
        return res;
      } catch (err) {
        if (!(err instanceof CallError) || !isConnectionFailure(err)) {
          moveTo(i);
          throw toClientError(err, addresses[i]!, timeoutMs);
        }
        failures.push({ address: addresses[i]!, err });
      }
    }
    throw await unreachable(failures);
  }

  /** Every address failed to connect: say so per address, and which of them are HTTP ports. */
  async function unreachable(failures: { address: string; err: CallError }[]): Promise<HfiClientError> {
    const http = await Promise.all(failures.map((f) => probeHttp(f.address)));
    const first = failures[0]!;
    if (failures.length === 1) {
      const e = toClientError(first.err, first.address, timeoutMs);
      return http[0] ? new HfiClientError(e.code, httpPortMessage(first.address, http[0]), [], first.address) : e;
    }
    const lines = failures.map((f, i) => (http[i] ? httpPortMessage(f.address, http[i]!) : toClientError(f.err, f.address, timeoutMs).message));
    return new HfiClientError(codeNameOf(first.err), `no control-plane address could be reached (${addresses.join(", ")}):\n  ${lines.join("\n  ")}`, [], addresses.join(","));
  }

  const requirePolicy = (p: PolicyOut | null | undefined, what: string): PolicyOut => {
    if (!p) throw new HfiClientError("INTERNAL", `server returned no policy for ${what}`, [], server);
    return p;
  };

  const client: PolicyClient = {
    get server() {
      return server;
    },

    async applyPolicy(policy, o = {}) {
      const res = await unary<ApplyPolicyRequest, ApplyPolicyResponseOut>(
        "ApplyPolicy",
        {
          policy,
          expectedVersion: o.expectedVersion ?? 0,
          createOnly: o.createOnly ?? false,
          dryRun: o.dryRun ?? false,
        },
      );
      const out: ApplyResultOut = {
        policy: requirePolicy(res.policy, "apply"),
        result: RESULTS[res.result as string] ?? "configured",
      };
      const wait = waitMs(o.wait);
      if (wait !== undefined && !o.dryRun) {
        const name = out.policy.metadata?.name ?? "";
        out.status = await waitApplied((n) => client.getPolicyStatus(n), name, out.policy.metadata?.version ?? 0, wait, server);
      }
      return out;
    },

    async getPolicy(name) {
      const res = await unary<{ name: string }, { policy: PolicyOut | null }>("GetPolicy", { name });
      return requirePolicy(res.policy, name);
    },

    listPoliciesPage(o = {}) {
      return unary<{ pageSize: number; pageToken: string }, ListPoliciesResponseOut>("ListPolicies", {
        pageSize: o.pageSize ?? 0,
        pageToken: o.pageToken ?? "",
      });
    },

    async listPolicies() {
      const policies: PolicyOut[] = [];
      const invalid: InvalidPolicyOut[] = [];
      let revision = 0;
      let pageToken = "";
      let pause: PauseStateOut | undefined;
      do {
        const res = await client.listPoliciesPage({ pageToken });
        pause ??= res.pause ?? undefined;
        // Every page reports the revision the listing started at.
        revision ||= res.revision;
        for (const p of res.policies) policies.push(p);
        for (const e of res.invalidPolicies ?? []) invalid.push(e);
        pageToken = res.nextPageToken ?? "";
      } while (pageToken);
      return pause ? { policies, revision, invalid, pause } : { policies, revision, invalid };
    },

    async deletePolicy(name, o = {}) {
      const res = await unary<{ name: string; expectedVersion: number }, DeletePolicyResponseOut>(
        "DeletePolicy",
        { name, expectedVersion: o.expectedVersion ?? 0 },
      );
      const out: { policy: PolicyOut; revision: number; invalid?: InvalidPolicyOut } = {
        policy: requirePolicy(res.policy, name),
        revision: res.revision,
      };
      if (res.invalid) out.invalid = res.invalid;
      const wait = waitMs(o.wait);
      if (wait !== undefined) await waitDeleted((n, o) => client.getPolicyStatus(n, o), name, wait, server);
      return out;
    },

    getPolicyStatus(name = "", o = {}) {
      return unary<{ name: string; proxyLimit: number }, GetPolicyStatusResponseOut>("GetPolicyStatus", {
        name,
        proxyLimit: o.proxyLimit ?? 0,
      });
    },

    async pausePolicies(scope) {
      const res = await unary<PauseScope, { state: PauseStateOut | null }>("PausePolicies", scope);
      return res.state ?? { all: false, namespaces: [], policies: [], updatedAtUnixMs: 0 };
    },

    async resumePolicies(scope) {
      const res = await unary<PauseScope, { state: PauseStateOut | null }>("ResumePolicies", scope);
      return res.state ?? { all: false, namespaces: [], policies: [], updatedAtUnixMs: 0 };
    },

    watchPolicies(o = {}) {
      // A stream that cannot connect moves the client on, so a resumed watch reconnects to the next address.
      const open = (startRevision: number, sendInitial: boolean) => {
        const at = current;
        const call = connectionAt(at).serverStream<PolicyEventOut>("WatchPolicies", { sendInitial, startRevision });
        call.on("error", (e) => {
          if (isConnectionFailure(e) && current === at) moveTo(at + 1);
        });
        return call;
      };
      if (o.resume) {
        const deps = { open, list: () => client.listPolicies(), server: addresses.join(","), timeoutMs };
        const r = o.resume === true ? {} : o.resume;
        return { [Symbol.asyncIterator]: () => resumingWatch(deps, o, r) };
      }
      return {
        [Symbol.asyncIterator]: () =>
          streamIterator(() => open(o.startRevision ?? 0, o.sendInitial ?? false), server, timeoutMs),
      };
    },

    close() {
      for (const c of connections.values()) c.close();
    },
  };
  return client;
}
