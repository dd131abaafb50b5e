// The etcd proxy status board: ONE key per replica, <statusPrefix><replicaId>,
// value = compact JSON of the replica's StatusSummary (counts per identity
// group and policy version, bounded laggards). The key hangs on the
// replica's lease (kept alive by etcd3's Lease), so a replica that dies
// without cleaning up leaves the board one TTL later. The write rate is the
// publisher's (a few per second at most), whatever the stream count.
import type { FaultSeries } from "../faults/ledger.ts";
import type { Etcd3, IKeyValue, Lease } from "etcd3";
import type { Logger } from "pino";
import type { ProxyRecord, ProxyStatusBoard, ProxyStatusBoardOptions, StatusSummary } from "./types.ts";

/** Keys per range request when reading the board (keeps responses well under gRPC's 4 MiB). */
const PAGE = 100;
export const DEFAULT_STATUS_TTL_SECONDS = 15;

/** How the board reaches etcd: the store's client and its deadline wrapper. */
export interface EtcdBoardDeps {
  client: Etcd3;
  statusPrefix: string;
  logger: Logger;
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/** Replica ids become one key segment: no "/". */
export function replicaKey(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_") || "_";
}

/** Stored form: versions and policy lists; ACKed/NACKed lists omitted when they equal the sent one. */
interface StoredRecord {
  identity: ProxyRecord["identity"];
  sentVersion: string;
  ackedVersion?: string;
  nackedVersion?: string;
  nackError?: string;
  sent: [string, number][];
  acked?: [string, number][];
  nacked?: [string, number][];
  connectedAtUnixMs: number;
  ackedAtUnixMs?: number;
  /** Present (true) only for idle VMs. */
  idle?: boolean;
}

export function encodeRecord(r: ProxyRecord): string {
  const v: StoredRecord = { identity: r.identity, sentVersion: r.sentVersion, sent: r.sent, connectedAtUnixMs: r.connectedAtUnixMs };
  if (r.ackedVersion) v.ackedVersion = r.ackedVersion;
  if (r.ackedAtUnixMs) v.ackedAtUnixMs = r.ackedAtUnixMs;
  if (r.idle) v.idle = true;
  if (r.ackedVersion && r.ackedVersion !== r.sentVersion) v.acked = r.acked;
  if (r.nackedVersion) {
    v.nackedVersion = r.nackedVersion;
    v.nackError = r.nackError;
    if (r.nackedVersion !== r.sentVersion) v.nacked = r.nacked;
  }
  return JSON.stringify(v);
}

export function decodeRecord(replica: string, stream: string, text: string): ProxyRecord | undefined {
  try {
    const v = JSON.parse(text) as StoredRecord;
    if (!v || typeof v !== "object" || !v.identity || !Array.isArray(v.sent)) return undefined;
    const ackedVersion = v.ackedVersion ?? "";
    const nackedVersion = v.nackedVersion ?? "";
    return {
      replica,
      stream,
      identity: {
        service: v.identity.service ?? "",
        namespace: v.identity.namespace ?? "",
        pod: v.identity.pod ?? "",
        proxyId: v.identity.proxyId ?? "",
        labels: v.identity.labels ?? {},
        ...(v.identity.direction === "outbound" ? { direction: "outbound" } : {}),
      },
      sentVersion: v.sentVersion ?? "",
      ackedVersion,
      nackedVersion,
      nackError: v.nackError ?? "",
      sent: v.sent,
      acked: v.acked ?? (ackedVersion ? v.sent : []),
      nacked: v.nacked ?? (nackedVersion ? v.sent : []),
      connectedAtUnixMs: Number(v.connectedAtUnixMs) || 0,
      ...(Number(v.ackedAtUnixMs) > 0 ? { ackedAtUnixMs: Number(v.ackedAtUnixMs) } : {}),
      ...(v.idle === true ? { idle: true } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Stored form of a summary: laggards in the compact record form. */
interface StoredSummary {
  streams: number;
  groups: StatusSummary["groups"];
  laggards: [string, string][];
  laggardsOmitted?: number;
  faults?: FaultSeries[];
}

export function encodeSummary(s: StatusSummary): string {
  const v: StoredSummary = { streams: s.streams, groups: s.groups, laggards: s.laggards.map((r) => [r.stream, encodeRecord(r)]) };
  if (s.laggardsOmitted) v.laggardsOmitted = s.laggardsOmitted;
  if (s.faults?.length) v.faults = s.faults;
  return JSON.stringify(v);
}

export function decodeSummary(replica: string, text: string): StatusSummary | undefined {
  try {
    const v = JSON.parse(text) as StoredSummary;
    if (!v || typeof v !== "object" || !Array.isArray(v.groups) || !Array.isArray(v.laggards)) return undefined;
    const laggards: ProxyRecord[] = [];
    for (const [stream, rec] of v.laggards) {
      const r = decodeRecord(replica, String(stream), rec);
      if (r) laggards.push(r);
    }
    return {
      replica,
      streams: Number(v.streams) || 0,
      groups: v.groups.filter((g) => g && g.identity && Array.isArray(g.acked) && Array.isArray(g.nacked)),
      laggards,
      laggardsOmitted: Number(v.laggardsOmitted) || 0,
      ...(Array.isArray(v.faults) ? { faults: v.faults.filter((f) => f && typeof f.policy === "string" && f.totals && typeof f.totals === "object") } : {}),
    };
  } catch {
    return undefined;
  }
}

/** First key after every key with this prefix (etcd range_end). */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]);
}

export class EtcdStatusBoard implements ProxyStatusBoard {
  private readonly key: string;
  private readonly ttl: number;
  private lease: Lease | undefined;
  private closed = false;

  constructor(
    private readonly deps: EtcdBoardDeps,
    private readonly opts: ProxyStatusBoardOptions,
  ) {
    this.key = `${deps.statusPrefix}${replicaKey(opts.replicaId)}`;
    this.ttl = Math.max(1, Math.ceil(opts.ttlSeconds ?? DEFAULT_STATUS_TTL_SECONDS));
  }

  /** The replica's lease, granted on first use and again after it was lost. */
  private async leaseId(): Promise<string> {
    if (!this.lease) {
      const lease = this.deps.client.lease(this.ttl, { autoKeepAlive: true });
      let granted = false;
      void lease.grant().then(() => (granted = true), () => {});
      lease.on("lost", (err) => {
        if (this.lease !== lease) return;
        this.lease = undefined;
        // A grant that failed is reported by publish(); only a lease that held records was "lost".
        if (this.closed || !granted) return;
        this.deps.logger.warn({ err: err?.message }, "proxy status lease lost; republishing this replica's proxies");
        this.opts.onLost?.();
      });
      this.lease = lease;
    }
    const lease = this.lease;
    try {
      return await this.deps.call("status lease grant", () => lease.grant());
    } catch (err) {
      // A failed grant is final for this Lease object: start over next time.
      if (this.lease === lease) this.lease = undefined;
      lease.release();
      throw err;
    }
  }

  async publish(summary: StatusSummary): Promise<void> {
    if (this.closed) return;
    const lease = await this.leaseId();
    const value = Buffer.from(encodeSummary(summary));
    try {
      await this.deps.call("status write", () =>
        this.deps.client.kv.put({ key: Buffer.from(this.key), value, lease }),
      );
    } catch (err) {
      // etcd forgot the lease (expired while we could not reach it): grant a new one next time.
      if (/lease not found|expired or revoked/i.test((err as Error).message) && this.lease) {
        const l = this.lease;
        this.lease = undefined;
        l.release();
        this.opts.onLost?.();
      }
      throw err;
    }
  }

  async list(): Promise<StatusSummary[]> {
    const prefix = this.deps.statusPrefix;
    const end = prefixEnd(prefix);
    const out: StatusSummary[] = [];
    let key = Buffer.from(prefix);
    let revision: string | undefined;
    for (;;) {
      const res = await this.deps.call("status list", () =>
        this.deps.client.kv.range({ key, range_end: end, limit: PAGE, ...(revision ? { revision } : {}) }),
      );
      revision ??= String(res.header.revision);
      for (const kv of res.kvs) {
        const r = this.parse(kv);
        if (r) out.push(r);
      }
      if (!res.more || res.kvs.length === 0) break;
      key = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return out;
  }

  private parse(kv: IKeyValue): StatusSummary | undefined {
    const replica = kv.key.toString("utf8").slice(this.deps.statusPrefix.length);
    // Keys with a "/" are per-stream records of older servers: skipped (they expire with their lease).
    if (!replica || replica.includes("/")) return undefined;
    return decodeSummary(replica, kv.value.toString("utf8"));
  }

  /** Revoking the lease deletes this replica's summary at once (else it expires with the TTL). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    try {
      await this.deps.call("status lease revoke", () => lease.revoke());
    } catch (err) {
      lease.release();
      this.deps.logger.debug({ err: (err as Error).message }, "proxy status lease revoke failed (it expires by itself)");
    }
  }
}
