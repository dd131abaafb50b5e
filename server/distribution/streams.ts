// The config distribution core: per-identity snapshots pushed to filter
// streams whenever the identity's policy set changes.
//
// Each snapshot version is framed once (groups.ts: shared by every group
// whose content it is); a push writes that same Buffer to every stream of
// the group. Fan-outs run in slices of
// FANOUT_SLICE streams, yielding to the event loop between slices, so
// management calls, probes and ACKs are served while a large fan-out runs.
//
// Memory is bounded: a stream whose transport is backed up holds at most one
// unsent snapshot (the newest replaces an older one); a stream that stays
// backed up longer than drainTimeoutMs is closed with RESOURCE_EXHAUSTED (the
// filter reconnects and gets the current snapshot); and while the bytes
// queued on backed-up streams exceed queueBudgetBytes, further writes wait.
import crypto from "node:crypto";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { IdentityOut } from "../../proto/loader.ts";
import type { StoredPolicy } from "../store/types.ts";
import type { Metrics } from "../metrics.ts";
import type { PolicyView, ViewChange } from "./view.ts";
import { identityKey } from "../selector.ts";
import { encodeSnapshotPolicy, snapshotPolicyOf } from "./snapshot.ts";
import { IdentityGroup, SharedRecords, type PolicyEntry, type SnapshotRecord } from "./groups.ts";
import { FaultLedger, StreamFaults } from "../faults/ledger.ts";

export type { SnapshotRecord } from "./groups.ts";
export { IdentityGroup } from "./groups.ts";

/** Streams written per event-loop turn during a fan-out. */
export const FANOUT_SLICE = 64;
/** A backed-up stream that has not drained after this long is closed. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Bytes queued on backed-up streams beyond which writes wait for drains. */
export const DEFAULT_QUEUE_BUDGET_BYTES = 64 * 1024 * 1024;

/** gRPC status codes used when the server ends a stream. */
export const RESOURCE_EXHAUSTED = 8;

/** Where a stream's snapshots go (the HTTP/2 stream, or a fake in unit tests). */
export interface StreamSink {
  /** false: the transport is backed up; further writes wait for "drain". */
  write(frame: Buffer): boolean;
  readonly writableNeedDrain: boolean;
  /** Bytes buffered and not yet handed to the socket. */
  readonly writableLength: number;
  once(event: "drain", fn: () => void): unknown;
  /** Ends the stream with a gRPC status (the filter reconnects). */
  close(code: number, details: string): void;
}

export class ConfigStream {
  sent: SnapshotRecord | undefined;
  acked: SnapshotRecord | undefined;
  /** Wall clock of the last accepted ACK. */
  ackedAtMs = 0;
  nacked: { record: SnapshotRecord | undefined; version: string; nonce: string; error: string } | undefined;
  /** Recent pushes by nonce, to resolve ACK/NACKs. */
  readonly pushes = new Map<string, SnapshotRecord>();
  /** Newest snapshot not written yet because the transport (or the global budget) is backed up. */
  private held: SnapshotRecord | undefined;
  private waitingDrain = false;
  /** Bytes this stream had queued when it backed up (counted against the global budget). */
  queuedBytes = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  closed = false;
  group!: IdentityGroup;
  /** Fault reports of this stream (faults/ledger.ts). */
  readonly faults = new StreamFaults();
  /** Its sort key in status answers (status/tally.ts), set at the first status call. */
  statusKey: string | undefined;
  /** The filter VM has handled an HTTP request (Subscribe.serving or a Serving message); never for Envoy's main-thread VM. */
  serving = false;

  constructor(
    readonly id: number,
    readonly identity: IdentityOut,
    readonly connectedAtUnixMs: number,
    private readonly sink: StreamSink,
    private readonly hub: ConfigStreams,
  ) {}

  get sentNonce(): string {
    return this.sent?.nonce ?? "";
  }

  /** Writes `record` now, or once the transport drains (only the newest is kept). */
  push(record: SnapshotRecord): void {
    if (this.closed) return;
    if (this.sent?.version === record.version) {
      this.held = undefined;
      return;
    }
    if (this.waitingDrain || this.sink.writableNeedDrain || !this.hub.budgetAllows(this)) {
      this.hold(record);
      return;
    }
    this.held = undefined;
    this.writeNow(record);
  }

