// Convergence status: for each policy, which connected proxies (of every
// replica: records from the proxy status board, this replica's own from
// memory) are targeted and which ACKed or NACKed a snapshot holding its
// current version.
import type { GetPolicyStatusResponseOut, PolicyStatusOut, ProxyRefOut, ProxyStatusOut } from "../proto/loader.ts";
import type { ProxyRecord, StoredPolicy } from "./store/types.ts";
import { identityKey, policyMatches } from "./selector.ts";

export function faultTypes(p: StoredPolicy): string[] {
  const types = new Set<string>();
  for (const r of p.policy.spec?.rules ?? []) {
    const f = r.fault;
    if (f?.abort && f.abort.httpStatus + f.abort.grpcStatus > 0) types.add("abort");
    if ((f?.delay && f.delay.fixedDelayMs > 0) || (f?.delayMs ?? 0) > 0) types.add("delay");
  }
  return [...types].sort();
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
    const key = identityKey(record.identity);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ record, acked: new Map(record.acked), nacked: new Map(record.nacked) });
  }
  return groups;
}

export function policyStatus(p: StoredPolicy, groups: Map<string, Indexed[]>): PolicyStatusOut {
  const name = p.policy.metadata!.name;
  const acked: ProxyRefOut[] = [];
  const nacked: ProxyRefOut[] = [];
  const pending: ProxyRefOut[] = [];
  let targeted = 0;
  let lastAck = 0;
  for (const members of groups.values()) {
    if (!policyMatches(p.policy, members[0]!.record.identity)) continue;
    for (const m of members) {
      targeted++;
      if (m.acked.get(name) === p.version) {
        acked.push(ref(m.record));
        lastAck = Math.max(lastAck, m.record.ackedAtUnixMs ?? 0);
      }
      else if (m.nacked.get(name) === p.version) nacked.push(ref(m.record, m.record.nackError));
      else pending.push(ref(m.record));
    }
  }
  const byProxy = (a: ProxyRefOut, b: ProxyRefOut) => cmp(a.identity!.proxyId, b.identity!.proxyId);
  const sel = p.policy.spec?.selector;
  return {
    name,
    version: p.version,
    target: { service: sel?.service ?? "", namespace: sel?.namespace ?? "", labels: { ...(sel?.labels ?? {}) } },
    ruleCount: p.policy.spec?.rules.length ?? 0,
    faultTypes: faultTypes(p),
    expiresAtUnixMs: p.policy.metadata?.expiresAtUnixMs ?? 0,
    targetedProxies: targeted,
    acked: acked.sort(byProxy),
    nacked: nacked.sort(byProxy),
    pending: pending.sort(byProxy),
    ackedCount: acked.length,
    nackedCount: nacked.length,
    pendingCount: pending.length,
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

/** Status of the given policies; proxies = every record (sorted by proxy id, then replica). */
export function statusReport(policies: StoredPolicy[], records: ProxyRecord[]): GetPolicyStatusResponseOut {
  const sorted = [...records].sort(
    (a, b) => cmp(a.identity.proxyId, b.identity.proxyId) || cmp(a.replica, b.replica) || Number(a.stream) - Number(b.stream),
  );
  const groups = byIdentity(sorted);
  return { policies: policies.map((p) => policyStatus(p, groups)), proxies: sorted.map(proxyStatus), partial: "" };
}

/** gRPC trailer / REST field saying the report lacks other replicas' proxies (and why). */
export const PARTIAL_STATUS_HEADER = "hfi-status-partial";

/** The report over every replica's proxies; `partial` set when only this replica's could be read. */
export async function collectStatus(
  policies: StoredPolicy[],
  board: { snapshot(): Promise<{ records: ProxyRecord[]; partial?: string }> },
): Promise<{ report: GetPolicyStatusResponseOut; partial?: string }> {
  const { records, partial: reason } = await board.snapshot();
  // ASCII, trimmed: it also goes into a gRPC trailer / HTTP header (trailing blanks drop the trailer).
  const partial = reason ? reason.replace(/[^\x20-\x7e]/g, "?").trim() : undefined;
  return { report: { ...statusReport(policies, records), partial: partial ?? "" }, ...(partial ? { partial } : {}) };
}
