// This replica's side of the proxy status board: publishes a record per
// connected config stream (coalesced: one batch at most every flushMs, never
// in the stream's path) and reads the other replicas' records for
// GetPolicyStatus (cached for remoteCacheMs, one read shared by concurrent
// callers). Without a board (embedded store: one replica by construction)
// the local streams are the whole picture.
import os from "node:os";
import crypto from "node:crypto";
import type { Logger } from "pino";
import type { Metrics } from "./metrics.ts";
import type { ProxyRecord, ProxyStatusBoard } from "./store/types.ts";
import type { ConfigStream, ConfigStreams, SnapshotRecord } from "./streams.ts";

export const DEFAULT_FLUSH_MS = 250;
export const DEFAULT_REMOTE_CACHE_MS = 1000;
/** After a failed write the next attempt waits this long (etcd down: calls fail fast anyway). */
const RETRY_MS = 1000;

/** hostname-pid-random: unique per process, readable in etcdctl output. */
export function defaultReplicaId(): string {
  return `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
}

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
    ...(s.ackedAtUnixMs ? { ackedAtUnixMs: s.ackedAtUnixMs } : {}),
  };
}

/** What GetPolicyStatus works from: every proxy record, and why it may be incomplete. */
export interface ProxySnapshot {
  records: ProxyRecord[];
  /** Set when other replicas' proxies could not be read (only this replica's are included). */
  partial?: string;
}

export interface ProxyBoardOptions {
  streams: ConfigStreams;
  replicaId: string;
  /** undefined: this replica is the only one (embedded store). */
  board?: ProxyStatusBoard;
  metrics: Metrics;
  logger: Logger;
  flushMs?: number;
  remoteCacheMs?: number;
}

export class ProxyBoard {
  readonly replicaId: string;
  /** Stream key → stream to (re)publish, or null to delete. */
  private dirty = new Map<string, ConfigStream | null>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private nextFlushAt = 0;
  private closed = false;
  private failing = false;
  private remote: { at: number; records: ProxyRecord[] } | undefined;
  private remoteRead: Promise<ProxyRecord[]> | undefined;
  private readonly flushMs: number;
  private readonly remoteCacheMs: number;
  /** Figures for benchmarks and tests. */
  readonly stats = { flushes: 0, records: 0, failures: 0, lastFlushMs: 0 };
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: ProxyBoardOptions) {
    this.replicaId = opts.replicaId;
    this.flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    this.remoteCacheMs = opts.remoteCacheMs ?? DEFAULT_REMOTE_CACHE_MS;
    const s = opts.streams;
    const put = (x: ConfigStream) => this.mark(x, x);
    const del = (x: ConfigStream) => this.mark(x, null);
    s.on("added", put);
    s.on("sent", put);
    s.on("ack", put);
    s.on("nack", put);
    s.on("removed", del);
    this.unsubscribe = () => {
      s.off("added", put);
      s.off("sent", put);
      s.off("ack", put);
      s.off("nack", put);
      s.off("removed", del);
    };
    for (const x of s.streams()) put(x);
  }

  /** The board lost our records (lease expired): publish every stream again. */
  republishAll(): void {
    // Records of streams gone meanwhile went with the lease: no deletes needed.
    for (const [key, v] of this.dirty) if (!v) this.dirty.delete(key);
    for (const x of this.opts.streams.streams()) this.mark(x, x);
  }

  private mark(s: ConfigStream, v: ConfigStream | null): void {
    if (!this.opts.board || this.closed) return;
    this.dirty.set(String(s.id), v);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.closed || this.dirty.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    }, Math.max(0, this.nextFlushAt - Date.now()));
  }

  /** Writes everything marked since the last flush in one batch. */
  private async flush(): Promise<void> {
    const board = this.opts.board;
    if (!board || this.dirty.size === 0) return;
    const batch = this.dirty;
    this.dirty = new Map();
    const puts: ProxyRecord[] = [];
    const deletes: string[] = [];
    for (const [key, s] of batch) {
      if (s) puts.push(proxyRecord(s, this.replicaId));
      else deletes.push(key);
    }
    const t0 = performance.now();
    try {
      await board.publish(puts, deletes);
      this.stats.flushes++;
      this.stats.records += batch.size;
      this.stats.lastFlushMs = performance.now() - t0;
      this.nextFlushAt = Date.now() + this.flushMs;
      if (this.failing) this.opts.logger.info("proxy status published again");
      this.failing = false;
    } catch (err) {
      this.stats.failures++;
      this.opts.metrics.storeErrors.inc({ op: "status" });
      // Newer marks win; the rest of the batch goes again next time.
      for (const [key, s] of batch) if (!this.dirty.has(key)) this.dirty.set(key, s);
      this.nextFlushAt = Date.now() + RETRY_MS;
      if (!this.failing) this.opts.logger.warn({ err: (err as Error).message }, "publishing proxy status failed; retrying (config streams are unaffected)");
      this.failing = true;
    }
  }

  /** Resolves once everything marked so far has been published (or a write failed). Tests and close(). */
  async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flushing = this.flush().finally(() => (this.flushing = undefined));
    }
    await this.flushing;
  }

  /** Records of this replica (from memory) and of the other replicas (from the board, cached). */
  async snapshot(): Promise<ProxySnapshot> {
    const local = [...this.opts.streams.streams()].map((s) => proxyRecord(s, this.replicaId));
    if (!this.opts.board) return { records: local };
    try {
      const remote = await this.remoteRecords();
      return { records: [...local, ...remote] };
    } catch (err) {
      const partial = `proxies of other replicas unavailable: ${(err as Error).message}`;
      this.opts.logger.warn({ err: (err as Error).message }, "status: reporting this replica's proxies only");
      return { records: local, partial };
    }
  }

  private async remoteRecords(): Promise<ProxyRecord[]> {
    if (this.remote && Date.now() - this.remote.at < this.remoteCacheMs) return this.remote.records;
    this.remoteRead ??= this.opts
      .board!.list()
      .then((all) => {
        const records = all.filter((r) => r.replica !== this.replicaId);
        this.remote = { at: Date.now(), records };
        return records;
      })
      .finally(() => (this.remoteRead = undefined));
    return this.remoteRead;
  }

  /** Stops publishing and removes this replica's records (lease revoke). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing?.catch(() => {});
    await this.opts.board?.close();
  }
}