  private hold(record: SnapshotRecord): void {
    this.held = record;
    if (this.waitingDrain) return;
    if (this.sink.writableNeedDrain) this.awaitDrain();
    else this.hub.waitBudget(this);
  }

  private awaitDrain(): void {
    this.waitingDrain = true;
    this.sink.once("drain", () => this.drained());
    this.stallTimer ??= setTimeout(() => this.hub.stalled(this), this.hub.drainTimeoutMs);
  }

  private drained(): void {
    this.waitingDrain = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.hub.release(this);
    this.flushHeld();
  }

  /** Writes the held snapshot, if any (after a drain or when the budget frees up). */
  flushHeld(): void {
    const r = this.held;
    if (!r || this.closed) return;
    this.held = undefined;
    this.push(r.frame ? r : this.group.current);
  }

  private writeNow(record: SnapshotRecord): void {
    const frame = record.frame ?? this.group.current.frame!;
    if (!record.frame) record = this.group.current;
    this.sent = record;
    this.pushes.set(record.nonce, record);
    if (this.pushes.size > 16) this.pushes.delete(this.pushes.keys().next().value!);
    if (!this.sink.write(frame)) {
      this.hub.queue(this, this.sink.writableLength);
      this.awaitDrain();
    }
    this.hub.onPushed();
    this.hub.emit("sent", this);
  }

  ack(version: string, nonce: string): void {
    const record = this.pushes.get(nonce);
    if (!record || record.version !== version) return; // stale or unknown nonce: ignored, as in xDS
    this.acked = record;
    this.ackedAtMs = Date.now();
    if (this.nacked?.record === record) this.nacked = undefined;
    this.hub.emit("ack", this, record);
  }

  /** The VM reported its first HTTP request. */
  markServing(): void {
    if (this.serving || this.closed) return;
    this.serving = true;
    this.hub.emit("serving", this);
  }

  nack(version: string, nonce: string, error: string): void {
    const record = this.pushes.get(nonce);
    this.nacked = { record, version, nonce, error };
    this.hub.emit("nack", this, error);
  }

  /** Ends the stream (server side); the transport's close then removes it. */
  close(code: number, details: string): void {
    if (this.closed) return;
    this.dispose();
    this.sink.close(code, details);
  }

