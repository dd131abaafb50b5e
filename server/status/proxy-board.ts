// This replica's side of the proxy status board: publishes ONE summary of
// every config stream of the replica (all workers) after changes, at most
// one write every flushMs and never in a stream's path, and reads the other
// replicas' summaries for GetPolicyStatus (cached for remoteCacheMs, one
// read shared by concurrent callers). Without a board (embedded store: one
// replica by construction) the local streams are the whole picture.
import os from "node:os";
import crypto from "node:crypto";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";
import type { ProxyStatusBoard, StatusSummary } from "../store/types.ts";
import type { ConfigStreams } from "../distribution/streams.ts";
import type { ProxySnapshot } from "./report.ts";
import { summarize } from "./summary.ts";
import { tallyStreams, type LocalTally, type StatusQuery } from "./tally.ts";

export const DEFAULT_FLUSH_MS = 250;
export const DEFAULT_REMOTE_CACHE_MS = 1000;
/** After a failed write the next attempt waits this long (etcd down: calls fail fast anyway). */
const RETRY_MS = 1000;

/** hostname-pid-random: unique per process, readable in etcdctl output. */
export function defaultReplicaId(): string {
  return `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
}

/** Where this replica's proxies are: one process's streams, or every worker's. */
export interface LocalStatus {
  /** This replica's proxies tallied for a status call. */
  tally(q: StatusQuery): Promise<LocalTally>;
  summary(): Promise<StatusSummary>;
  /** fn runs whenever a stream's status may have changed; returns an unsubscribe. */
  onChange(fn: () => void): () => void;
}

/** The streams of this process as the replica's whole status. */
export function streamsStatus(streams: ConfigStreams, replica: string): LocalStatus {
  return {
    tally: async (q) => tallyStreams(streams, replica, q),
    summary: async () => summarize(streams, replica),
    onChange(fn) {
      const events = ["added", "sent", "ack", "nack", "serving", "removed"] as const;
      for (const e of events) streams.on(e, fn);
      return () => {
        for (const e of events) streams.off(e, fn);
      };
    },
  };
}

export interface ProxyBoardOptions {
  local: LocalStatus;
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
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private nextFlushAt = 0;
  private closed = false;
  private failing = false;
  private remote: { at: number; summaries: StatusSummary[] } | undefined;
  private remoteRead: Promise<StatusSummary[]> | undefined;
  private readonly flushMs: number;
  private readonly remoteCacheMs: number;
  /** Figures for benchmarks and tests: flushes = board writes. */
  readonly stats = { flushes: 0, failures: 0, lastFlushMs: 0, lastBytes: 0 };
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: ProxyBoardOptions) {
    this.replicaId = opts.replicaId;
    this.flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    this.remoteCacheMs = opts.remoteCacheMs ?? DEFAULT_REMOTE_CACHE_MS;
    this.unsubscribe = opts.local.onChange(() => this.markDirty());
    this.markDirty();
  }

  /** The board lost our summary (lease expired): publish it again. */
  republishAll(): void {
    this.markDirty();
  }

  markDirty(): void {
    if (!this.opts.board || this.closed) return;
    this.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.closed || !this.dirty) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    }, Math.max(0, this.nextFlushAt - Date.now()));
  }

  /** Publishes the current summary (one write). */
  private async flush(): Promise<void> {
    const board = this.opts.board;
    if (!board || !this.dirty) return;
    this.dirty = false;
    const t0 = performance.now();
    try {
      const summary = await this.opts.local.summary();
      await board.publish(summary);
      this.stats.flushes++;
      this.stats.lastFlushMs = performance.now() - t0;
      this.nextFlushAt = Date.now() + this.flushMs;
      if (this.failing) this.opts.logger.info("proxy status published again");
      this.failing = false;
    } catch (err) {
      this.stats.failures++;
      this.opts.metrics.storeErrors.inc({ op: "status" });
      this.dirty = true;
      this.nextFlushAt = Date.now() + RETRY_MS;
      if (!this.failing) this.opts.logger.warn({ err: (err as Error).message }, "publishing proxy status failed; retrying (config streams are unaffected)");
      this.failing = true;
    }
  }

  /** Resolves once the state so far has been published (or a write failed). Tests and close(). */
  async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flushing = this.flush().finally(() => (this.flushing = undefined));
    }
    await this.flushing;
  }

  /** This replica's tally for `q` and the other replicas' summaries (from the board, cached). */
  async snapshot(q: StatusQuery): Promise<ProxySnapshot> {
    const local = await this.opts.local.tally(q);
    if (!this.opts.board) return { local, remote: [] };
    try {
      return { local, remote: await this.remoteSummaries() };
    } catch (err) {
      const partial = `proxies of other replicas unavailable: ${(err as Error).message}`;
      this.opts.logger.warn({ err: (err as Error).message }, "status: reporting this replica's proxies only");
      return { local, remote: [], partial };
    }
  }

  private async remoteSummaries(): Promise<StatusSummary[]> {
    if (this.remote && Date.now() - this.remote.at < this.remoteCacheMs) return this.remote.summaries;
    this.remoteRead ??= this.opts
      .board!.list()
      .then((all) => {
        const summaries = all.filter((r) => r.replica !== this.replicaId);
        this.remote = { at: Date.now(), summaries };
        return summaries;
      })
      .finally(() => (this.remoteRead = undefined));
    return this.remoteRead;
  }

  /** Stops publishing and removes this replica's summary (lease revoke). */
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
