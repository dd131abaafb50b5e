// A replica's own proxies tallied where they live: per asked policy the
// targeted / ACKed / NACKed counts and the first `limit` proxies of each
// list, plus the first `limit` proxies overall. Each worker tallies its own
// streams and the answering process merges the tallies, so a status call
// moves O(limit) data and allocates O(limit) entries whatever the stream
// count (one record per stream was megabytes per call at 10k streams).
import type { FaultCountStatusOut, IdentityOut, PolicyOut, ProxyRefOut, ProxyStatusOut } from "../../proto/loader.ts";
import { mergeSeries, splitCountKey, type FaultSeries, type Totals } from "../faults/ledger.ts";
import type { ConfigStream, ConfigStreams } from "../distribution/streams.ts";
import type { ProxyRecord } from "../store/types.ts";
import { identityDirection, identityKey, policyDirection, policyMatches } from "../selector.ts";
import { proxyRecord } from "./summary.ts";

/** What a status call asks each process for. */
export interface StatusQuery {
  policies: { policy: PolicyOut; version: number }[];
  /** Entries kept per list (proxies, and each policy's acked / nacked / pending). */
  limit: number;
}

/** A list entry with its sort key (proxy id, replica, stream: the report's order). */
export interface Keyed<T> {
  key: string;
  value: T;
}

export interface PolicyTally {
  targeted: number;
  acked: number;
  nacked: number;
  /** Latest ACK time (ms) of this policy version. */
  lastAck: number;
  ackedRefs: Keyed<ProxyRefOut>[];
  nackedRefs: Keyed<ProxyRefOut>[];
  pendingRefs: Keyed<ProxyRefOut>[];
  /** Fault counts of this policy per proxy (the first `limit` by proxy and rule). */
  faultRefs?: Keyed<FaultCountStatusOut>[];
}

export interface LocalTally {
  /** Aligned with StatusQuery.policies. */
  policies: PolicyTally[];
  proxies: Keyed<ProxyStatusOut>[];
  /** Proxies tallied (the length `proxies` would have without the limit). */
  proxiesTotal: number;
  /** The fault counts of the processes tallied (their ledgers, merged). */
  faults?: FaultSeries[];
}

const byKey = (a: Keyed<unknown>, b: Keyed<unknown>) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function sortKey(proxyId: string, replica: string, stream: string | number): string {
  return `${proxyId}\u0000${replica}\u0000${String(stream).padStart(12, "0")}`;
}

/**
 * The `limit` smallest entries by key, without building the others: once
 * `limit` entries are known, anything at or past the largest of them is
 * skipped before its value is made.
 */
export class FirstN<T> {
  private items: Keyed<T>[] = [];
  private cutoff: string | undefined;
  constructor(private readonly limit: number) {}

  add(key: string, make: () => T): void {
    if (this.wants(key)) this.put(key, make());
  }

  /** False when an entry of this key would be dropped: callers skip building it (and its closure). */
  wants(key: string): boolean {
    return this.limit > 0 && (this.cutoff === undefined || key < this.cutoff);
  }

  /** Adds an entry the caller checked with wants(). */
  put(key: string, value: T): void {
    this.items.push({ key, value });
    if (this.items.length >= 2 * this.limit) this.compact();
  }

  private compact(): void {
    this.items.sort(byKey);
    this.items.length = Math.min(this.items.length, this.limit);
    if (this.limit > 0 && this.items.length === this.limit) this.cutoff = this.items[this.limit - 1]!.key;
  }

  values(): Keyed<T>[] {
    this.compact();
    return this.items;
  }
}

/** Sorted merge of several lists, cut at `limit`. */
export function mergeFirst<T>(lists: Keyed<T>[][], limit: number): Keyed<T>[] {
  return lists.flat().sort(byKey).slice(0, limit);
}

/** How the tally reads one proxy (a stream, or a record): accessors, so no object per proxy is built. */
interface ProxyReader<T> {
  key(p: T): string;
  identity(p: T): IdentityOut;
  acked(p: T, policy: string): number | undefined;
  nacked(p: T, policy: string): number | undefined;
  ackedAt(p: T): number;
  nackError(p: T): string;
  status(p: T): ProxyStatusOut;
  /** [policy\0rule\0status, counts since the stream connected] (streams only). */
  faults?(p: T): Iterable<[string, Totals]>;
  connectedAt?(p: T): number;
}