  dispose(): void {
    this.closed = true;
    this.held = undefined;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}

export interface ConfigStreamsOptions {
  view: PolicyView;
  logger: Logger;
  metrics: Metrics;
  drainTimeoutMs?: number;
  queueBudgetBytes?: number;
  /** Cardinality bound of the fault counts (default DEFAULT_MAX_FAULT_SERIES). */
  maxFaultSeries?: number;
}

/** A fan-out in progress: the streams of one group still to be pushed. */
interface FanOutJob {
  group: IdentityGroup;
  next: Iterator<ConfigStream>;
  origin: number;
}

/** Every open config stream of this process, grouped by identity. */
export class ConfigStreams extends EventEmitter<{
  ack: [ConfigStream, SnapshotRecord];
  nack: [ConfigStream, string];
  push: [IdentityGroup];
  /** Stream lifecycle and each snapshot written (status follows these). */
  added: [ConfigStream];
  sent: [ConfigStream];
  serving: [ConfigStream];
  removed: [ConfigStream];
  /** A fault report was counted. */
  faults: [ConfigStream];
}> {
  readonly groups = new Map<string, IdentityGroup>();
  /** Fault counts the filters of this process reported. */
  readonly faults: FaultLedger;
  private readonly entries = new Map<string, PolicyEntry>();
  private nextId = 1;
  private nonceCounter = 0;
  private readonly noncePrefix = crypto.randomBytes(4).toString("hex");
  /** One frame per snapshot version, shared by the groups that hold it. */
  readonly records = new SharedRecords(() => this.nextNonce());
  /** Local writes in flight: policy name → performance.now() at the write. */
  private readonly writeStarts = new Map<string, number>();
  private readonly onChange = (c: ViewChange) => this.apply(c);
  private readonly onPause = (_s: unknown, receivedAt: number) => this.repause(receivedAt);
  private readonly jobs = new Map<IdentityGroup, FanOutJob>();
  private running = false;
  readonly drainTimeoutMs: number;
  readonly queueBudgetBytes: number;
  /** Bytes queued on backed-up streams (sum of their queuedBytes). */
  queuedBytes = 0;
  private readonly budgetWaiters = new Set<ConfigStream>();
  /** Figures for tests and benchmarks. */
  readonly stats = { stalledClosed: 0, fanOutSlices: 0 };

  constructor(private readonly opts: ConfigStreamsOptions) {
    super();
    this.setMaxListeners(0);
    this.drainTimeoutMs = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.queueBudgetBytes = opts.queueBudgetBytes ?? DEFAULT_QUEUE_BUDGET_BYTES;
    this.faults = new FaultLedger(opts.metrics.faults, opts.maxFaultSeries);
    for (const p of opts.view.policies.values()) this.entry(p);
    opts.view.on("change", this.onChange);
    opts.view.on("pause", this.onPause);
    opts.metrics.streamsByVersion = () => this.countByVersion();
    opts.metrics.streamsByState = () => this.countByState();
  }

  nextNonce(): string {
    return `${this.noncePrefix}-${(++this.nonceCounter).toString(36)}`;
  }

  /** Called by ApplyPolicy/DeletePolicy before the store write, for hfi_apply_to_push_seconds. */
  noteWriteStart(name: string): void {
    this.writeStarts.set(name, performance.now());
  }

  noteWriteFailed(name: string): void {
    this.writeStarts.delete(name);
  }

  onPushed(): void {
    this.opts.metrics.pushes.inc();
  }

  budgetAllows(_s: ConfigStream): boolean {
    return this.queuedBytes <= this.queueBudgetBytes;
  }

  queue(s: ConfigStream, bytes: number): void {
    s.queuedBytes = bytes;
    this.queuedBytes += bytes;
  }

  release(s: ConfigStream): void {
    this.queuedBytes -= s.queuedBytes;
    s.queuedBytes = 0;
    if (this.queuedBytes > this.queueBudgetBytes) return;
    for (const w of this.budgetWaiters) {
      this.budgetWaiters.delete(w);
      w.flushHeld();
      if (this.queuedBytes > this.queueBudgetBytes) break;
    }
  }

  waitBudget(s: ConfigStream): void {
    this.budgetWaiters.add(s);
  }

  /** A stream that did not drain in time: closed, its queue released. */
  stalled(s: ConfigStream): void {
    this.stats.stalledClosed++;
    this.opts.logger.warn({ proxy: s.identity.proxyId, queuedBytes: s.queuedBytes, drainTimeoutMs: this.drainTimeoutMs }, "config stream not reading; closed");
    s.close(RESOURCE_EXHAUSTED, `config stream did not drain within ${this.drainTimeoutMs} ms; reconnect`);
    this.remove(s);
  }

  private entry(stored: StoredPolicy): PolicyEntry {
    const name = stored.policy.metadata!.name;
    const cached = this.entries.get(name);
    if (cached && cached.stored === stored) return cached;
    const e = { stored, bytes: encodeSnapshotPolicy(snapshotPolicyOf(stored.policy)) };
    this.entries.set(name, e);
    return e;
  }

  get streamCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.streams.size;
    return n;
  }

  *streams(): Iterable<ConfigStream> {
    for (const g of this.groups.values()) yield* g.streams;
  }

  /** Registers a subscribed stream and sends it the current snapshot. */
  add(identity: IdentityOut, sink: StreamSink, serving = false): ConfigStream {
    const key = identityKey(identity);
    let group = this.groups.get(key);
    if (!group) {
      group = new IdentityGroup(key, identity, this.records, () => this.opts.view.pause);
      for (const p of this.opts.view.policies.values()) {
        if (group.matches(p.policy)) group.members.set(p.policy.metadata!.name, this.entry(p));
      }
      group.rebuild();
      this.groups.set(key, group);
    }
    const stream = new ConfigStream(this.nextId++, identity, Date.now(), sink, this);
    stream.group = group;
    stream.serving = serving;
    group.streams.add(stream);
    this.emit("added", stream);
    stream.push(group.forNewStream());
    return stream;
  }

  remove(stream: ConfigStream): void {
    const g = stream.group;
    stream.dispose();
    if (stream.queuedBytes) this.release(stream);
    this.budgetWaiters.delete(stream);
    if (!g.streams.delete(stream)) return;
    if (g.streams.size === 0) {
      this.groups.delete(g.key);
      this.jobs.delete(g);
      g.dispose();
    }
    this.emit("removed", stream);
  }

