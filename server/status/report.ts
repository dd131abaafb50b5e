// Convergence status: for each policy, the connected proxies it targets and
// how many ACKed or NACKed a snapshot holding its current version. Proxies of
// this replica (every worker) are listed one by one; other replicas count
// from their published summaries and list only their laggards.
import type { GetPolicyStatusResponseOut, PolicyStatusOut, ProxyRefOut, ProxyStatusOut } from "../../proto/loader.ts";
import type { ProxyRecord, StatusSummary, StoredPolicy } from "../store/types.ts";
import { identityDirection, identityKey, policyAppliesAt, policyDirection, selectorMatches } from "../selector.ts";
import { faultKindsOf } from "../../policy/index.ts";

/** The fault kinds of every rule, sorted (status `fault_types`). */
export function faultTypes(p: StoredPolicy): string[] {
  return [...new Set((p.policy.spec?.rules ?? []).flatMap((r) => faultKindsOf(r.fault)))].sort();
}

/** A record with lookup maps, grouped by identity (selector matching runs once per identity). */
interface Indexed {
  record: ProxyRecord;
  acked: Map<string, number>;
  nacked: Map<string, number>;
}

function ref(r: ProxyRecord, error = ""): ProxyRefOut {
  return { identity: r.identity, error };
}

function byIdentity(records: ProxyRecord[]): Map<string, Indexed[]> {
  const groups = new Map<string, Indexed[]>();
  for (const record of records) {
    const key = `${identityDirection(record.identity)} ${identityKey(record.identity)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ record, acked: new Map(record.acked), nacked: new Map(record.nacked) });
  }
  return groups;
}

/** What a report is computed from. */
export interface StatusInputs {
  /** Every proxy of this replica. */
  local: Map<string, Indexed[]>;
  /** Other replicas' summaries. */
  remote: StatusSummary[];
  /** Other replicas' laggards, indexed like the local records. */
  remoteLaggards: Map<string, Indexed[]>;
}

export function policyStatus(p: StoredPolicy, inputs: StatusInputs): PolicyStatusOut {
  const name = p.policy.metadata!.name;
  const acked: ProxyRefOut[] = [];
  const nacked: ProxyRefOut[] = [];
  const pending: ProxyRefOut[] = [];
  let targeted = 0;
  let ackedCount = 0;
  let nackedCount = 0;
  let lastAck = 0;
  for (const members of inputs.local.values()) {
    if (!policyAppliesAt(p.policy, members[0]!.record.identity)) continue;
    for (const m of members) {
      targeted++;
      if (m.acked.get(name) === p.version) {
        acked.push(ref(m.record));
        ackedCount++;
        lastAck = Math.max(lastAck, m.record.ackedAtUnixMs ?? 0);
      } else if (m.nacked.get(name) === p.version) {
        nacked.push(ref(m.record, m.record.nackError));
        nackedCount++;
      } else pending.push(ref(m.record));
    }
  }
  const sel = p.policy.spec?.selector;
  const direction = policyDirection(p.policy);
  for (const summary of inputs.remote) {
    for (const g of summary.groups) {
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
  for (const members of inputs.remoteLaggards.values()) {
    if (!policyAppliesAt(p.policy, members[0]!.record.identity)) continue;
    for (const m of members) {
      if (m.acked.get(name) === p.version) continue;
      if (m.nacked.get(name) === p.version) nacked.push(ref(m.record, m.record.nackError));
      else pending.push(ref(m.record));
    }
  }
  const byProxy = (a: ProxyRefOut, b: ProxyRefOut) => cmp(a.identity!.proxyId, b.identity!.proxyId);
  return {
    name,
    version: p.version,
    direction,
    target: { service: sel?.service ?? "", namespace: sel?.namespace ?? "", labels: { ...(sel?.labels ?? {}) } },
    ruleCount: p.policy.spec?.rules.length ?? 0,
    faultTypes: faultTypes(p),
    expiresAtUnixMs: p.policy.metadata?.expiresAtUnixMs ?? 0,
    targetedProxies: targeted,
    acked: acked.sort(byProxy),
    nacked: nacked.sort(byProxy),
    pending: pending.sort(byProxy),
    ackedCount,
    nackedCount,
    pendingCount: Math.max(0, targeted - ackedCount - nackedCount),
    lastAckUnixMs: lastAck,
  };
}

export function proxyStatus(r: ProxyRecord): ProxyStatusOut {
  return {
    identity: r.identity,
    sentVersion: r.sentVersion,
    ackedVersion: r.ackedVersion,
    nackedVersion: r.nackedVersion,
    nackError: r.nackError,
    policies: r.sent.map(([name]) => name),
    connectedAtUnixMs: r.connectedAtUnixMs,
    replica: r.replica,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const byProxyThenReplica = (a: ProxyRecord, b: ProxyRecord) =>
  cmp(a.identity.proxyId, b.identity.proxyId) || cmp(a.replica, b.replica) || Number(a.stream) - Number(b.stream);

/**
 * Status of the given policies. proxies = this replica's records and the
 * other replicas' laggards (sorted by proxy id, then replica).
 */
export function statusReport(policies: StoredPolicy[], local: ProxyRecord[], remote: StatusSummary[] = []): GetPolicyStatusResponseOut {
  const sortedLocal = [...local].sort(byProxyThenReplica);
  const laggards = remote.flatMap((s) => s.laggards).sort(byProxyThenReplica);
  const inputs: StatusInputs = { local: byIdentity(sortedLocal), remote, remoteLaggards: byIdentity(laggards) };
  const proxies = [...sortedLocal, ...laggards].sort(byProxyThenReplica).map(proxyStatus);
  return { policies: policies.map((p) => policyStatus(p, inputs)), proxies, partial: "", invalidPolicies: [] };
}

/** gRPC trailer / REST field saying the report lacks other replicas' proxies (and why). */
export const PARTIAL_STATUS_HEADER = "hfi-status-partial";

/** What GetPolicyStatus works from: this replica's records, the other replicas' summaries, and why they may be missing. */
export interface ProxySnapshot {
  records: ProxyRecord[];
  remote: StatusSummary[];
  /** Set when other replicas' summaries could not be read (only this replica's proxies are included). */
  partial?: string;
}

/** Where a process gets the replica's status from (the board, or the primary for a worker). */
export interface StatusSource {
  snapshot(): Promise<ProxySnapshot>;
}

/** The report over every replica; `partial` set when only this replica's proxies could be read. */
export async function collectStatus(
  policies: StoredPolicy[],
  board: StatusSource,
): Promise<{ report: GetPolicyStatusResponseOut; partial?: string }> {
  const { records, remote, partial: reason } = await board.snapshot();
  // ASCII, trimmed: it also goes into a gRPC trailer / HTTP header (trailing blanks drop the trailer).
  const partial = reason ? reason.replace(/[^\x20-\x7e]/g, "?").trim() : undefined;
  return { report: { ...statusReport(policies, records, remote), partial: partial ?? "" }, ...(partial ? { partial } : {}) };
}