function tally<T>(groups: Iterable<{ identity: IdentityOut; proxies: Iterable<T> }>, read: ProxyReader<T>, q: StatusQuery): LocalTally {
  const per = q.policies.map(() => ({
    targeted: 0,
    acked: 0,
    nacked: 0,
    lastAck: 0,
    a: new FirstN<ProxyRefOut>(q.limit),
    n: new FirstN<ProxyRefOut>(q.limit),
    p: new FirstN<ProxyRefOut>(q.limit),
    f: new FirstN<FaultCountStatusOut>(q.limit),
  }));
  const index = new Map(q.policies.map((p, i) => [p.policy.metadata!.name, i]));
  const proxies = new FirstN<ProxyStatusOut>(q.limit);
  let total = 0;
  for (const g of groups) {
    // Selection depends on the identity group only: matched once per group. A group holds a
    // workload's inbound and outbound filters alike; each is targeted by its direction's policies.
    const matchIn: number[] = [];
    const matchOut: number[] = [];
    q.policies.forEach((p, i) => policyMatches(p.policy, g.identity) && (policyDirection(p.policy) === "outbound" ? matchOut : matchIn).push(i));
    for (const x of g.proxies) {
      total++;
      const key = read.key(x);
      const matching = identityDirection(read.identity(x)) === "outbound" ? matchOut : matchIn;
      if (proxies.wants(key)) proxies.put(key, read.status(x));
      for (const [k, counts] of read.faults?.(x) ?? []) {
        const c = splitCountKey(k);
        const i = index.get(c.policy);
        if (i === undefined) continue;
        const id = read.identity(x);
        per[i]!.f.add(`${key}\u0000${String(c.rule).padStart(4, "0")}\u0000${c.status}`, () => ({
          service: id.service,
          namespace: id.namespace,
          proxyId: id.proxyId,
          rule: c.rule,
          abortStatus: c.status,
          totals: { ...counts },
          sinceUnixMs: read.connectedAt?.(x) ?? 0,
        }));
      }
      for (const i of matching) {
        const { policy, version } = q.policies[i]!;
        const name = policy.metadata!.name;
        const t = per[i]!;
        t.targeted++;
        if (read.acked(x, name) === version) {
          t.acked++;
          t.lastAck = Math.max(t.lastAck, read.ackedAt(x));
          if (t.a.wants(key)) t.a.put(key, { identity: read.identity(x), error: "" });
        } else if (read.nacked(x, name) === version) {
          t.nacked++;
          if (t.n.wants(key)) t.n.put(key, { identity: read.identity(x), error: read.nackError(x) });
        } else if (t.p.wants(key)) t.p.put(key, { identity: read.identity(x), error: "" });
      }
    }
  }
  return {
    policies: per.map((t) => ({
      targeted: t.targeted,
      acked: t.acked,
      nacked: t.nacked,
      lastAck: t.lastAck,
      ackedRefs: t.a.values(),
      nackedRefs: t.n.values(),
      pendingRefs: t.p.values(),
      faultRefs: t.f.values(),
    })),
    proxies: proxies.values(),
    proxiesTotal: total,
  };
}

/** The config streams of this process. */
export function tallyStreams(streams: ConfigStreams, replica: string, q: StatusQuery): LocalTally {
  const groups = [...streams.groups.values()].map((g) => ({ identity: g.identity, proxies: g.streams }));
  const t = tally<ConfigStream>(
    groups,
    {
      // Constant for a stream's life: built once, not on every status call.
      key: (s) => (s.statusKey ??= sortKey(s.identity.proxyId, replica, s.id)),
      identity: (s) => s.identity,
      acked: (s, name) => s.acked?.policies.get(name),
      nacked: (s, name) => s.nacked?.record?.policies.get(name),
      ackedAt: (s) => s.ackedAtMs,
      nackError: (s) => s.nacked?.error ?? "",
      status: (s) => proxyStatus(proxyRecord(s, replica)),
      faults: (s) => s.faults.counted,
      connectedAt: (s) => s.connectedAtUnixMs,
    },
    q,
  );
  return { ...t, faults: streams.faults.list() };
}

/** Records (other replicas' laggards), grouped by identity like streams are. */
export function tallyRecords(records: ProxyRecord[], q: StatusQuery): LocalTally {
  type Indexed = { record: ProxyRecord; acked: Map<string, number>; nacked: Map<string, number> };
  const groups = new Map<string, { identity: IdentityOut; proxies: Indexed[] }>();
  for (const record of records) {
    const k = identityKey(record.identity);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { identity: record.identity, proxies: [] }));
    g.proxies.push({ record, acked: new Map(record.acked), nacked: new Map(record.nacked) });
  }
  return tally<Indexed>(
    groups.values(),
    {
      key: ({ record: r }) => sortKey(r.identity.proxyId, r.replica, r.stream),
      identity: ({ record: r }) => r.identity,
      acked: (x, name) => x.acked.get(name),
      nacked: (x, name) => x.nacked.get(name),
      ackedAt: ({ record: r }) => r.ackedAtUnixMs ?? 0,
      nackError: ({ record: r }) => r.nackError,
      status: ({ record: r }) => proxyStatus(r),
    },
    q,
  );
}

/** Tallies of several processes (the workers of one replica) as one. */
export function mergeTallies(parts: LocalTally[], q: StatusQuery): LocalTally {
  return {
    policies: q.policies.map((_, i) => {
      const ts = parts.map((p) => p.policies[i]!);
      return {
        targeted: ts.reduce((n, t) => n + t.targeted, 0),
        acked: ts.reduce((n, t) => n + t.acked, 0),
        nacked: ts.reduce((n, t) => n + t.nacked, 0),
        lastAck: ts.reduce((n, t) => Math.max(n, t.lastAck), 0),
        ackedRefs: mergeFirst(ts.map((t) => t.ackedRefs), q.limit),
        nackedRefs: mergeFirst(ts.map((t) => t.nackedRefs), q.limit),
        pendingRefs: mergeFirst(ts.map((t) => t.pendingRefs), q.limit),
        faultRefs: mergeFirst(ts.map((t) => t.faultRefs ?? []), q.limit),
      };
    }),
    proxies: mergeFirst(parts.map((p) => p.proxies), q.limit),
    proxiesTotal: parts.reduce((n, p) => n + p.proxiesTotal, 0),
    faults: mergeSeries(parts.map((p) => p.faults ?? [])),
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
    idle: r.idle ?? false,
  };
}