  /** A view change: recompute each group it can affect; fan out where the version moved. */
  private apply(change: ViewChange): void {
    this.records.nextChange();
    let origin = change.receivedAt;
    const touched: string[] = [];
    for (const p of change.put) {
      touched.push(p.policy.metadata!.name);
      this.entry(p);
    }
    for (const d of change.deleted) {
      const name = d.previous.policy.metadata!.name;
      touched.push(name);
      this.entries.delete(name);
    }
    for (const name of touched) {
      const t = this.writeStarts.get(name);
      if (t !== undefined) {
        origin = Math.min(origin, t);
        this.writeStarts.delete(name);
      }
    }
    for (const group of this.groups.values()) {
      let dirty = false;
      for (const d of change.deleted) {
        if (group.members.delete(d.previous.policy.metadata!.name)) dirty = true;
      }
      for (const p of change.put) {
        const name = p.policy.metadata!.name;
        if (group.matches(p.policy)) {
          group.members.set(name, this.entries.get(name)!);
          dirty = true;
        } else if (group.members.delete(name)) dirty = true;
      }
      if (!dirty || !group.rebuild()) continue;
      this.schedule(group, origin);
    }
    if (!this.running && this.jobs.size) this.runSlice();
  }

  /** The pause switch changed: every group whose snapshot it changes is pushed. */
  private repause(origin: number): void {
    this.records.nextChange();
    for (const group of this.groups.values()) if (group.rebuild()) this.schedule(group, origin);
    if (!this.running && this.jobs.size) this.runSlice();
  }

  private schedule(group: IdentityGroup, origin: number): void {
    // A job already running for this group starts over with the new record (streams skip what they hold).
    const prev = this.jobs.get(group);
    this.jobs.delete(group);
    this.jobs.set(group, { group, next: group.streams.values(), origin: prev ? Math.min(prev.origin, origin) : origin });
    this.emit("push", group);
  }

  /** Pushes up to FANOUT_SLICE streams, then yields to the event loop if work remains. */
  private runSlice(): void {
    this.running = true;
    this.stats.fanOutSlices++;
    let n = 0;
    for (const job of this.jobs.values()) {
      for (;;) {
        const r = job.next.next();
        if (r.done) {
          this.jobs.delete(job.group);
          // Once per group and change, not per stream: a histogram observation per write was
          // a tenth of the fan-out's own CPU (profile of bench:propagation at 1k streams).
          this.opts.metrics.applyToPush.observe((performance.now() - job.origin) / 1000);
          break;
        }
        r.value.push(job.group.current);
        if (++n >= FANOUT_SLICE) {
          setImmediate(() => this.runSlice());
          return;
        }
      }
    }
    this.running = false;
  }

  /** True while a fan-out is still being written (tests, benchmarks). */
  get fanningOut(): boolean {
    return this.jobs.size > 0;
  }

  /**
   * Streams by the state of the record last sent ("acked <version>", …). One walk, counted per
   * record object and turned into strings once per record: a string per stream was most of a
   * /metrics scrape's cost at 10k streams (CPU profile of bench:propagation).
   */
  private countByState(): Map<string, number> {
    const per = new Map<SnapshotRecord | undefined, { acked: number; nacked: number; pending: number }>();
    for (const g of this.groups.values()) {
      for (const s of g.streams) {
        const r = s.sent;
        let c = per.get(r);
        if (!c) per.set(r, (c = { acked: 0, nacked: 0, pending: 0 }));
        const v = r?.version ?? "";
        if (s.nacked && s.nacked.version === v) c.nacked++;
        else if (v && s.acked?.version === v) c.acked++;
        else c.pending++;
      }
    }
    const m = new Map<string, number>();
    for (const [r, c] of per) {
      const v = r?.version ?? "";
      for (const state of ["acked", "nacked", "pending"] as const) {
        if (c[state]) m.set(`${state} ${v}`, (m.get(`${state} ${v}`) ?? 0) + c[state]);
      }
    }
    return m;
  }

  private countByVersion(): Map<string, number> {
    const per = new Map<SnapshotRecord | undefined, number>();
    for (const g of this.groups.values()) for (const s of g.streams) per.set(s.sent, (per.get(s.sent) ?? 0) + 1);
    const m = new Map<string, number>();
    for (const [r, n] of per) {
      const v = r?.version ?? "";
      m.set(v, (m.get(v) ?? 0) + n);
    }
    return m;
  }

  close(): void {
    this.opts.view.off("change", this.onChange);
    this.opts.view.off("pause", this.onPause);
    this.jobs.clear();
  }
}
