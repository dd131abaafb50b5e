// A replica's status in aggregate: per identity group, how many streams
// ACKed / NACKed each policy version, and a bounded list of the proxies not
// (yet) on their group's current snapshot. Built from the streams in one
// pass (streams of a group share snapshot records, so counting is per
// record, not per policy per stream); summaries of several workers merge
// into the replica's one record.
import { mergeSeries } from "../faults/ledger.ts";
import type { GroupSummary, ProxyRecord, StatusSummary } from "../store/types.ts";
import type { ConfigStream, ConfigStreams, SnapshotRecord } from "../distribution/streams.ts";
import { identityDirection, identityKey, type Direction } from "../selector.ts";

/** Laggards listed per replica summary (the rest are only counted). */
export const MAX_LAGGARDS = 64;

function entries(r: SnapshotRecord | undefined): [string, number][] {
  return r ? [...r.policies] : [];
}

export function proxyRecord(s: ConfigStream, replica: string): ProxyRecord {
  return {
    replica,
    stream: String(s.id),
    identity: s.identity,
    sentVersion: s.sent?.version ?? "",
    ackedVersion: s.acked?.version ?? "",
    nackedVersion: s.nacked?.version ?? "",
    nackError: s.nacked?.error ?? "",
    sent: entries(s.sent),
    acked: entries(s.acked),
    nacked: entries(s.nacked?.record),
    connectedAtUnixMs: s.connectedAtUnixMs,
    ackedAtUnixMs: s.ackedAtMs,
    idle: !s.serving,
  };
}

export function summarize(streams: ConfigStreams, replica: string): StatusSummary {
  const groups: GroupSummary[] = [];
  const nackers: ConfigStream[] = [];
  const behind: ConfigStream[] = [];
  let total = 0;
  for (const g of streams.groups.values()) {
    // Inbound and outbound filters of a workload share a group (one snapshot); status counts them apart.
    const byDirection = new Map<Direction, ConfigStream[]>();
    for (const s of g.streams) {
      const d = identityDirection(s.identity);
      const list = byDirection.get(d);
      if (list) list.push(s);
      else byDirection.set(d, [s]);
    }
    for (const [direction, members] of byDirection) {
      const acked = new Map<SnapshotRecord, { n: number; at: number }>();
      const nacked = new Map<SnapshotRecord, number>();
      for (const s of members) {
        total++;
        if (s.acked) {
          const a = acked.get(s.acked);
          if (a) {
            a.n++;
            a.at = Math.max(a.at, s.ackedAtMs);
          } else acked.set(s.acked, { n: 1, at: s.ackedAtMs });
        }
        if (s.nacked?.record) nacked.set(s.nacked.record, (nacked.get(s.nacked.record) ?? 0) + 1);
        if (s.nacked && s.nacked.version === g.current.version) nackers.push(s);
        else if (s.acked?.version !== g.current.version) behind.push(s);
      }
      // Several records can hold the same policy version: sum per (name, version).
      const ackedBy = new Map<string, [string, number, number, number]>();
      for (const [r, { n, at }] of acked) {
        for (const [name, version] of r.policies) {
          const k = `${version}:${name}`;
          const e = ackedBy.get(k);
          if (e) {
            e[2] += n;
            e[3] = Math.max(e[3], at);
          } else ackedBy.set(k, [name, version, n, at]);
        }
      }
      const nackedBy = new Map<string, [string, number, number]>();
      for (const [r, n] of nacked) {
        for (const [name, version] of r.policies) {
          const k = `${version}:${name}`;
          const e = nackedBy.get(k);
          if (e) e[2] += n;
          else nackedBy.set(k, [name, version, n]);
        }
      }
      const { service, namespace, labels } = g.identity;
      const identity = direction === "outbound" ? { service, namespace, labels, direction } : { service, namespace, labels };
      groups.push({ identity, streams: members.length, acked: [...ackedBy.values()], nacked: [...nackedBy.values()] });
    }
  }
  const lag = [...nackers, ...behind];
  return {
    replica,
    streams: total,
    groups,
    laggards: lag.slice(0, MAX_LAGGARDS).map((s) => proxyRecord(s, replica)),
    laggardsOmitted: Math.max(0, lag.length - MAX_LAGGARDS),
    faults: streams.faults.list(),
  };
}

/** The summaries of several workers of one replica as one. */
export function mergeSummaries(replica: string, parts: StatusSummary[]): StatusSummary {
  const groups = new Map<string, { g: GroupSummary; acked: Map<string, [string, number, number, number]>; nacked: Map<string, [string, number, number]> }>();
  let streams = 0;
  let omitted = 0;
  const laggards: ProxyRecord[] = [];
  for (const p of parts) {
    streams += p.streams;
    omitted += p.laggardsOmitted;
    for (const l of p.laggards) laggards.push({ ...l, replica });
    for (const g of p.groups) {
      const key = `${identityDirection(g.identity)} ${identityKey({ ...g.identity, pod: "", proxyId: "" })}`;
      let m = groups.get(key);
      if (!m) groups.set(key, (m = { g: { identity: g.identity, streams: 0, acked: [], nacked: [] }, acked: new Map(), nacked: new Map() }));
      m.g.streams += g.streams;
      for (const [name, version, n, at] of g.acked) {
        const e = m.acked.get(`${version}:${name}`);
        if (e) {
          e[2] += n;
          e[3] = Math.max(e[3], at);
        } else m.acked.set(`${version}:${name}`, [name, version, n, at]);
      }
      for (const [name, version, n] of g.nacked) {
        const e = m.nacked.get(`${version}:${name}`);
        if (e) e[2] += n;
        else m.nacked.set(`${version}:${name}`, [name, version, n]);
      }
    }
  }
  // NACKers first across workers too.
  laggards.sort((a, b) => Number(!!b.nackError) - Number(!!a.nackError));
  return {
    replica,
    streams,
    groups: [...groups.values()].map((m) => ({ ...m.g, acked: [...m.acked.values()], nacked: [...m.nacked.values()] })),
    laggards: laggards.slice(0, MAX_LAGGARDS),
    laggardsOmitted: omitted + Math.max(0, laggards.length - MAX_LAGGARDS),
    faults: mergeSeries(parts.map((p) => p.faults ?? [])),
  };
}
