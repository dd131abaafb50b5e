// Convergence status: for each policy, the connected proxies it targets and
// how many ACKed or NACKed a snapshot holding its current version. Proxies of
// this replica (every worker) are listed one by one; other replicas count
// from their published summaries and list only their laggards.
import type { GetPolicyStatusResponseOut, PolicyStatusOut, ProxyRefOut, ProxyStatusOut } from "../../proto/loader.ts";
import * as grpc from "@grpc/grpc-js";
import type { ProxyRecord, StatusSummary, StoredPolicy } from "../store/types.ts";
import { ApiError } from "../errors.ts";
import { identityDirection, policyDirection, selectorMatches } from "../selector.ts";
import { faultKindsOf } from "../../policy/index.ts";
import { mergeSeries, type FaultSeries } from "../faults/ledger.ts";
import { policyFaults } from "../faults/status.ts";
import { mergeFirst, tallyRecords, type Keyed, type LocalTally, type StatusQuery } from "./tally.ts";

/** The fault kinds of every rule, sorted (status `fault_types`). */
export function faultTypes(p: StoredPolicy): string[] {
  return [...new Set((p.policy.spec?.rules ?? []).flatMap((r) => faultKindsOf(r.fault)))].sort();
}

/** Proxies listed per report (and per list of a policy) when the caller asks for no limit. */
export const DEFAULT_PROXY_LIMIT = 100;
/** Largest proxy_limit accepted: a report at this limit stays far below gRPC's 4 MiB message cap. */
export const MAX_PROXY_LIMIT = 10_000;

/** proxy_limit as given by a caller: 0 = the default; over the maximum is the caller's error. */
export function proxyLimit(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0 || requested > MAX_PROXY_LIMIT) {
    throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, `proxy_limit: must be an integer between 0 and ${MAX_PROXY_LIMIT} (0 = ${DEFAULT_PROXY_LIMIT})`);
  }
  return requested === 0 ? DEFAULT_PROXY_LIMIT : requested;
}

/** The question every process holding streams answers (policies as the answering replica sees them). */
export function statusQuery(policies: StoredPolicy[], limit = DEFAULT_PROXY_LIMIT): StatusQuery {
  return { policies: policies.map((p) => ({ policy: p.policy, version: p.version })), limit };
}

function policyStatus(p: StoredPolicy, i: number, local: LocalTally, laggards: LocalTally, remote: StatusSummary[], limit: number): PolicyStatusOut {
  const name = p.policy.metadata!.name;
  const mine = local.policies[i]!;
  // Other replicas' laggards are listed, never counted: their counts come from the summaries.
  const lag = laggards.policies[i]!;
  let targeted = mine.targeted;
  let ackedCount = mine.acked;
  let nackedCount = mine.nacked;
  let lastAck = mine.lastAck;
  const sel = p.policy.spec?.selector;
  const direction = policyDirection(p.policy);
  for (const summary of remote) {
    for (const g of summary.groups) {
      // Summaries split a group by direction: a policy counts the filter instances of its own.
      if (identityDirection(g.identity) !== direction || !selectorMatches(sel, { ...g.identity, pod: "", proxyId: "" })) continue;
      targeted += g.streams;
      for (const [n, v, count, at] of g.acked) {
        if (n === name && v === p.version) {
          ackedCount += count;
          lastAck = Math.max(lastAck, at);
        }
      }
      for (const [n, v, count] of g.nacked) if (n === name && v === p.version) nackedCount += count;
    }
  }
  const list = (...lists: Keyed<ProxyRefOut>[][]) => mergeFirst(lists, limit).map((k) => k.value);
  return {
    name,
    version: p.version,
    direction,
    target: { service: sel?.service ?? "", namespace: sel?.namespace ?? "", labels: { ...(sel?.labels ?? {}) } },
    ruleCount: p.policy.spec?.rules.length ?? 0,
    faultTypes: faultTypes(p),
    expiresAtUnixMs: p.policy.metadata?.expiresAtUnixMs ?? 0,
    targetedProxies: targeted,
    acked: list(mine.ackedRefs),
    nacked: list(mine.nackedRefs, lag.nackedRefs),
    pending: list(mine.pendingRefs, lag.pendingRefs),
    ackedCount,
    nackedCount,
    pendingCount: Math.max(0, targeted - ackedCount - nackedCount),
    lastAckUnixMs: lastAck,
    paused: false,
    faultsTotal: null,
    faults: [],
  };
}

/**
 * Status of the query's policies from this replica's tally and the other
 * replicas' summaries. proxies = this replica's proxies and the other
 * replicas' laggards, sorted by proxy id, then replica, the first
 * `q.limit` of them; every list is cut at the limit, counts stay exact.
 */
export function statusReport(policies: StoredPolicy[], q: StatusQuery, local: LocalTally, remote: StatusSummary[] = []): GetPolicyStatusResponseOut {
  const laggards = tallyRecords(
    remote.flatMap((s) => s.laggards),
    q,
  );
  const series: FaultSeries[] = mergeSeries([local.faults ?? [], ...remote.map((s) => s.faults ?? [])]);
  return {
    policies: policies.map((p, i) => ({
      ...policyStatus(p, i, local, laggards, remote, q.limit),
      ...policyFaults(p.policy.metadata!.name, series, (local.policies[i]!.faultRefs ?? []).map((k) => k.value)),
    })),
    proxies: mergeFirst([local.proxies, laggards.proxies], q.limit).map((k) => k.value),
    partial: "",
    invalidPolicies: [],
    proxiesTotal: local.proxiesTotal + laggards.proxiesTotal,
    pause: null,
  };
}

/** gRPC trailer / REST field saying the report lacks other replicas' proxies (and why). */
export const PARTIAL_STATUS_HEADER = "hfi-status-partial";

/** What GetPolicyStatus works from: this replica's tally, the other replicas' summaries, and why they may be missing. */
export interface ProxySnapshot {
  local: LocalTally;
  remote: StatusSummary[];
  /** Set when other replicas' summaries could not be read (only this replica's proxies are included). */
  partial?: string;
}

/** Where a process gets the replica's status from (the board, or the primary for a worker). */
export interface StatusSource {
  snapshot(q: StatusQuery): Promise<ProxySnapshot>;
}

/** The report over every replica; `partial` set when only this replica's proxies could be read. */
export async function collectStatus(
  policies: StoredPolicy[],
  board: StatusSource,
  limit = DEFAULT_PROXY_LIMIT,
): Promise<{ report: GetPolicyStatusResponseOut; partial?: string }> {
  const q = statusQuery(policies, limit);
  const { local, remote, partial: reason } = await board.snapshot(q);
  // ASCII, trimmed: it also goes into a gRPC trailer / HTTP header (trailing blanks drop the trailer).
  const partial = reason ? reason.replace(/[^\x20-\x7e]/g, "?").trim() : undefined;
  return { report: { ...statusReport(policies, q, local, remote), partial: partial ?? "" }, ...(partial ? { partial } : {}) };
}
